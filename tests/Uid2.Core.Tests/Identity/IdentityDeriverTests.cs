using System.Security.Cryptography;
using System.Text;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Identity;

public class IdentityDeriverTests
{
    private const long Day = 24L * 60 * 60 * 1000;

    private static byte[] Sha(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes);

    /// <summary>
    /// uid2-operator src/main/resources/com.uid2.core/test/salts: metadata.json first_level salt and the two buckets of
    /// salts.txt.1670796729291 that carry plain salts (rows 1000000, 1000001 → positions 0, 1). Positions 2–4 are v4-only
    /// (key material, no plain salt) in the reference and get placeholder salts here.
    /// </summary>
    private static SaltSet OperatorTestSalts() => new(
        "fOGY/aRE44peL23i+cE9MkJrzmEeNZZziNZBfq7qqk8=",
        [
            new SaltBucket(0, 1806364800001, "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnss=", 1814140800000, "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnsS="),
            new SaltBucket(1, 1786924800001, "vgv1BwiNRCW7F3VcNXHlZh+7oHJ4G4gCshbGcVOLnst=", 1812844800000, null),
            new SaltBucket(2, 1798588800001, "placeholder-2", 1806364800000, null),
            new SaltBucket(3, 1795996800001, "placeholder-3", 1803772800000, null),
            new SaltBucket(4, 1811548800001, "placeholder-4", 1819324800000, null),
        ]);

    // Expected values were computed independently (Python hashlib/base64) from the §4.2 formulas.
    [Theory]
    [InlineData("test@example.com", DiiKind.Email, "RNzyiMMy106hy8MpBOsHBe+ZZkQR8IbUAG/IC2OrNr4=", 0,
        "yCevINTMQ+BMfihNbXjrDLbm/FF+JvBan5YqmToByik=", "FMANUZGpDBWBumQek13r1nlngsF6+d1HDbagl9TLn50=")]
    [InlineData("refresh-optout@example.com", DiiKind.Email, "saj6KH/ViwIkcrf5d+0h56tFNMTpLjadY0Usdsbo2Uk=", 0,
        "Ufp4cGiB7Xm57oGHzvCbp7OEB621dDGFUB+CBhpNU5g=", "Nb8Zl+oFsM8VLlmrOvgVrlgv43Yd8zprhJETQl3wZjI=")]
    [InlineData("optout@example.com", DiiKind.Email, "5ihBI2GMPQ3CugqR0ezR6/WCMmZjXYNAQ0hC2jQ3smM=", 1,
        "oZNV3Tlviq0HxoHvbClj4b+vNbiDJOR250MwY99X1NM=", null)]
    [InlineData("+00000000000", DiiKind.Phone, "4agDG1vgDdl+u0cmdQwu0glN/JjHuoRm7KnST+qSM/s=", 1,
        "9NZ0tSLT08JYnA+XpOu+2mcMIpLlhwoj7Ywiz71utKQ=", null)]
    public void End_to_end_with_operator_test_salts(string dii, DiiKind kind, string expectedFlh, int expectedBucket,
        string expectedRawV2, string? expectedPreviousRawV2)
    {
        var deriver = new IdentityDeriver(OperatorTestSalts());
        var salts = deriver.Salts;
        Assert.True(IdentityInputParser.TryParse(kind, dii, out var input));
        // A day after the bucket's rotation, so the previous salt (if any) is still used.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(salts.Buckets[expectedBucket].LastUpdatedMs + Day);

        Assert.Equal(expectedFlh, B64(deriver.FirstLevelHash(input)));
        var derived = deriver.Derive(input, now);
        Assert.Equal(expectedFlh, B64(derived.FirstLevelHash));
        Assert.Equal(expectedBucket, derived.Bucket.Id);
        Assert.Equal(expectedBucket.ToString(), derived.BucketId);
        Assert.Equal(IdentityScope.Uid2, derived.Scope);
        Assert.Equal(input.Type, derived.Type);

        var prefix = kind == DiiKind.Phone ? (byte)0x04 : (byte)0x00;
        Assert.Equal(33, derived.RawUid.Length);
        Assert.Equal(prefix, derived.RawUid[0]);
        Assert.Equal(expectedRawV2, B64(derived.RawUidV2.ToArray()));

        if (expectedPreviousRawV2 is null)
        {
            Assert.Null(derived.PreviousRawUid);
        }
        else
        {
            Assert.NotNull(derived.PreviousRawUid);
            Assert.Equal(prefix, derived.PreviousRawUid![0]);
            Assert.Equal(expectedPreviousRawV2, B64(derived.PreviousRawUid[1..]));
        }

        // Same result from the first-level hash (refresh path) and from the hash input.
        var again = deriver.DeriveFromFirstLevelHash(input.Type, derived.FirstLevelHash, now);
        Assert.Equal(derived.RawUid, again.RawUid);
        Assert.True(IdentityInputParser.TryParse(kind == DiiKind.Phone ? DiiKind.PhoneHash : DiiKind.EmailHash,
            input.DiiHashBase64, out var hashed));
        Assert.Equal(derived.RawUid, deriver.Derive(hashed, now).RawUid);
    }

    [Fact]
    public void Raw_uid_matches_independent_string_computation_for_random_salts()
    {
        var salts = SaltSetFactory.CreateRandom(37, 1_700_000_000_000);
        var deriver = new IdentityDeriver(salts, IdentityScope.Euid);
        var input = IdentityInputParser.FromNormalized(IdentityType.Phone, "+12345678901");
        var derived = deriver.Derive(input, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));

        var flh = Sha(B64(input.DiiHash) + salts.FirstLevelSalt);
        Assert.Equal(flh, derived.FirstLevelHash);
        var index = (((flh[0] << 12) | (flh[1] << 4) | (flh[2] & 0xF))) % 37;
        Assert.Same(salts.Buckets[index], derived.Bucket);
        var expected = new byte[] { 0x14 }.Concat(Sha(B64(flh) + salts.Buckets[index].CurrentSalt)).ToArray();
        Assert.Equal(expected, derived.RawUid);
        Assert.StartsWith("F", B64(derived.RawUid));
        Assert.Null(derived.PreviousRawUid); // fresh salt set: no previous salts

        Span<byte> raw = stackalloc byte[33];
        var bucket = deriver.ComputeRawUid(IdentityType.Phone, flh, raw);
        Assert.Same(derived.Bucket, bucket);
        Assert.True(raw.SequenceEqual(expected));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(89 * Day, true)]
    [InlineData(90 * Day - 1, true)]
    [InlineData(90 * Day, false)]
    [InlineData(90 * Day + 1, false)]
    [InlineData(400 * Day, false)]
    [InlineData(-5 * Day, true)] // clock behind lastUpdated: the reference's truncating division still yields < 90
    public void Previous_raw_uid_follows_the_90_day_rule(long age, bool expectPrevious)
    {
        const long lastUpdated = 1_750_000_000_000;
        var salts = new SaltSet("fl", [new SaltBucket(0, lastUpdated, "current", lastUpdated + 30 * Day, "previous")]);
        var deriver = new IdentityDeriver(salts);
        var input = IdentityInputParser.FromNormalized(IdentityType.Email, "validate@example.com");
        var derived = deriver.Derive(input, DateTimeOffset.FromUnixTimeMilliseconds(lastUpdated + age));

        Assert.Equal(expectPrevious, derived.PreviousRawUid is not null);
        Assert.Equal(expectPrevious, IdentityDeriver.HasUsablePreviousSalt(salts.Buckets[0], lastUpdated + age));
        if (expectPrevious)
        {
            var flh = Sha(B64(input.DiiHash) + "fl");
            var expected = new byte[] { 0x00 }.Concat(Sha(B64(flh) + "previous")).ToArray();
            Assert.Equal(expected, derived.PreviousRawUid);
            Assert.NotEqual(derived.RawUid, derived.PreviousRawUid);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_previous_raw_uid_without_previous_salt(string? previous)
    {
        var salts = new SaltSet("fl", [new SaltBucket(0, 1000, "current", 2000, previous)]);
        var derived = new IdentityDeriver(salts).Derive(
            IdentityInputParser.FromNormalized(IdentityType.Email, "a@b.com"), DateTimeOffset.FromUnixTimeMilliseconds(1001));
        Assert.Null(derived.PreviousRawUid);
    }

    [Fact]
    public void Operator_verticle_test_constants()
    {
        // UIDOperatorVerticleTest: firstLevelSalt "first-level-salt", rotatingSalt123 = (current "salt123", previous "prevSalt123").
        var salts = new SaltSet("first-level-salt", [new SaltBucket(0, 0, "salt123", 1000, "prevSalt123")]);
        var deriver = new IdentityDeriver(salts);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(Day); // lastUpdated 0 → previous still valid

        var email = deriver.Derive(IdentityInputParser.FromNormalized(IdentityType.Email, "validate@example.com"), now);
        Assert.Equal("AP8Q/64TTjhKbtebJovAdiEVVDMFKpWIr0/g+zGcpeXc", B64(email.RawUid));
        Assert.Equal("AFsMhpLHur4uLGhTrMBzKNPan6noZuzSB9QRY5ppSO+i", B64(email.PreviousRawUid!));

        var phone = deriver.Derive(IdentityInputParser.FromNormalized(IdentityType.Phone, "+12345678901"), now);
        Assert.Equal("R3Vv7KFTpvWW5S15ewhw2v1fuC/MYLIEup59XCG8Wvw=", B64(phone.FirstLevelHash));
        Assert.Equal("BF/i/tvLnuVLpGi9sg22IA9C1Daa0EiQ9inh7lJj1gu4", B64(phone.RawUid));
        Assert.Equal("BOXZRHF0YUx/Fo7AFAfzrV8svCY1FhdVe43e+FXAFcz0", B64(phone.PreviousRawUid!));
    }

    [Fact]
    public void Refresh_from_is_bucket_value_or_next_utc_midnight()
    {
        var bucket = new SaltBucket(0, 0, "s", 10 * Day + 5, null);
        Assert.Equal(10 * Day + 5, IdentityDeriver.RefreshFromMs(bucket, 10 * Day));
        Assert.Equal(10 * Day + 5, IdentityDeriver.RefreshFromMs(bucket, 10 * Day + 5));
        Assert.Equal(11 * Day, IdentityDeriver.RefreshFromMs(bucket, 10 * Day + 6));
        Assert.Equal(12 * Day, IdentityDeriver.RefreshFromMs(bucket, 11 * Day));

        var derived = new IdentityDeriver(new SaltSet("fl", [bucket]))
            .Derive(IdentityInputParser.FromNormalized(IdentityType.Email, "a@b.com"), DateTimeOffset.FromUnixTimeMilliseconds(0));
        Assert.Equal(10 * Day + 5, derived.GetRefreshFromMs(DateTimeOffset.FromUnixTimeMilliseconds(0)));
    }
}
