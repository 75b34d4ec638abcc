using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Uid2.Client;
using Uid2.Core;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Benchmarks;

/// <summary>
/// What an SSP/DSP pays per bid request: <see cref="BidstreamClient.Decrypt(string, DateTimeOffset, string?)"/> of a v4
/// token with keys loaded from a /v2/key/bidstream response (all checks: scope, keys, expiry, lifetime).
/// </summary>
[MemoryDiagnoser]
public class ClientDecryptBenchmarks
{
    private BidstreamClient _client = null!;
    private string _token = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        var master = new EncryptionKey(1, ReservedSites.Master, _now.AddDays(-1), _now.AddDays(-1), _now.AddDays(30), RandomNumberGenerator.GetBytes(32));
        var site = new EncryptionKey(2, 999, _now.AddDays(-1), _now.AddDays(-1), _now.AddDays(30), RandomNumberGenerator.GetBytes(32));
        var raw = new byte[33];
        RandomNumberGenerator.Fill(raw.AsSpan(1));
        _token = AdvertisingTokenCodec.EncodeV4(new AdvertisingToken
        {
            Scope = IdentityScope.Uid2, Type = IdentityType.Email, RawUid = raw, SiteId = 999, PrivacyBits = 1,
            Expires = _now.AddHours(4), Created = _now, Established = _now.AddDays(-3), Refreshed = _now,
        }, master, site);

        string KeyJson(EncryptionKey k) =>
            $"{{\"id\":{k.Id},\"created\":{k.Created.ToUnixTimeSeconds()},\"activates\":{k.Activates.ToUnixTimeSeconds()},\"expires\":{k.Expires.ToUnixTimeSeconds()},\"secret\":\"{Convert.ToBase64String(k.Secret)}\"}}";
        var json = $"{{\"status\":\"success\",\"body\":{{\"max_bidstream_lifetime_seconds\":259210,\"identity_scope\":\"UID2\",\"allow_clock_skew_seconds\":1800,\"keys\":[{KeyJson(master)},{KeyJson(site)}],\"site_data\":[]}}}}";
        _client = new BidstreamClient(new Uri("http://127.0.0.1"), "unused", Convert.ToBase64String(new byte[32]));
        if (!_client.RefreshJson(json).Success || !_client.Decrypt(_token, _now).Success)
            throw new InvalidOperationException("Benchmark fixture does not decrypt.");
    }

    [Benchmark(Description = "BidstreamClient.Decrypt v4 (SDK, all checks)")]
    public bool Decrypt() => _client.Decrypt(_token, _now).Success;

    private readonly char[] _uid = new char[BidstreamClient.UidChars];

    [Benchmark(Description = "BidstreamClient.Decrypt v4 into a span (SDK, all checks)")]
    public bool DecryptIntoSpan() => _client.Decrypt(_token.AsSpan(), _now, _uid, out _).Success;
}
