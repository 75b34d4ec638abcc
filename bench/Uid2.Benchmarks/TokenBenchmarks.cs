using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Uid2.Core;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Benchmarks;

/// <summary>
/// Advertising token (v4), refresh token (v3) and 388-char refresh wrapper encode/decode, with a KeyRing holding
/// one master key, one site key and one refresh key — the operator's and the SDKs' hot paths.
/// </summary>
[MemoryDiagnoser]
public class TokenBenchmarks
{
    private const int MasterKeyId = 1;
    private const int SiteKeyId = 2;
    private const int RefreshKeyId = 3;
    private const int SiteId = 999;

    private KeyRing _keys = null!;
    private EncryptionKey _master = null!;
    private EncryptionKey _site = null!;
    private EncryptionKey _refresh = null!;
    private AdvertisingToken _adToken = null!;
    private RefreshToken _refreshToken = null!;
    private string _v4 = null!;
    private string _v3Refresh = null!;
    private string _wrapped = null!;
    private byte[] _responseKey = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        EncryptionKey Key(int id, int site) =>
            new(id, site, now.AddDays(-1), now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(32));
        _master = Key(MasterKeyId, ReservedSites.Master);
        _site = Key(SiteKeyId, SiteId);
        _refresh = Key(RefreshKeyId, ReservedSites.Refresh);
        _keys = new KeyRing([_master, _site, _refresh]);

        // 33-byte v3/v4 raw UID: identity prefix byte + 32-byte hash.
        var rawUid = new byte[33];
        RandomNumberGenerator.Fill(rawUid.AsSpan(1));
        rawUid[0] = IdentityByte.ForRawUid(IdentityScope.Uid2, IdentityType.Email);

        _adToken = new AdvertisingToken
        {
            Version = TokenVersion.V4,
            Scope = IdentityScope.Uid2,
            Type = IdentityType.Email,
            RawUid = rawUid,
            SiteId = SiteId,
            PublisherId = 0,
            ClientKeyId = 0,
            PrivacyBits = 1,
            Expires = now.AddHours(4),
            Created = now,
            Established = now.AddDays(-10),
            Refreshed = now,
        };
        _refreshToken = new RefreshToken
        {
            Scope = IdentityScope.Uid2,
            Type = IdentityType.Email,
            FirstLevelHash = RandomNumberGenerator.GetBytes(32),
            SiteId = SiteId,
            PrivacyBits = 1,
            Created = now,
            Expires = now.AddDays(30),
            Established = now.AddDays(-10),
        };

        _v4 = AdvertisingTokenCodec.EncodeV4(_adToken, _master, _site);
        _v3Refresh = RefreshTokenCodec.EncodeV3(_refreshToken, _refresh);
        _responseKey = RandomNumberGenerator.GetBytes(RefreshTokenWrapper.ResponseKeyLength);
        _wrapped = RefreshTokenWrapper.Wrap(_v3Refresh, _responseKey, _refresh, IdentityScope.Uid2);

        // Fail fast if a fixture does not round-trip (a benchmark of a failure path would be meaningless).
        if (AdvertisingTokenCodec.TryDecode(_v4, _keys, out _) != TokenDecodeStatus.Success
            || RefreshTokenCodec.TryDecode(_v3Refresh, _keys, out _) != TokenDecodeStatus.Success
            || !RefreshTokenWrapper.TryUnwrap(_wrapped, _keys, out _, out _))
            throw new InvalidOperationException("Benchmark fixtures do not round-trip.");
    }

    [Benchmark(Description = "v4 advertising token encode")]
    public string EncodeV4() => AdvertisingTokenCodec.EncodeV4(_adToken, _master, _site);

    [Benchmark(Description = "v4 advertising token decode")]
    public TokenDecodeStatus DecodeV4() => AdvertisingTokenCodec.TryDecode(_v4, _keys, out _);

    [Benchmark(Description = "v4 advertising token decode into fields (no allocation)")]
    public TokenDecodeStatus DecodeV4Fields() => AdvertisingTokenCodec.TryDecodeFields(_v4, _keys, out _);

    [Benchmark(Description = "v3 refresh token encode")]
    public string EncodeRefreshV3() => RefreshTokenCodec.EncodeV3(_refreshToken, _refresh);

    [Benchmark(Description = "v3 refresh token decode")]
    public TokenDecodeStatus DecodeRefreshV3() => RefreshTokenCodec.TryDecode(_v3Refresh, _keys, out _);

    [Benchmark(Description = "refresh wrapper wrap (388 chars)")]
    public string Wrap() => RefreshTokenWrapper.Wrap(_v3Refresh, _responseKey, _refresh, IdentityScope.Uid2);

    [Benchmark(Description = "refresh wrapper unwrap (388 chars)")]
    public bool Unwrap() => RefreshTokenWrapper.TryUnwrap(_wrapped, _keys, out _, out _);
}

/// <summary>
/// Diagnostic baselines (not codec benchmarks): what one AES-256-GCM operation on a token-sized payload costs in the
/// BCL, with a fresh <see cref="AesGcm"/> per call (what the codec does today) and with a reused instance.
/// Used to attribute the v4 decode time and allocations.
/// </summary>
[MemoryDiagnoser]
public class AesGcmBaselineBenchmarks
{
    private byte[] _key = null!;
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _plain = new byte[69];     // v4 site layer: 36 fixed + 33-byte raw UID
    private readonly byte[] _cipher = new byte[69];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _out = new byte[69];
    private AesGcm _cached = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = RandomNumberGenerator.GetBytes(32);
        RandomNumberGenerator.Fill(_nonce);
        RandomNumberGenerator.Fill(_plain);
        _cached = new AesGcm(_key, 16);
        _cached.Encrypt(_nonce, _plain, _cipher, _tag);
    }

    [GlobalCleanup]
    public void Cleanup() => _cached.Dispose();

    [Benchmark(Description = "new AesGcm + Dispose (no crypto)")]
    public void CreateDispose()
    {
        using var gcm = new AesGcm(_key, 16);
    }

    [Benchmark(Description = "GCM decrypt 69 B, new AesGcm per call")]
    public void DecryptFresh()
    {
        using var gcm = new AesGcm(_key, 16);
        gcm.Decrypt(_nonce, _cipher, _tag, _out);
    }

    [Benchmark(Description = "GCM decrypt 69 B, reused AesGcm")]
    public void DecryptCached() => _cached.Decrypt(_nonce, _cipher, _tag, _out);
}
