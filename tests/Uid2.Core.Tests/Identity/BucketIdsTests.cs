using Uid2.Core.Identity;

namespace Uid2.Core.Tests.Identity;

public class BucketIdsTests
{
    [Theory]
    [InlineData(0, "0")]
    [InlineData(7, "7")]
    [InlineData(1048575, "1048575")]
    public void Format_and_parse(int id, string text)
    {
        Assert.Equal(text, BucketIds.Format(id));
        Assert.True(BucketIds.TryParse(text, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData(" 1")]
    [InlineData("b1")]
    [InlineData("99999999999")]
    public void Parse_rejects(string? text) => Assert.False(BucketIds.TryParse(text, out _));
}
