using System.Security.Cryptography;
using System.Text;
using Uid2.Core.Identity;

namespace Uid2.Core.Tests.Identity;

public class IdentityHasherTests
{
    private static byte[] Sha(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes);

    [Fact]
    public void HashDii_is_sha256_of_utf8()
    {
        Span<byte> dest = stackalloc byte[32];
        IdentityHasher.HashDii("user@example.com", dest);
        Assert.Equal("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", Convert.ToBase64String(dest));
        Assert.Equal(Sha("é@x.com"), IdentityHasher.HashDii("é@x.com"));
        Assert.Equal("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", IdentityHasher.ToBase64(dest));
    }

    [Fact]
    public void First_level_hash_and_raw_uids_match_an_independent_string_computation()
    {
        const string firstLevelSalt = "first-level-salt";
        const string bucketSalt = "salt123";
        var diiHash = Sha("validate@example.com");

        var expectedFlh = Sha(B64(diiHash) + firstLevelSalt);
        Span<byte> flh = stackalloc byte[32];
        IdentityHasher.FirstLevelHash(diiHash, firstLevelSalt, flh);
        Assert.Equal(expectedFlh, flh.ToArray());

        var expectedV2 = Sha(B64(expectedFlh) + bucketSalt);
        Span<byte> v2 = stackalloc byte[32];
        IdentityHasher.RawUidV2(flh, bucketSalt, v2);
        Assert.Equal(expectedV2, v2.ToArray());

        Span<byte> v3 = stackalloc byte[33];
        IdentityHasher.RawUidV3(IdentityScope.Uid2, IdentityType.Email, flh, bucketSalt, v3);
        Assert.Equal(0x00, v3[0]);
        Assert.Equal(expectedV2, v3[1..].ToArray());

        // Literal values computed independently (Python hashlib) for the same inputs.
        Assert.Equal("KC8SIUxBIAx10UmuPP+WIGWK28iawjOgvQNu+BfR8cU=", Convert.ToBase64String(flh));
        Assert.Equal("/xD/rhNOOEpu15smi8B2IRVUMwUqlYivT+D7MZyl5dw=", Convert.ToBase64String(v2));
        Assert.Equal("AP8Q/64TTjhKbtebJovAdiEVVDMFKpWIr0/g+zGcpeXc", Convert.ToBase64String(v3));
    }

    [Fact]
    public void The_reused_per_thread_hash_matches_one_shot_sha256_from_many_threads()
    {
        // IdentityHasher reuses one SHA-256 context per thread: interleaved calls on many threads, of all lengths across
        // the block boundaries, must each give exactly the one-shot digest (no state left between calls).
        Parallel.For(0, 2_000, i =>
        {
            var text = new string((char)('a' + i % 26), i % 300) + "@example.com";
            Span<byte> dest = stackalloc byte[32];
            IdentityHasher.HashDii(text, dest);
            Assert.Equal(Sha(text), dest.ToArray());
            var salt = new string('s', i % 130);
            IdentityHasher.FirstLevelHash(dest.ToArray(), salt, dest);
            Assert.Equal(Sha(B64(Sha(text)) + salt), dest.ToArray());
        });
    }

    [Fact]
    public void Long_salts_are_hashed_correctly()
    {
        var salt = new string('s', 4000) + "é";
        var diiHash = Sha("x");
        Span<byte> flh = stackalloc byte[32];
        IdentityHasher.FirstLevelHash(diiHash, salt, flh);
        Assert.Equal(Sha(B64(diiHash) + salt), flh.ToArray());
    }

    [Theory]
    [InlineData(IdentityScope.Uid2, IdentityType.Email, 0x00, 'A')]
    [InlineData(IdentityScope.Uid2, IdentityType.Phone, 0x04, 'B')]
    [InlineData(IdentityScope.Euid, IdentityType.Email, 0x10, 'E')]
    [InlineData(IdentityScope.Euid, IdentityType.Phone, 0x14, 'F')]
    public void Raw_uid_v3_prefix(IdentityScope scope, IdentityType type, byte prefix, char firstBase64Char)
    {
        var flh = Sha("anything");
        Span<byte> raw = stackalloc byte[33];
        Span<byte> v2 = stackalloc byte[32];
        IdentityHasher.RawUidV3(scope, type, flh, "salt", raw);
        IdentityHasher.RawUidV2(flh, "salt", v2);
        Assert.Equal(prefix, raw[0]);
        Assert.True(raw[1..].SequenceEqual(v2));
        var text = Convert.ToBase64String(raw);
        Assert.Equal(44, text.Length);
        Assert.Equal(firstBase64Char, text[0]);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x34, 0x56 }, 1 << 20, 0x12346)]
    [InlineData(new byte[] { 0x12, 0x34, 0x56 }, 5, 0x12346 % 5)]
    [InlineData(new byte[] { 0x12, 0x34, 0x56 }, 1000, 566)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xAA }, 1 << 20, 0xFFFFF)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xF0 }, 1 << 20, 0xFFFF0)]
    [InlineData(new byte[] { 0x00, 0x00, 0x0F }, 1 << 20, 15)]
    [InlineData(new byte[] { 0x00, 0x01, 0x00 }, 1 << 20, 16)]
    [InlineData(new byte[] { 0x01, 0x00, 0x00 }, 1 << 20, 4096)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF }, 1, 0)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF }, 1 << 21, 0xFFFFF)]
    [InlineData(new byte[] { 0xAB, 0xCD, 0xEF }, 1_000_000, 0xABCDF % 1_000_000)]
    public void Bucket_index(byte[] flh, int count, int expected)
        => Assert.Equal(expected, IdentityHasher.BucketIndex(flh, count));

    [Fact]
    public void Bucket_index_known_first_level_hash()
    {
        // FLH of test@example.com with the operator test first-level salt (see IdentityDeriverTests).
        var flh = Convert.FromBase64String("RNzyiMMy106hy8MpBOsHBe+ZZkQR8IbUAG/IC2OrNr4=");
        Assert.Equal(282050, IdentityHasher.BucketIndex(flh, 1 << 20));
        Assert.Equal(0, IdentityHasher.BucketIndex(flh, 5));
    }
}
