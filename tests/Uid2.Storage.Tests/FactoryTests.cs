namespace Uid2.Storage.Tests;

public sealed class FactoryTests
{
    [Theory]
    [InlineData("Data Source=data/x.db")]
    [InlineData("DataSource=data/x.db")]
    [InlineData("Filename=data/x.db")]
    [InlineData("data source = data/x.db; Cache=Shared")]
    public async Task Sqlite_connection_strings_give_a_sqlite_store_relative_to_the_current_directory(string cs)
    {
        await using var store = Uid2StoreFactory.Create(cs);
        var sqlite = Assert.IsType<SqliteUid2Store>(store);
        Assert.Equal(Path.GetFullPath("data/x.db"), sqlite.DatabasePath);
    }

    [Fact]
    public void Default_connection_string_is_sqlite_under_data()
    {
        Assert.Equal("Data Source=data/uid2.db", Uid2StoreFactory.DefaultConnectionString);
    }

    [Theory]
    [InlineData("Host=localhost;Database=uid2;Username=u")]
    [InlineData("host = localhost ; database = uid2")]
    public async Task Postgres_connection_strings_give_a_postgres_store_without_connecting(string cs)
    {
        await using var store = Uid2StoreFactory.Create(cs);
        Assert.IsType<PostgresUid2Store>(store);
        Assert.IsAssignableFrom<IStoreChangeNotifier>(store);
        Assert.IsAssignableFrom<IStoreLeaderLock>(store);
    }

    [Fact]
    public void A_malformed_postgres_connection_string_is_rejected_clearly()
    {
        var ex = Assert.Throws<ArgumentException>(() => Uid2StoreFactory.Create("Host=localhost;Port=notanumber"));
        Assert.Contains("PostgreSQL", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("just some text")]
    [InlineData("Foo=bar")]
    public void Anything_else_is_rejected_clearly(string cs)
    {
        var ex = Assert.Throws<ArgumentException>(() => Uid2StoreFactory.Create(cs));
        Assert.Contains("Data Source", ex.Message);
        if (cs.Contains('=')) Assert.Contains("Host=", ex.Message);
    }

    [Theory]
    [InlineData("Server=db.internal;Port=5433;Database=uid2;Username=u;Password=p")]  // Npgsql accepts Server, so do MySQL and SQL Server
    [InlineData("Server=db.internal;Uid=u;Pwd=p;Database=uid2")]                      // a MySQL string
    public void An_ambiguous_connection_string_needs_the_provider_named(string cs)
    {
        var ex = Assert.Throws<ArgumentException>(() => Uid2StoreFactory.Create(cs));
        Assert.Contains(Uid2StoreFactory.ProviderSetting, ex.Message);
    }

    [Fact]
    public async Task An_explicit_provider_decides()
    {
        await using (var pg = Uid2StoreFactory.Create("Server=db.internal;Port=5433;Database=uid2;Username=u;Password=p", null, "postgres"))
            Assert.IsType<PostgresUid2Store>(pg);
        await using (var lite = Uid2StoreFactory.Create("Data Source=data/x.db", null, "SQLite"))
            Assert.IsType<SqliteUid2Store>(lite);
        // A MySQL string named as PostgreSQL is refused by Npgsql's own parser, not opened.
        Assert.ThrowsAny<ArgumentException>(() => Uid2StoreFactory.Create("Server=db;Uid=u;Pwd=p;SslMode=Preferred;AllowPublicKeyRetrieval=true", null, "postgres"));
        var unknown = Assert.Throws<ArgumentException>(() => Uid2StoreFactory.Create("Host=db", null, "mysql"));
        Assert.Contains("sqlite or postgres", unknown.Message);
    }
}
