using System.Buffers.Binary;
using System.Security.Cryptography;
using Uid2.Core;
using Uid2.Core.Keys;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

/// <summary>
/// SDK-level vectors from outside this code base (the other token tests here build their tokens with Core's encoder):
/// <list type="bullet">
/// <item>A v2 advertising token a local uid2-operator issued, from IABTechLab/uid2-client-java @ edbde03f
/// src/test/java/com/uid2/client/PublisherTests.java (decryptGenerateResponse), opened with master key 3 / site key 2 of
/// IABTechLab/uid2-operator @ 041aec1b src/main/resources/com.uid2.core/test/keys/keys.json.</item>
/// <item>v3/v4 tokens assembled byte by byte at the offsets of IABTechLab/uid2-client-net @ 88df6eed
/// src/UID2.Client/UID2Encryption.cs DecryptV3 (lines 159-190) with the privacy bits of src/UID2.Client/PrivacyBits.cs
/// (lines 7-9: bit 1 client-side generated, bit 2 opted out), sealed with the BCL's AES-GCM and the uid2-client-net
/// TestData.cs keys. The client key id is 0x1092 (bit 1 set, bit 2 clear), so a decoder that reads it in place of the
/// privacy bits gets the CSTG and opt-out answers wrong.</item>
/// </list>
/// </summary>
public class ReferenceVectorTests
{
    private readonly BidstreamClient _client = new(BaseUrl, "authkey", ClientSecret);

    private const long PublisherId = 0x0102030405060708L;
    private const int ClientKeyId = 0x1092;

    private static void I32(List<byte> b, int v) { var s = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(s, v); b.AddRange(s); }
    private static void I64(List<byte> b, long v) { var s = new byte[8]; BinaryPrimitives.WriteInt64BigEndian(s, v); b.AddRange(s); }

    private static byte[] Seal(byte[] key, byte ivStart, byte[] plain)
    {
        var iv = Enumerable.Range(0, 12).Select(i => (byte)(ivStart + i)).ToArray();
        var ct = new byte[plain.Length];
        var tag = new byte[16];
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(iv, plain, ct, tag);
        return [.. iv, .. ct, .. tag];
    }

    /// <summary>A v3 (112) or v4 (128) token with the reference layout.</summary>
    private static string Assemble(byte version, int privacyBits, DateTimeOffset generated, DateTimeOffset expires, DateTimeOffset established)
    {
        var site = new List<byte>();
        I32(site, SiteId); I64(site, PublisherId); I32(site, ClientKeyId); I32(site, privacyBits);
        I64(site, established.ToUnixTimeMilliseconds()); I64(site, generated.ToUnixTimeMilliseconds());
        site.AddRange(Convert.FromBase64String(EmailRawUidV2));

        var master = new List<byte>();
        I64(master, expires.ToUnixTimeMilliseconds()); I64(master, generated.ToUnixTimeMilliseconds());
        I32(master, 0); master.Add(1); I32(master, 0); I32(master, 0);          // operator identity as the operator writes it
        I32(master, SiteKeyId);
        master.AddRange(Seal(SiteSecret, 0x40, [.. site]));

        var token = new List<byte> { 0x03, version };                              // UID2 / email, "| 3"
        I32(token, MasterKeyId);
        token.AddRange(Seal(MasterSecret, 0x80, [.. master]));
        return version == 112 ? Convert.ToBase64String([.. token]) : System.Buffers.Text.Base64Url.EncodeToString([.. token]);
    }

    [Theory]
    [InlineData((byte)112)]
    [InlineData((byte)128)]
    public void Reference_layout_token_decrypts_with_every_field(byte version)
    {
        Assert.True(_client.RefreshJson(DefaultBidstreamKeys()).Success);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var established = now.AddDays(-40);
        var res = _client.Decrypt(Assemble(version, 1, now.AddMinutes(-5), now.AddHours(2), established), now);

        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.Equal(EmailRawUidV2, res.Uid);
        Assert.Equal(SiteId, res.SiteId);
        Assert.Equal(established, res.Established);
        Assert.Equal(now.AddHours(2), res.Expiry);
        Assert.Equal(version == 112 ? 3 : 4, res.AdvertisingTokenVersion);
        Assert.Equal(IdentityType.Email, res.IdentityType);
        Assert.False(res.IsClientSideGenerated);
    }

    [Theory]
    [InlineData((byte)112)]
    [InlineData((byte)128)]
    public void Privacy_bit_2_is_opted_out(byte version)
    {
        Assert.True(_client.RefreshJson(DefaultBidstreamKeys()).Success);
        var now = DateTimeOffset.UtcNow;
        var res = _client.Decrypt(Assemble(version, 5, now.AddMinutes(-5), now.AddHours(2), now.AddDays(-1)), now);
        Assert.Equal(DecryptionStatus.UserOptedOut, res.Status);
        Assert.Null(res.Uid);
    }

    [Theory]
    [InlineData((byte)112, "example.com", DecryptionStatus.Success)]
    [InlineData((byte)128, "example.com", DecryptionStatus.Success)]
    [InlineData((byte)128, "foo.com", DecryptionStatus.DomainOrAppNameCheckFailed)]
    public void Privacy_bit_1_is_client_side_generated(byte version, string domain, DecryptionStatus expected)
    {
        Assert.True(_client.RefreshJson(DefaultBidstreamKeys()).Success);
        var now = DateTimeOffset.UtcNow;
        var res = _client.Decrypt(Assemble(version, 3, now.AddMinutes(-5), now.AddHours(2), now.AddDays(-1)), now, domain);
        Assert.Equal(expected, res.Status);
        Assert.True(res.IsClientSideGenerated);
    }

    // ---- an operator-issued v2 token ---------------------------------------------------------------------------------

    private const string OperatorV2Token =
        "AgAAAAN6QZRCFTau+sfOlMMUY2ftElFMq2TCrcu1EAaD9WmEfoT2BWm2ZKz1tumbT00tWLffRDQ/9POXfA0O/Ljszn7FLtG5EzTBM3HYs4f5irkqeEvu38Dh"
        + "VCxUEpI+gZZZkynRap1oYx6AmC/ip3rk+7pmqa3r3saDs1mPRSSTm+Nh6A==";

    [Fact]
    public void Operator_issued_v2_token_decrypts_with_the_operators_test_keys()
    {
        var created = DateTimeOffset.FromUnixTimeSeconds(1609459200);
        var activates = DateTimeOffset.FromUnixTimeSeconds(1609469200);
        var expires = DateTimeOffset.FromUnixTimeSeconds(1893456000);
        var master = new EncryptionKey(3, ReservedSites.Master, created, activates, expires, Convert.FromBase64String("2m4mNGTExXEq7IoIB6ZpKRB2NmdGP2grhsuHsKiziKQ="));
        var site = new EncryptionKey(2, 2, created, activates, expires, Convert.FromBase64String("RgyxkP4yP1gYhCINq7O9PxM6jX+etPqSQluZxjB1aG8="));
        Assert.True(_client.RefreshJson(KeyResponse([new KeySpec(master, null), new KeySpec(site, null)], sharing: false, maxLifetime: 3L * 24 * 3600)).Success);

        var established = DateTimeOffset.FromUnixTimeMilliseconds(1668056199628L);         // the generate call
        var identityExpires = DateTimeOffset.FromUnixTimeMilliseconds(1668059799628L);     // identity_expires of that response
        var res = _client.Decrypt(OperatorV2Token, established.AddMinutes(1));

        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.Equal("DV+U/c/kb0a+sME2zDkOvz2EiIBo5q83UxaRJKmVqIs=", res.Uid);
        Assert.Equal(6, res.SiteId);
        Assert.Equal(established, res.Established);
        Assert.Equal(identityExpires, res.Expiry);
        Assert.Equal(2, res.AdvertisingTokenVersion);
        Assert.False(res.IsClientSideGenerated);

        Assert.Equal(DecryptionStatus.ExpiredToken, _client.Decrypt(OperatorV2Token, identityExpires.AddSeconds(1)).Status);
    }
}
