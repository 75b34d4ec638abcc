using System.Text;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using static Uid2.Core.Tests.Tokens.ReferenceCrypto;
using static Uid2.Core.Tests.Tokens.TokenTestData;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// Every field of the v2/v3/v4 advertising tokens and the v2/v3 refresh tokens, pinned to the byte offsets the reference
/// code uses. The reference encoders draw random IVs, so there are no fixed bytes to copy for non-zero publisher, client
/// key or privacy fields; instead each plaintext is assembled here field by field (<see cref="ByteLayout"/>, no production
/// code) in the order the reference writes it, and
/// <list type="number">
/// <item>our decoder must read a token sealed from that plaintext (BCL AES, fixed IVs, the uid2-client-net test keys of
/// <see cref="TokenTestData"/>) to the right values, and</item>
/// <item>our encoder's output, opened with the BCL, must hold exactly that plaintext.</item>
/// </list>
/// Every field gets a value distinct from its neighbours, so swapping or shifting two fields in both directions fails.
/// Layouts read (commit, file, lines):
/// <list type="bullet">
/// <item>IABTechLab/uid2-operator @ ac64c26b src/main/java/com/uid2/operator/service/EncryptedTokenEncoder.java:
/// encodeV2 38-53 and encryptIdentityV2 358-371 (v2 advertising); encodeV3 55-77 and decodeAdvertisingTokenV3orV4 241-274
/// (v3/v4 advertising); encodeV2(RefreshToken) 299-310 and decodeRefreshTokenV2 99-132; encodeV3(RefreshToken) 312-330
/// and decodeRefreshTokenV3 134-165; encodeIdentityTypeV3 373-376; encodePublisherIdentityV3 386-390 and
/// decodePublisherIdentityV3 392-394; encodeOperatorIdentityV3 396-401.</item>
/// <item>IABTechLab/uid2-client-net @ 88df6eed src/UID2.Client/UID2Encryption.cs: DecryptV2 59-105, DecryptV3 132-190;
/// src/UID2.Client/PrivacyBits.cs 7-9 (bit 1 client-side generated, bit 2 opted out); src/UID2.Client/Utils/UID2TokenGenerator.cs
/// GenerateTokenV3orV4 115-168 (the SDK's own encoder: same order).</item>
/// </list>
/// </summary>
public class TokenLayoutVectorTests
{
    // Distinct, non-zero values for every field.
    private const int TokenSiteId = 0x00002328;                     // 9000
    private const long PublisherId = 0x0102030405060708L;
    private const int ClientKeyId = 0x00001092;                     // 4242
    private static readonly DateTimeOffset Expires = DateTimeOffset.FromUnixTimeMilliseconds(1710993766130L);
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeMilliseconds(1710907366130L);
    private static readonly DateTimeOffset Established = DateTimeOffset.FromUnixTimeMilliseconds(1700000000123L);
    private static readonly DateTimeOffset Refreshed = DateTimeOffset.FromUnixTimeMilliseconds(1710907306130L);
    private static readonly OperatorIdentity Operator = new(0x0000004D, 1, 0x0000012C, 0x0000000B); // site 77, Service, version 300, key 11

    private static readonly byte[] MasterIv = FixedIv(12, 0xA0);
    private static readonly byte[] SiteIv = FixedIv(12, 0xB0);

    private static byte IdentityByteFor(IdentityScope scope, IdentityType type) => (byte)(((int)scope << 4) | ((int)type << 2) | 3);

    private static byte[] RawUidFor(IdentityScope scope, IdentityType type, int length)
    {
        var raw = Convert.FromBase64String(ExampleEmailRawUid2V2);
        return length == 32 ? raw : [(byte)(((int)scope << 4) | ((int)type << 2)), .. raw];
    }

    // ---- v3 / v4 advertising tokens -------------------------------------------------------------------------------

    /// <summary>Site payload: site id · publisher id · client key id · privacy bits · established · refreshed · raw UID (offset 36).</summary>
    private static byte[] SitePayload(int privacyBits, byte[] rawUid) => new ByteLayout()
        .I32(TokenSiteId).I64(PublisherId).I32(ClientKeyId).I32(privacyBits).Ms(Established).Ms(Refreshed).Bytes(rawUid).ToArray();

    /// <summary>Master payload head (33 bytes): expires · created · operator site · type · version · key id · site key id.</summary>
    private static byte[] MasterHead(int siteKeyId) => new ByteLayout()
        .Ms(Expires).Ms(Created).I32(Operator.SiteId).U8(Operator.OperatorType).I32(Operator.OperatorVersion).I32(Operator.OperatorKeyId)
        .I32(siteKeyId).ToArray();

    private static string AssembleGcmToken(TokenVersion version, IdentityScope scope, IdentityType type, int privacyBits, byte[] rawUid)
    {
        byte[] master = [.. MasterHead(SiteKeyId), .. GcmSeal(SiteSecret, SiteIv, SitePayload(privacyBits, rawUid))];
        var bytes = new ByteLayout()
            .U8(IdentityByteFor(scope, type)).U8(version == TokenVersion.V3 ? (byte)112 : (byte)128).I32(MasterKeyId)
            .Bytes(GcmSeal(MasterSecret, MasterIv, master)).ToArray();
        return version == TokenVersion.V3 ? Convert.ToBase64String(bytes) : System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    public static TheoryData<TokenVersion, IdentityScope, IdentityType, int, int> GcmCases()
    {
        var data = new TheoryData<TokenVersion, IdentityScope, IdentityType, int, int>();
        foreach (var v in new[] { TokenVersion.V3, TokenVersion.V4 })
        foreach (var (s, t) in new[] { (IdentityScope.Uid2, IdentityType.Email), (IdentityScope.Uid2, IdentityType.Phone), (IdentityScope.Euid, IdentityType.Email), (IdentityScope.Euid, IdentityType.Phone) })
        {
            data.Add(v, s, t, 33, 1);      // server-side generate
            data.Add(v, s, t, 33, 3);      // client-side generated (bit 1)
            data.Add(v, s, t, 33, 5);      // legacy opted-out token (bit 2)
        }
        data.Add(TokenVersion.V3, IdentityScope.Uid2, IdentityType.Email, 32, 6);
        data.Add(TokenVersion.V4, IdentityScope.Uid2, IdentityType.Email, 32, 2);
        return data;
    }

    [Theory]
    [MemberData(nameof(GcmCases))]
    public void Decoder_reads_every_field_of_a_hand_assembled_v3_v4_token(TokenVersion version, IdentityScope scope, IdentityType type, int rawLength, int privacyBits)
    {
        var raw = RawUidFor(scope, type, rawLength);
        var token = AssembleGcmToken(version, scope, type, privacyBits, raw);

        Assert.Equal(version, AdvertisingTokenCodec.DetectVersion(token));
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, Ring, out var t));
        Assert.NotNull(t);
        Assert.Equal(version, t.Version);
        Assert.Equal(scope, t.Scope);
        Assert.Equal(type, t.Type);
        Assert.Equal(MasterKeyId, t.MasterKeyId);
        Assert.Equal(SiteKeyId, t.SiteKeyId);
        Assert.Equal(TokenSiteId, t.SiteId);
        Assert.Equal(PublisherId, t.PublisherId);
        Assert.Equal(ClientKeyId, t.ClientKeyId);
        Assert.Equal(privacyBits, t.PrivacyBits);
        Assert.Equal((privacyBits & 2) != 0, ((PrivacyBits)t.PrivacyBits).HasFlag(PrivacyBits.ClientSideGenerated));
        Assert.Equal((privacyBits & 4) != 0, ((PrivacyBits)t.PrivacyBits).HasFlag(PrivacyBits.OptedOut));
        Assert.Equal(Expires, t.Expires);
        Assert.Equal(Created, t.Created);
        Assert.Equal(Established, t.Established);
        Assert.Equal(Refreshed, t.Refreshed);
        Assert.Equal(Operator, t.Operator);
        Assert.Equal(raw, t.RawUid);

        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecodeFields(token, Ring, out var f));
        Assert.Equal(ClientKeyId, f.ClientKeyId);
        Assert.Equal(privacyBits, f.PrivacyBits);
        Assert.Equal(PublisherId, f.PublisherId);
        Assert.Equal(Established, f.Established);
        Assert.Equal(Refreshed, f.Refreshed);
    }

    [Theory]
    [MemberData(nameof(GcmCases))]
    public void Encoder_writes_every_field_of_v3_v4_at_the_reference_offsets(TokenVersion version, IdentityScope scope, IdentityType type, int rawLength, int privacyBits)
    {
        var raw = RawUidFor(scope, type, rawLength);
        var token = new AdvertisingToken
        {
            Version = version, Scope = scope, Type = type, RawUid = raw, SiteId = TokenSiteId, PublisherId = PublisherId,
            ClientKeyId = ClientKeyId, PrivacyBits = privacyBits, Expires = Expires, Created = Created,
            Established = Established, Refreshed = Refreshed, Operator = Operator,
        };
        var text = version == TokenVersion.V3 ? AdvertisingTokenCodec.EncodeV3(token, MasterKey, SiteKey) : AdvertisingTokenCodec.EncodeV4(token, MasterKey, SiteKey);

        byte[] bytes;
        if (version == TokenVersion.V3)
        {
            bytes = Convert.FromBase64String(text);
        }
        else
        {
            Assert.DoesNotContain('=', text);
            Assert.DoesNotContain('+', text);
            Assert.DoesNotContain('/', text);
            bytes = System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        Assert.Equal(6 + 12 + 33 + 12 + 36 + rawLength + 16 + 16, bytes.Length); // header · IV · head · IV · site · tag · tag = 163/164
        Assert.Equal(IdentityByteFor(scope, type), bytes[0]);
        Assert.Equal(version == TokenVersion.V3 ? 112 : 128, bytes[1]);
        Assert.Equal(MasterKeyId, I32(bytes, 2));

        var master = GcmOpen(MasterSecret, bytes.AsSpan(6));
        Assert.Equal(MasterHead(SiteKeyId), master[..33]);
        var site = GcmOpen(SiteSecret, master.AsSpan(33));
        Assert.Equal(SitePayload(privacyBits, raw), site);
    }

    // ---- v2 advertising tokens (AES-CBC) --------------------------------------------------------------------------

    /// <summary>v2 site plaintext: site id · 44 · base64 text of the raw UID · privacy bits · established.</summary>
    private static byte[] V2SitePlain(int privacyBits, byte[] raw)
    {
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(raw));
        return new ByteLayout().I32(TokenSiteId).I32(text.Length).Bytes(text).I32(privacyBits).Ms(Established).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(6)]
    public void Decoder_reads_every_field_of_a_hand_assembled_v2_token(int privacyBits)
    {
        var raw = RawUidFor(IdentityScope.Uid2, IdentityType.Email, 32);
        byte[] master = [.. new ByteLayout().Ms(Expires).I32(SiteKeyId).ToArray(), .. CbcSeal(SiteSecret, FixedIv(16, 0x30), V2SitePlain(privacyBits, raw))];
        var bytes = new ByteLayout().U8(2).I32(MasterKeyId).Bytes(CbcSeal(MasterSecret, FixedIv(16, 0x50), master)).ToArray();
        Assert.Equal(133, bytes.Length);

        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var t));
        Assert.NotNull(t);
        Assert.Equal(TokenVersion.V2, t.Version);
        Assert.Equal(MasterKeyId, t.MasterKeyId);
        Assert.Equal(SiteKeyId, t.SiteKeyId);
        Assert.Equal(TokenSiteId, t.SiteId);
        Assert.Equal(privacyBits, t.PrivacyBits);
        Assert.Equal(Expires, t.Expires);
        Assert.Equal(Established, t.Established);
        Assert.Equal(raw, t.RawUid);
        Assert.Equal(IdentityScope.Uid2, t.Scope);
        Assert.Equal(IdentityType.Email, t.Type);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void Encoder_writes_every_field_of_v2_at_the_reference_offsets(int privacyBits)
    {
        var raw = RawUidFor(IdentityScope.Uid2, IdentityType.Email, 32);
        var token = new AdvertisingToken
        {
            Version = TokenVersion.V2, RawUid = raw, SiteId = TokenSiteId, PrivacyBits = privacyBits, Expires = Expires,
            Created = Created, Established = Established, Refreshed = Refreshed,
        };
        var bytes = Convert.FromBase64String(AdvertisingTokenCodec.EncodeV2(token, MasterKey, SiteKey));
        Assert.Equal(133, bytes.Length);
        Assert.Equal(2, bytes[0]);
        Assert.Equal(MasterKeyId, I32(bytes, 1));
        var master = CbcOpen(MasterSecret, bytes.AsSpan(5));
        Assert.Equal(new ByteLayout().Ms(Expires).I32(SiteKeyId).ToArray(), master[..12]);
        Assert.Equal(V2SitePlain(privacyBits, raw), CbcOpen(SiteSecret, master.AsSpan(12)));
    }

    // ---- v3 refresh tokens ----------------------------------------------------------------------------------------

    private static readonly byte[] Flh = Enumerable.Range(0, 32).Select(i => (byte)(0xC0 + i)).ToArray();
    private const int RefreshSiteId = 0x000004D2;                   // 1234
    private const long RefreshPublisherId = 0x1112131415161718L;
    private const int RefreshClientKeyId = 0x00000058;              // 88
    private static readonly DateTimeOffset RefreshExpires = DateTimeOffset.FromUnixTimeMilliseconds(1713499366130L);

    /// <summary>v3 refresh payload (90 bytes): expires · created · operator (13) · site id · publisher id · client key id ·
    /// privacy bits · established · identity byte · first-level hash.</summary>
    private static byte[] RefreshPayload(IdentityScope scope, IdentityType type, int privacyBits) => new ByteLayout()
        .Ms(RefreshExpires).Ms(Created).I32(Operator.SiteId).U8(Operator.OperatorType).I32(Operator.OperatorVersion).I32(Operator.OperatorKeyId)
        .I32(RefreshSiteId).I64(RefreshPublisherId).I32(RefreshClientKeyId).I32(privacyBits).Ms(Established)
        .U8(IdentityByteFor(scope, type)).Bytes(Flh).ToArray();

    public static TheoryData<IdentityScope, IdentityType, int> RefreshCases() => new()
    {
        { IdentityScope.Uid2, IdentityType.Email, 1 },
        { IdentityScope.Uid2, IdentityType.Phone, 3 },
        { IdentityScope.Euid, IdentityType.Email, 5 },
        { IdentityScope.Euid, IdentityType.Phone, 2 },
    };

    [Theory]
    [MemberData(nameof(RefreshCases))]
    public void Decoder_reads_every_field_of_a_hand_assembled_v3_refresh_token(IdentityScope scope, IdentityType type, int privacyBits)
    {
        var payload = RefreshPayload(scope, type, privacyBits);
        Assert.Equal(90, payload.Length);
        var bytes = new ByteLayout().U8(IdentityByteFor(scope, type)).U8(112).I32(RefreshKeyId)
            .Bytes(GcmSeal(RefreshSecret, FixedIv(12, 0x60), payload)).ToArray();
        Assert.Equal(124, bytes.Length);

        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var r));
        Assert.NotNull(r);
        Assert.Equal(3, r.Version);
        Assert.Equal(RefreshKeyId, r.KeyId);
        Assert.Equal(scope, r.Scope);
        Assert.Equal(type, r.Type);
        Assert.Equal(RefreshExpires, r.Expires);
        Assert.Equal(Created, r.Created);
        Assert.Equal(Operator, r.Operator);
        Assert.Equal(RefreshSiteId, r.SiteId);
        Assert.Equal(RefreshPublisherId, r.PublisherId);
        Assert.Equal(RefreshClientKeyId, r.ClientKeyId);
        Assert.Equal(privacyBits, r.PrivacyBits);
        Assert.Equal(Established, r.Established);
        Assert.Equal(Flh, r.FirstLevelHash);
    }

    [Theory]
    [MemberData(nameof(RefreshCases))]
    public void Encoder_writes_every_field_of_a_v3_refresh_token_at_the_reference_offsets(IdentityScope scope, IdentityType type, int privacyBits)
    {
        var token = new RefreshToken
        {
            Version = 3, Scope = scope, Type = type, FirstLevelHash = Flh, SiteId = RefreshSiteId, PublisherId = RefreshPublisherId,
            ClientKeyId = RefreshClientKeyId, PrivacyBits = privacyBits, Created = Created, Expires = RefreshExpires,
            Established = Established, Operator = Operator,
        };
        var text = RefreshTokenCodec.EncodeV3(token, RefreshKey);
        Assert.Equal(168, text.Length);
        var bytes = Convert.FromBase64String(text);
        Assert.Equal(IdentityByteFor(scope, type), bytes[0]);
        Assert.Equal(112, bytes[1]);
        Assert.Equal(RefreshKeyId, I32(bytes, 2));
        Assert.Equal(RefreshPayload(scope, type, privacyBits), GcmOpen(RefreshSecret, bytes.AsSpan(6)));
    }

    // ---- v2 refresh tokens (the operator's vectors in OperatorIssuedVectorTests pin the decoder) ----------------------

    [Fact]
    public void Encoder_writes_every_field_of_a_v2_refresh_token_at_the_reference_offsets()
    {
        var token = new RefreshToken
        {
            Version = 2, Scope = IdentityScope.Uid2, Type = IdentityType.Email, FirstLevelHash = Flh, SiteId = RefreshSiteId,
            PrivacyBits = 3, Created = Created, Expires = RefreshExpires, Established = Established,
        };
        var bytes = Convert.FromBase64String(RefreshTokenCodec.EncodeV2(token, RefreshKey));
        Assert.Equal(new ByteLayout().U8(2).Ms(Created).Ms(RefreshExpires).Ms(RefreshExpires.AddSeconds(60)).I32(RefreshKeyId).ToArray(), bytes[..29]);
        var hashText = Encoding.ASCII.GetBytes(Convert.ToBase64String(Flh));
        Assert.Equal(new ByteLayout().I32(RefreshSiteId).I32(44).Bytes(hashText).I32(3).Ms(Established).ToArray(), CbcOpen(RefreshSecret, bytes.AsSpan(29)));
    }

    [Fact]
    public void Decoder_reads_every_field_of_a_hand_assembled_v2_refresh_token()
    {
        var hashText = Encoding.ASCII.GetBytes(Convert.ToBase64String(Flh));
        var plain = new ByteLayout().I32(RefreshSiteId).I32(44).Bytes(hashText).I32(6).Ms(Established).ToArray();
        var validTill = RefreshExpires.AddSeconds(60);
        var bytes = new ByteLayout().U8(2).Ms(Created).Ms(RefreshExpires).Ms(validTill).I32(RefreshKeyId)
            .Bytes(CbcSeal(RefreshSecret, FixedIv(16, 0x70), plain)).ToArray();

        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var r));
        Assert.NotNull(r);
        Assert.Equal(2, r.Version);
        Assert.Equal(RefreshKeyId, r.KeyId);
        Assert.Equal(Created, r.Created);
        Assert.Equal(validTill, r.Expires);
        Assert.Equal(RefreshSiteId, r.SiteId);
        Assert.Equal(6, r.PrivacyBits);
        Assert.Equal(Established, r.Established);
        Assert.Equal(Flh, r.FirstLevelHash);
    }
}
