using BenchmarkDotNet.Attributes;
using Uid2.Core;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Benchmarks;

/// <summary>DII normalization, hashing and raw UID derivation against a production-sized (2^20 bucket) salt set.</summary>
[MemoryDiagnoser]
public class DerivationBenchmarks
{
    private const string Email = " Jane.Saoirse+Newsletter@GMail.com ";
    private const string Phone = "+12345678901";

    private IdentityDeriver _deriver = null!;
    private IdentityInput _input;
    private byte[] _firstLevelHash = null!;
    private byte[] _rawUid = new byte[IdentityHasher.RawUidV3Length];
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        var nowMs = _now.ToUnixTimeMilliseconds();
        // 1,048,576 buckets (the production size, direct indexing); rotate 10% so some buckets have a previous salt.
        var salts = SaltSetFactory.Rotate(SaltSetFactory.CreateRandom(IdentityHasher.MillionBucketCount, nowMs - 1000), 0.1, nowMs);
        _deriver = new IdentityDeriver(salts);
        IdentityInputParser.TryParse(DiiKind.Email, Email, out _input);
        _firstLevelHash = _deriver.FirstLevelHash(_input);
    }

    [Benchmark(Description = "normalize email")]
    public bool NormalizeEmail() => EmailNormalizer.TryNormalize(Email, out _);

    [Benchmark(Description = "normalize + hash email")]
    public bool ParseEmail() => IdentityInputParser.TryParse(DiiKind.Email, Email, out _);

    [Benchmark(Description = "validate + hash phone")]
    public bool ParsePhone() => IdentityInputParser.TryParse(DiiKind.Phone, Phone, out _);

    [Benchmark(Description = "parse base64 email_hash")]
    public bool ParseEmailHash() => IdentityInputParser.TryParse(DiiKind.EmailHash, "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs=", out _);

    [Benchmark(Description = "email -> DerivedIdentity (1M buckets)")]
    public DerivedIdentity EmailToRawUid()
    {
        IdentityInputParser.TryParse(DiiKind.Email, Email, out var input);
        return _deriver.Derive(input, _now);
    }

    [Benchmark(Description = "first-level hash -> raw UID (span, no alloc)")]
    public SaltBucket FirstLevelHashToRawUid() => _deriver.ComputeRawUid(IdentityType.Email, _firstLevelHash, _rawUid);

    [Benchmark(Description = "refresh path: DeriveFromFirstLevelHash")]
    public DerivedIdentity Refresh() => _deriver.DeriveFromFirstLevelHash(IdentityType.Email, _firstLevelHash, _now);
}
