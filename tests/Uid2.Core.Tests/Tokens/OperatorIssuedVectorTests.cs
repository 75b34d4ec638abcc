using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;
using Uid2.Core.Tokens;
using static Uid2.Core.Tests.Tokens.ReferenceCrypto;
using static Uid2.Core.Tests.Tokens.ReferenceVectors;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// Tokens and envelopes a real uid2-operator issued (captured in IABTechLab/uid2-client-java PublisherTests, see
/// <see cref="ReferenceVectors"/>), opened with the operator's own test keys. Every expected value below was read from
/// those bytes; each test also re-reads the layers with the BCL at the reference offsets, so the expectations do not
/// depend on our decoder.
/// </summary>
public class OperatorIssuedVectorTests
{
    private static DateTimeOffset Ms(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    // Read from the vectors (uid2-operator EncryptedTokenEncoder.java decodeAdvertisingTokenV2 / decodeRefreshTokenV2 offsets).
    private const int OperatorSiteId = 6;                                                 // the local operator's test publisher
    private const string RawUid = "DV+U/c/kb0a+sME2zDkOvz2EiIBo5q83UxaRJKmVqIs=";          // test@example.com, the operator's 2022 test salts
    private const string FirstLevelHash = "N9nj64ZkdWpHpQK/dp7V4SagjmXPmefhrQoBFR0gPJ0=";
    private const long EstablishedMs = 1668056199628L;                                    // generate time; carried over by the refresh
    private const long RefreshCreatedMs = 1668062278329L;                                  // created field of the refreshed refresh token

    // ---- v2 advertising tokens -------------------------------------------------------------------------------------

    public static TheoryData<string, long> AdvertisingTokens() => new()
    {
        { GenerateAdvertisingToken, GenerateIdentityExpiresMs },   // PublisherTests.decryptGenerateResponse
        { RefreshedAdvertisingToken, RefreshedIdentityExpiresMs }, // PublisherTests.decryptRefreshResponse
    };

    [Theory]
    [MemberData(nameof(AdvertisingTokens))]
    public void Operator_v2_advertising_token_decodes_every_field(string token, long identityExpiresMs)
    {
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, OperatorRing, out var t));
        Assert.NotNull(t);
        Assert.Equal(TokenVersion.V2, t.Version);
        Assert.Equal(3, t.MasterKeyId);
        Assert.Equal(2, t.SiteKeyId);
        Assert.Equal(OperatorSiteId, t.SiteId);
        Assert.Equal(RawUid, t.RawUidBase64);
        Assert.Equal(32, t.RawUid.Length);
        Assert.Equal(1, t.PrivacyBits);                        // server-side generate: legacy bit only
        Assert.Equal(Ms(EstablishedMs), t.Established);
        Assert.Equal(Ms(identityExpiresMs), t.Expires);        // the identity_expires the operator reported beside the token
        Assert.Equal(IdentityScope.Uid2, t.Scope);
        Assert.Equal(IdentityType.Email, t.Type);

        // The allocation-free form reads the same fields.
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecodeFields(token, OperatorRing, out var f));
        Assert.Equal(OperatorSiteId, f.SiteId);
        Assert.Equal(1, f.PrivacyBits);
        Assert.Equal(Ms(EstablishedMs), f.Established);
        Assert.Equal(Ms(identityExpiresMs), f.Expires);
        Assert.Equal(2, f.SiteKeyId);
    }

    [Theory]
    [MemberData(nameof(AdvertisingTokens))]
    public void Operator_v2_advertising_token_layout_read_with_the_bcl(string token, long identityExpiresMs)
    {
        // Offsets: EncryptedTokenEncoder.java encodeV2 (lines 38-53) and encryptIdentityV2 (lines 358-371) @ ac64c26b.
        var bytes = Convert.FromBase64String(token);
        Assert.Equal(133, bytes.Length);
        Assert.Equal(2, bytes[0]);
        Assert.Equal(3, I32(bytes, 1));
        var master = CbcOpen(OperatorMasterKey3Secret, bytes.AsSpan(5));
        Assert.Equal(identityExpiresMs, I64(master, 0));
        Assert.Equal(2, I32(master, 8));
        var site = CbcOpen(OperatorSiteKey2Secret, master.AsSpan(12));
        Assert.Equal(64, site.Length);
        Assert.Equal(OperatorSiteId, I32(site, 0));
        Assert.Equal(44, I32(site, 4));
        Assert.Equal(RawUid, Encoding.ASCII.GetString(site, 8, 44));
        Assert.Equal(1, I32(site, 52));
        Assert.Equal(EstablishedMs, I64(site, 56));
    }

    [Fact]
    public void Operator_v2_advertising_token_needs_both_operator_keys()
    {
        Assert.Equal(TokenDecodeStatus.UnknownMasterKey,
            AdvertisingTokenCodec.TryDecode(GenerateAdvertisingToken, new Uid2.Core.Keys.KeyRing([OperatorSiteKey2]), out _));
        Assert.Equal(TokenDecodeStatus.UnknownSiteKey,
            AdvertisingTokenCodec.TryDecode(GenerateAdvertisingToken, new Uid2.Core.Keys.KeyRing([OperatorMasterKey3]), out _));
    }

    // ---- refresh tokens: the 388-char wrapper and the v2 inner token ------------------------------------------------

    public static TheoryData<string, string, long, long> RefreshTokens() => new()
    {
        { GenerateRefreshToken, GenerateRefreshResponseKey, EstablishedMs, GenerateRefreshExpiresMs },
        { RefreshedRefreshToken, RefreshedRefreshResponseKey, RefreshCreatedMs, RefreshedRefreshExpiresMs },
    };

    [Theory]
    [MemberData(nameof(RefreshTokens))]
    public void Operator_refresh_token_unwraps_and_decodes_every_field(string wrapped, string responseKey, long createdMs, long refreshExpiresMs)
    {
        Assert.Equal(388, wrapped.Length);
        Assert.True(RefreshTokenWrapper.TryUnwrap(wrapped, OperatorRing, out var inner, out var key, out var scope));
        Assert.Equal(responseKey, Convert.ToBase64String(key!));      // the refresh_response_key the operator returned beside it
        Assert.Equal(IdentityScope.Uid2, scope);
        Assert.Equal(168, inner!.Length);

        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(inner, OperatorRing, out var r));
        Assert.NotNull(r);
        Assert.Equal(2, r.Version);
        Assert.Equal(4, r.KeyId);
        Assert.Equal(OperatorSiteId, r.SiteId);
        Assert.Equal(FirstLevelHash, Convert.ToBase64String(r.FirstLevelHash));
        Assert.Equal(1, r.PrivacyBits);
        Assert.Equal(Ms(createdMs), r.Created);
        Assert.Equal(Ms(EstablishedMs), r.Established);
        // The operator uses the "valid till" field (refresh_expires + 60 s) as the expiry of a v2 refresh token.
        Assert.Equal(Ms(refreshExpiresMs).AddSeconds(60), r.Expires);
        Assert.Equal(IdentityScope.Uid2, r.Scope);
        Assert.Equal(IdentityType.Email, r.Type);
    }

    [Theory]
    [MemberData(nameof(RefreshTokens))]
    public void Operator_refresh_token_layout_read_with_the_bcl(string wrapped, string responseKey, long createdMs, long refreshExpiresMs)
    {
        // Wrapper: scope byte · refresh key id (4) · IV ‖ GCM(JSON) ‖ tag (protocol §2.1; V2RequestUtil in uid2-operator).
        var bytes = Convert.FromBase64String(wrapped);
        Assert.Equal(291, bytes.Length);
        Assert.Equal(0, bytes[0]);
        Assert.Equal(4, I32(bytes, 1));
        using var json = JsonDocument.Parse(GcmOpen(OperatorRefreshKey4Secret, bytes.AsSpan(5)));
        Assert.Equal(responseKey, json.RootElement.GetProperty("refresh_response_key").GetString());
        var inner = Convert.FromBase64String(json.RootElement.GetProperty("refresh_token").GetString()!);

        // Inner v2 token: EncryptedTokenEncoder.java encodeV2(RefreshToken) lines 299-310, decodeRefreshTokenV2 lines 99-125.
        Assert.Equal(125, inner.Length);
        Assert.Equal(2, inner[0]);
        Assert.Equal(createdMs, I64(inner, 1));
        Assert.Equal(refreshExpiresMs, I64(inner, 9));
        Assert.Equal(refreshExpiresMs + 60_000, I64(inner, 17));
        Assert.Equal(4, I32(inner, 25));
        var plain = CbcOpen(OperatorRefreshKey4Secret, inner.AsSpan(29));
        Assert.Equal(OperatorSiteId, I32(plain, 0));
        Assert.Equal(44, I32(plain, 4));
        Assert.Equal(FirstLevelHash, Encoding.ASCII.GetString(plain, 8, 44));
        Assert.Equal(1, I32(plain, 52));
        Assert.Equal(EstablishedMs, I64(plain, 56));
    }

    [Fact]
    public void Operator_refresh_token_needs_refresh_key_4()
    {
        Assert.False(RefreshTokenWrapper.TryUnwrap(GenerateRefreshToken, new Uid2.Core.Keys.KeyRing([OperatorMasterKey3, OperatorSiteKey2]), out _, out _));
        Assert.True(RefreshTokenWrapper.TryUnwrap(GenerateRefreshToken, OperatorRing, out var inner, out _));
        Assert.Equal(TokenDecodeStatus.UnknownRefreshKey,
            RefreshTokenCodec.TryDecode(inner, new Uid2.Core.Keys.KeyRing([OperatorMasterKey3, OperatorSiteKey2]), out _));
    }

    // ---- v2 request envelope ---------------------------------------------------------------------------------------

    public static TheoryData<string, string> JavaEnvelopes() => new()
    {
        { JavaEnvelopeUnhashedEmail, """{"email":"test@example.com"}""" },                                      // unhashedEmail
        { JavaEnvelopeUnhashedPhone, """{"phone":"+12345678901"}""" },                                          // unhashedPhone
        { JavaEnvelopeHashedEmail, """{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="}""" },       // hashedEmail
        { JavaEnvelopeHashedPhone, """{"phone_hash":"EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4="}""" },       // hashedPhone
    };

    /// <summary>0x01 ‖ IV ‖ GCM(timestamp ms ‖ nonce ‖ JSON) ‖ tag, assembled as encrypt_request.py (uid2-client-java) does.</summary>
    private static byte[] AssembleRequest(byte[] secret, byte[] iv, long timestampMs, byte[] nonce, string json) =>
        [0x01, .. GcmSeal(secret, iv, new ByteLayout().I64(timestampMs).Bytes(nonce).Bytes(Encoding.UTF8.GetBytes(json)).ToArray())];

    [Theory]
    [MemberData(nameof(JavaEnvelopes))]
    public void Java_request_envelope_layout_is_reproduced_byte_for_byte(string envelope, string json) =>
        Assert.Equal(envelope, Convert.ToBase64String(AssembleRequest(JavaClientSecret, JavaIv, JavaTimestampMs, JavaNonce, json)));

    [Theory]
    [MemberData(nameof(JavaEnvelopes))]
    public void Java_request_envelope_opens_with_our_server_side(string envelope, string json)
    {
        var status = V2Envelope.TryDecryptRequestBase64(envelope, JavaClientSecret, Ms(JavaTimestampMs).AddSeconds(30), out var request);
        Assert.Equal(EnvelopeStatus.Success, status);
        Assert.Equal(JavaTimestampMs, request!.TimestampMs);
        Assert.Equal(JavaNonce, request.Nonce);
        Assert.Equal(json, Encoding.UTF8.GetString(request.Payload));
    }

    [Fact]
    public void Our_request_envelope_has_the_reference_layout()
    {
        var json = Encoding.UTF8.GetBytes("""{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="}""");
        var now = Ms(JavaTimestampMs);
        var ours = V2Envelope.EncryptRequest(json, JavaClientSecret, now, out var nonce);

        Assert.Equal(0x01, ours[0]);
        var iv = ours[1..13];
        // Re-sealing the reference plaintext under our IV must give our bytes exactly.
        Assert.Equal(AssembleRequest(JavaClientSecret, iv, JavaTimestampMs, nonce, Encoding.UTF8.GetString(json)), ours);
    }

    // ---- v2 responses ----------------------------------------------------------------------------------------------

    [Fact]
    public void Java_generate_response_opens_with_our_client_side_and_checks_the_nonce()
    {
        var response = Convert.FromBase64String(JavaGenerateResponse);
        Assert.True(V2Envelope.TryDecryptResponse(response, JavaClientSecret, JavaNonce, out var json));
        using var doc = JsonDocument.Parse(json!);
        Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
        var body = doc.RootElement.GetProperty("body");
        Assert.Equal(GenerateAdvertisingToken, body.GetProperty("advertising_token").GetString());
        Assert.Equal(GenerateRefreshToken, body.GetProperty("refresh_token").GetString());
        Assert.Equal(GenerateRefreshResponseKey, body.GetProperty("refresh_response_key").GetString());
        Assert.Equal(GenerateIdentityExpiresMs, body.GetProperty("identity_expires").GetInt64());
        Assert.Equal(GenerateRefreshExpiresMs, body.GetProperty("refresh_expires").GetInt64());
        Assert.Equal(GenerateRefreshFromMs, body.GetProperty("refresh_from").GetInt64());

        // Layout: IV ‖ GCM(timestamp ms ‖ the request's nonce ‖ JSON) ‖ tag, read with the BCL.
        var plain = GcmOpen(JavaClientSecret, response);
        Assert.Equal(JavaNonce, plain[8..16]);
        Assert.Equal(json, plain[16..]);

        var otherNonce = (byte[])JavaNonce.Clone();
        otherNonce[7] ^= 1;
        Assert.False(V2Envelope.TryDecryptResponse(response, JavaClientSecret, otherNonce, out _));
    }

    [Fact]
    public void Our_response_envelope_has_the_reference_layout()
    {
        var json = Encoding.UTF8.GetBytes("""{"status":"success","body":{}}""");
        var now = Ms(1668056199629L);
        var ours = V2Envelope.EncryptResponse(json, JavaNonce, JavaClientSecret, now);
        var iv = ours[..12];
        Assert.Equal(GcmSeal(JavaClientSecret, iv, new ByteLayout().I64(1668056199629L).Bytes(JavaNonce).Bytes(json).ToArray()), ours);
    }

    [Fact]
    public void Java_refresh_response_opens_with_the_key_found_in_the_refresh_token()
    {
        // The refresh_response_key travels inside the 388-char token (and beside it); it seals the no-nonce refresh answer.
        Assert.True(RefreshTokenWrapper.TryUnwrap(GenerateRefreshToken, OperatorRing, out _, out var responseKey));
        Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(JavaRefreshResponse), responseKey!, out var json));
        using var doc = JsonDocument.Parse(json!);
        Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
        var body = doc.RootElement.GetProperty("body");
        Assert.Equal(RefreshedAdvertisingToken, body.GetProperty("advertising_token").GetString());
        Assert.Equal(RefreshedRefreshToken, body.GetProperty("refresh_token").GetString());
        Assert.Equal(RefreshedRefreshResponseKey, body.GetProperty("refresh_response_key").GetString());
        Assert.Equal(RefreshedIdentityExpiresMs, body.GetProperty("identity_expires").GetInt64());
        Assert.Equal(RefreshedRefreshExpiresMs, body.GetProperty("refresh_expires").GetInt64());
        Assert.Equal(RefreshedRefreshFromMs, body.GetProperty("refresh_from").GetInt64());
    }

    [Fact]
    public void Java_optout_refresh_response_opens_and_our_no_nonce_seal_has_its_layout()
    {
        var key = Convert.FromBase64String(OptOutRefreshResponseKey);
        Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(JavaOptOutRefreshResponse), key, out var json));
        Assert.Equal("""{"status":"optout"}""", Encoding.UTF8.GetString(json!));

        var ours = V2Envelope.EncryptNoNonce(json, key);
        Assert.Equal(GcmSeal(key, ours[..12], json!), ours);
    }
}
