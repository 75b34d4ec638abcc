using Uid2.Client;

namespace Uid2.Operator.Tests;

/// <summary>
/// The README's .NET SDK snippet, line for line (<see cref="ReadmeSnippetTests"/> checks the README block appears here
/// and runs it against a real operator). Edit both together.
/// </summary>
internal static class ReadmeSdkSnippet
{
    /// <summary>What the snippet ended with (null if it returned early).</summary>
    public static (DecryptionResponse Seen, IdentityMapResult Mapped, SharingClient Sharing)? Observed { get; private set; }

    public static async Task RunAsync(Uri baseUrl, string apiKey, string clientSecret)
    {
        Observed = null;
        // ---- README begins
        // baseUrl: the operator, e.g. new Uri("http://localhost:8080"); apiKey and clientSecret: from 'uid2-admin participant create'.
        // Publisher (server side): generate on login, refresh when due, store IdentityTokens.ToJson() with the user.
        var publisher = new PublisherClient(baseUrl, apiKey, clientSecret);
        var generated = await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("jane.doe@example.com"));
        if (generated.IsOptOut) return;                             // the user opted out: no token, store nothing
        var identity = generated.Identity!;
        if (identity.IsDueForRefresh(DateTimeOffset.UtcNow))
            identity = (await publisher.RefreshTokenAsync(identity)).Identity ?? identity; // null: opted out or expired

        // SSP / DSP: fetch keys (retry, keep-last-good), then decrypt tokens from the bidstream.
        var bidder = new BidstreamClient(baseUrl, apiKey, clientSecret);
        await bidder.RefreshAsync();                                // again every few minutes
        var seen = bidder.Decrypt(identity.AdvertisingToken, DateTimeOffset.UtcNow, "publisher.example");
        if (seen.Success) Console.WriteLine($"{seen.Uid} from site {seen.SiteId}"); // else seen.Status says why

        // Sharing between participants, and advertisers' identity map (any batch size, input order kept).
        var sharing = new SharingClient(baseUrl, apiKey, clientSecret);
        var mapper = new IdentityMapClient(baseUrl, apiKey, clientSecret, maxConcurrency: 4);
        var result = await mapper.MapAsync(IdentityMapInput.FromEmails(["jane.doe@example.com", "john.roe@example.com"]));
        // ---- README ends
        Observed = (seen, result, sharing);
    }

    /// <summary>What the client README's snippet decrypted: the UID through the allocating and the span paths.</summary>
    public static List<string> ClientReadmeUids { get; } = [];

    public static async Task ClientReadmeAsync(Uri baseUrl, string apiKey, string clientSecret, string token)
    {
        ClientReadmeUids.Clear();
        string? cookie = null;
        void UseRawUid(ReadOnlySpan<char> uid) => ClientReadmeUids.Add(uid.ToString());
        // ---- client README begins
        // baseUrl: the operator, e.g. new Uri("https://prod.uidapi.com")
        var publisher = new PublisherClient(baseUrl, apiKey, clientSecret);
        var generated = await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("user@example.com"));
        if (generated.IsSuccess) cookie = generated.Identity!.ToJson();   // later: IdentityTokens.FromJson(cookie)

        var bidstream = new BidstreamClient(baseUrl, apiKey, clientSecret);
        await bidstream.RefreshAsync();                                    // then e.g. hourly; failures keep the last good keys
        var res = bidstream.Decrypt(token, DateTimeOffset.UtcNow, "publisher.example");
        if (res.Success) UseRawUid(res.Uid);

        // Allocation-free: the UID's base64 goes into your buffer (at least BidstreamClient.UidChars = 44 chars).
        Span<char> uid = stackalloc char[BidstreamClient.UidChars];
        var fast = bidstream.Decrypt(token.AsSpan(), DateTimeOffset.UtcNow, uid, out var length, "publisher.example");
        if (fast.Success) UseRawUid(uid[..length]);
        // ---- client README ends
        Assert.NotNull(cookie);
    }
}
