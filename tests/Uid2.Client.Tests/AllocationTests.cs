using Uid2.Core.Tokens;
using Xunit.Abstractions;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class AllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void Failure_paths_do_not_allocate_and_success_allocates_only_the_uid_string()
    {
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret);
        Assert.True(client.RefreshJson(DefaultBidstreamKeys()).Success);
        var now = DateTimeOffset.UtcNow;
        var token = Token(TokenVersion.V4, generated: now);
        const string foreignScope = "E4AAAAAAAA";

        for (var i = 0; i < 100; i++) { client.Decrypt(token, now); client.Decrypt(foreignScope, now); }

        const int n = 1000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++) Assert.True(client.Decrypt(token, now).Success);
        var perSuccess = (GC.GetAllocatedBytesForCurrentThread() - before) / n;

        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++) client.Decrypt(foreignScope, now);
        var perFailure = (GC.GetAllocatedBytesForCurrentThread() - before) / n;

        output.WriteLine($"bytes allocated per successful v4 decrypt: {perSuccess}; per early failure: {perFailure}");
        Assert.Equal(0, perFailure);
        // The only allocation left on success is the 44-char base64 Uid string the API returns (112 bytes).
        Assert.True(perSuccess <= 112, $"{perSuccess} bytes per decrypt");
    }
}
