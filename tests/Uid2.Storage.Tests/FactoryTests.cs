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

    [Fact]
    public void Postgres_is_not_supported_yet()
    {
        var ex = Assert.Throws<NotSupportedException>(() => Uid2StoreFactory.Create("Host=localhost;Database=uid2;Username=u"));
        Assert.Contains("Data Source=", ex.Message);
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
    }
}
