using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Core.Tests.Tokens;

/// <summary>Fixed keys, times and vectors. Key material and vectors from IABTechLab/uid2-client-net test/UID2.Client.Test/TestData.cs
/// and EncryptionTestsV4.cs (crossPlatformConsistencyCheck_Decrypt).</summary>
internal static class TokenTestData
{
    public const int MasterKeyId = 164;
    public const int SiteKeyId = 165;
    public const int SiteId = 9000;
    public const int RefreshKeyId = 166;

    public static readonly byte[] MasterSecret =
    [
        139, 37, 241, 173, 18, 92, 36, 232, 165, 168, 23, 18, 38, 195, 123, 92, 160, 136, 185, 40, 91, 173, 165,
        221, 168, 16, 169, 164, 38, 139, 8, 155,
    ];

    public static readonly byte[] SiteSecret =
    [
        32, 251, 7, 194, 132, 154, 250, 86, 202, 116, 104, 29, 131, 192, 139, 215, 48, 164, 11, 65, 226, 110, 167,
        14, 108, 51, 254, 125, 65, 24, 23, 133,
    ];

    public static readonly byte[] RefreshSecret = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 3)).ToArray();

    public const string ExampleEmailRawUid2V2 = "ywsvDNINiZOVSsfkHpLpSJzXzhr6Jx9Z/4Q0+lsEUvM=";
    public const string ExamplePhoneRawUid2V3 = "BFOsW2SkK0egqbfyiALtpti5G/cG+PcEvjkoHl56rEV8";

    /// <summary>Sunday, 1 January 2023 1:01:01 AM UTC (the reference timestamp of the cross-platform vector).</summary>
    public static readonly DateTimeOffset Reference = DateTimeOffset.FromUnixTimeMilliseconds(1672534861000L);

    /// <summary>A v4 token produced by another SDK; decrypts with master 164 / site 165 to <see cref="ExampleEmailRawUid2V2"/>.</summary>
    public const string CrossPlatformV4Token =
        "AIAAAACkOqJj9VoxXJNnuX3v-ymceRf8_Av0vA5asOj9YBZJc1kV1vHdmb0AIjlzWnFF-gxIlgXqhRFhPo3iXpugPBl3gv4GKnGkw-Zgm2QqMsDPPLpMCYiWrIUqHPm8hQiq9PuTU-Ba9xecRsSIAN0WCwKLwA_EDVdzmnLJu64dQoeYmuu3u1G2EuTkuMrevmP98tJqSUePKwnfK73-0Zdshw";

    /// <summary>A real operator v4 token (163 bytes, 32-byte raw UID, master key 5697) from uid2-operator V2RequestUtilTest; keys unknown.</summary>
    public const string OperatorV4Token =
        "A4AAABZBgXozOcvdoBLWXaJSltTRG27n1kFegS9IKt-wN8bUPIPKiUXu9gxOzB0CvYprD8-tJNJjYNUy_HegQ1DdWkHwTm9vz9C2PUPtWzZenVy3g5L3hrbD_c7GuA6M6suZAkQGgeRM-7ixjVK2iUKYs5fOgxqzAl21St-7Bm97mgUEoMmg37bW5-X9w3TVs6PAUgSF2DuQmmwVXeKIsmoQZA";

    /// <summary>A real 388-char refresh wrapper (refresh key 5698) from uid2-operator V2RequestUtilTest; keys unknown.</summary>
    public const string OperatorWrappedRefreshToken =
        "AAAAFkKfY/PfFkWOByfIqQpP/nWp70ULyurGFQU7CUs5VWWhSgvzFRqXBes5DBqn6GKtwgKH/dF1Cx6Id951RnumXMJ5Oebw4vxQSvtGMNroN1B6HuPZcZiMnvDaTKjCZSAMd6Rc61pZzaQQ7wDKNP9NHNIzRmp7oziVlnEkT/sTJFfZZQPMFjWNqPy2nR0CFg8Zxui5ac6Ix9KEIFXOPM2v1O3kUm5E6x8MJ4vRLclK3NtAbWE3imauSpGSVlqG12hQKEBfN5CbcGRtdQGzdZoWjl8adZQdovufwulg59o8yKrEVPpL7wmoQ5oBaG9GG+FZMx4ttzkS/UlW+uk5qxUopeCRsuOSD/zWAsDDPP+6/FFuIMj+ftASZ7gXVaDraWqD";

    public static readonly DateTimeOffset KeyActivates = Reference.AddDays(-1);
    public static readonly DateTimeOffset KeyExpires = Reference.AddYears(20);

    public static readonly EncryptionKey MasterKey = new(MasterKeyId, ReservedSites.Master, KeyActivates, KeyActivates, KeyExpires, MasterSecret);
    public static readonly EncryptionKey SiteKey = new(SiteKeyId, SiteId, KeyActivates.AddDays(-9), KeyActivates, KeyExpires, SiteSecret);
    public static readonly EncryptionKey RefreshKey = new(RefreshKeyId, ReservedSites.Refresh, KeyActivates, KeyActivates, KeyExpires, RefreshSecret);

    public static readonly KeyRing Ring = new([MasterKey, SiteKey, RefreshKey]);

    public static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-03-20T04:02:46.130Z");

    public static byte[] RawUid(IdentityScope scope, IdentityType type, int length)
    {
        var raw = Convert.FromBase64String(ExampleEmailRawUid2V2); // 32 bytes
        if (length == 32) return raw;
        return [IdentityByte.ForRawUid(scope, type), .. raw];
    }

    public static AdvertisingToken SampleToken(TokenVersion version = TokenVersion.V4, IdentityScope scope = IdentityScope.Uid2,
        IdentityType type = IdentityType.Email, int rawLength = 33) => new()
    {
        Version = version,
        Scope = scope,
        Type = type,
        RawUid = RawUid(scope, type, rawLength),
        SiteId = SiteId,
        PublisherId = 0x0102030405060708L,
        ClientKeyId = 4242,
        PrivacyBits = 3,
        Expires = Now.AddHours(72),
        Created = Now,
        Established = Now.AddDays(-10),
        Refreshed = Now.AddMinutes(-1),
        Operator = new OperatorIdentity(7, 2, 300, 11),
    };

    public static RefreshToken SampleRefresh(IdentityScope scope = IdentityScope.Uid2, IdentityType type = IdentityType.Phone) => new()
    {
        Version = 3,
        Scope = scope,
        Type = type,
        FirstLevelHash = Enumerable.Range(0, 32).Select(i => (byte)(255 - i)).ToArray(),
        SiteId = SiteId,
        PublisherId = 77,
        ClientKeyId = 88,
        PrivacyBits = 1,
        Created = Now,
        Expires = Now.AddDays(30),
        Established = Now.AddDays(-100),
        Operator = OperatorIdentity.Default,
    };

    public static byte[] FromBase64Url(string s) => System.Buffers.Text.Base64Url.DecodeFromChars(s);
    public static string ToBase64Url(byte[] b) => System.Buffers.Text.Base64Url.EncodeToString(b);
}
