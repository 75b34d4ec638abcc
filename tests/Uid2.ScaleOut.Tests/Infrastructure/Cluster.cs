using System.Diagnostics;
using System.Text.Json;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.ScaleOut.Infrastructure;

/// <summary>Where the PostgreSQL server for these tests comes from, with the same convention as the other test projects.</summary>
public static class PostgresServer
{
    public const string Variable = "UID2_TEST_POSTGRES";
    public const string SkipVariable = "UID2_SKIP_POSTGRES";

    /// <summary>The server connection string; skips the test if unset and UID2_SKIP_POSTGRES=1, else fails clearly.</summary>
    public static string Require()
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrEmpty(server) && Environment.GetEnvironmentVariable(SkipVariable) == "1",
            $"{SkipVariable}=1 and {Variable} is not set");
        if (string.IsNullOrEmpty(server))
            throw new InvalidOperationException(
                $"The scale-out tests need a PostgreSQL server: run scripts/test.sh, or set {Variable} (e.g. after " +
                $"eval \"$(bash scripts/start-test-postgres.sh)\"; export {Variable}), or set {SkipVariable}=1 to skip them.");
        return server;
    }
}

/// <summary>Protocol helpers on top of <see cref="OperatorProcess"/> that the tests share.</summary>
public static class Protocol
{
    /// <summary>The keys a bidder gets from /v2/key/bidstream, as a key ring for <see cref="AdvertisingTokenCodec.TryDecode"/>.</summary>
    public static async Task<KeyRing> BidstreamKeysAsync(OperatorProcess op, Credentials reader)
    {
        var (status, json) = await op.PostV2Async("/v2/key/bidstream", reader, null);
        if (status != 200) throw new InvalidOperationException($"{op.Name} /v2/key/bidstream: {status} {json}");
        return new KeyRing(json.GetProperty("body").GetProperty("keys").EnumerateArray().Select(k => new EncryptionKey(
            k.GetProperty("id").GetInt32(), 0,
            DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("created").GetInt64()),
            DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("activates").GetInt64()),
            DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("expires").GetInt64()),
            Convert.FromBase64String(k.GetProperty("secret").GetString()!))));
    }

    public static AdvertisingToken Decode(string advertisingToken, KeyRing keys)
    {
        var status = AdvertisingTokenCodec.TryDecode(advertisingToken, keys, out var token);
        if (status != TokenDecodeStatus.Success) throw new InvalidOperationException($"advertising token does not decode: {status}");
        return token!;
    }

    /// <summary>Waits until every operator accepts the participant's API key (they learn about it through the store).</summary>
    public static async Task WaitKnownAsync(IEnumerable<OperatorProcess> ops, Credentials who, string path, object? payload, TimeSpan timeout)
    {
        foreach (var op in ops)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                var (status, json) = await op.PostV2Async(path, who, payload);
                if (status == 200) break;
                if (sw.Elapsed > timeout) throw new TimeoutException($"{op.Name} still answers {status} {json} for site {who.SiteId} on {path}");
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds; returns how long it took, or throws after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, int pollMs = 20)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return sw.Elapsed;
            if (sw.Elapsed > timeout) throw new TimeoutException($"not within {timeout.TotalSeconds:F1} s: {what}");
            await Task.Delay(pollMs);
        }
    }

    public static string Status(JsonElement json) => json.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
}
