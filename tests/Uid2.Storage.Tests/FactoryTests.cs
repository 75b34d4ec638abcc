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
    [InlineData("Server=db.internal;Port=5433;Database=uid2;Username=u;Password=p")]
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
}
