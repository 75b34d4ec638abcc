using Uid2.Core.Tokens;
using static Uid2.Core.Tests.Tokens.TokenTestData;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// The identity type is two bits (bits 2–3 of the identity byte; 0 email, 1 phone). A token whose type is 2 or 3 is
/// malformed: it does not decode, where reading one bit used to take it for email.
/// </summary>
public class IdentityTypeDecodingTests
{
    private static readonly byte[] Iv = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(0x0B)]
    [InlineData(0x0F)]
    public void Advertising_token_with_a_32_byte_raw_uid_and_an_undefined_header_type_is_invalid(byte header)
    {
        var bytes = FromBase64Url(AdvertisingTokenCodec.EncodeV4(SampleToken(rawLength: 32), MasterKey, SiteKey));
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(ToBase64Url(bytes), Ring, out _));
        bytes[0] = header;
        Assert.Equal(TokenDecodeStatus.InvalidPayload, AdvertisingTokenCodec.TryDecode(ToBase64Url(bytes), Ring, out var decoded));
        Assert.Null(decoded);
    }

    [Fact]
    public void Advertising_token_whose_raw_uid_states_an_undefined_type_is_invalid()
    {
        // Re-seal a v4 token with the raw UID's prefix 0x08 (UID2, type 2): one bit of it reads as email (0x00), as the
        // header 0x03 says, so reading one bit accepted it.
        var bytes = FromBase64Url(AdvertisingTokenCodec.EncodeV4(SampleToken(), MasterKey, SiteKey));
        var master = ReferenceCrypto.GcmOpen(MasterSecret, bytes.AsSpan(6));
        var site = ReferenceCrypto.GcmOpen(SiteSecret, master.AsSpan(33));
        Assert.Equal(0x00, site[36]);
        site[36] = 0x08;
        master = [.. master.AsSpan(0, 33), .. ReferenceCrypto.GcmSeal(SiteSecret, Iv, site)];
        bytes = [.. bytes.AsSpan(0, 6), .. ReferenceCrypto.GcmSeal(MasterSecret, Iv, master)];
        Assert.Equal(0x03, bytes[0]);

        Assert.Equal(TokenDecodeStatus.InvalidPayload, AdvertisingTokenCodec.TryDecode(ToBase64Url(bytes), Ring, out var decoded));
        Assert.Null(decoded);
    }

    [Theory]
    [InlineData(0x0B)]
    [InlineData(0x0F)]
    public void Refresh_token_with_an_undefined_type_is_invalid(byte identity)
    {
        var bytes = Convert.FromBase64String(RefreshTokenCodec.EncodeV3(SampleRefresh(type: IdentityType.Email), RefreshKey));
        var payload = ReferenceCrypto.GcmOpen(RefreshSecret, bytes.AsSpan(6));
        Assert.Equal(0x03, payload[57]);
        payload[57] = identity;
        bytes = [identity, .. bytes.AsSpan(1, 5), .. ReferenceCrypto.GcmSeal(RefreshSecret, Iv, payload)];

        Assert.Equal(TokenDecodeStatus.InvalidPayload, RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var decoded));
        Assert.Null(decoded);
    }

    [Fact]
    public void Encoders_refuse_an_undefined_type()
    {
        var token = SampleToken(rawLength: 32);
        Assert.Throws<ArgumentException>(() => AdvertisingTokenCodec.EncodeV4(new AdvertisingToken
        {
            Scope = token.Scope, Type = (IdentityType)2, RawUid = token.RawUid, SiteId = token.SiteId,
            Expires = token.Expires, Created = token.Created, Established = token.Established, Refreshed = token.Refreshed,
        }, MasterKey, SiteKey));
        var refresh = SampleRefresh();
        Assert.Throws<ArgumentException>(() => RefreshTokenCodec.EncodeV3(new RefreshToken
        {
            Scope = refresh.Scope, Type = (IdentityType)3, FirstLevelHash = refresh.FirstLevelHash, SiteId = refresh.SiteId,
            Created = refresh.Created, Expires = refresh.Expires, Established = refresh.Established,
        }, RefreshKey));
    }
}
