using System.Buffers.Text;
using Uid2.Core;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class BidstreamClientTests
{
    private readonly BidstreamClient _client = new(BaseUrl, "authkey", ClientSecret);

    private void Load(string json)
    {
        var r = _client.RefreshJson(json);
        Assert.True(r.Success, r.Reason);
    }

    private static void AssertSuccess(DecryptionResponse res, TokenVersion version, string uid = EmailRawUidV2)
    {
        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.True(res.Success);
        Assert.Equal(uid, res.Uid);
        Assert.Equal((int)version, res.AdvertisingTokenVersion);
        if (version == TokenVersion.V2) Assert.Null(res.IdentityType);
        else Assert.NotNull(res.IdentityType);
    }

    public static TheoryData<IdentityScope, TokenVersion> ScopesAndVersions => new()
    {
        { IdentityScope.Uid2, TokenVersion.V2 }, { IdentityScope.Euid, TokenVersion.V2 },
        { IdentityScope.Uid2, TokenVersion.V3 }, { IdentityScope.Euid, TokenVersion.V3 },
        { IdentityScope.Uid2, TokenVersion.V4 }, { IdentityScope.Euid, TokenVersion.V4 },
    };

    public static TheoryData<IdentityScope, TokenVersion> ScopesAndGcmVersions => new()
    {
        { IdentityScope.Uid2, TokenVersion.V3 }, { IdentityScope.Euid, TokenVersion.V3 },
        { IdentityScope.Uid2, TokenVersion.V4 }, { IdentityScope.Euid, TokenVersion.V4 },
    };

    [Theory]
    [MemberData(nameof(ScopesAndVersions))]
    public void Decrypts_v2_v3_v4(IdentityScope scope, TokenVersion version)
    {
        Load(DefaultBidstreamKeys(scope));
        var now = DateTimeOffset.UtcNow;
        var established = now.AddMonths(-4);
        var token = Token(version, scope, generated: now.AddDays(-1), expires: now.AddDays(2), established: established);

        var res = _client.Decrypt(token, now);
        AssertSuccess(res, version);
        Assert.Equal(established.ToUnixTimeMilliseconds(), res.Established!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(SiteId, res.SiteId);
        Assert.False(res.IsClientSideGenerated);
        Assert.Equal(now.AddDays(2).ToUnixTimeMilliseconds(), res.Expiry!.Value.ToUnixTimeMilliseconds());
        if (version != TokenVersion.V2) Assert.Equal(IdentityType.Email, res.IdentityType);
    }

    [Theory]
    [MemberData(nameof(ScopesAndGcmVersions))]
    public void Decrypts_phone_tokens(IdentityScope scope, TokenVersion version)
    {
        Load(DefaultBidstreamKeys(scope));
        var raw = RawUidV3(scope, IdentityType.Phone);
        var res = _client.Decrypt(Token(version, rawUid: raw), DateTimeOffset.UtcNow);
        AssertSuccess(res, version, raw);
        Assert.Equal(IdentityType.Phone, res.IdentityType);
    }

    [Theory]
    [InlineData(IdentityScope.Uid2)]
    [InlineData(IdentityScope.Euid)]
    public void Decrypts_v4_token_reencoded_as_standard_base64(IdentityScope scope)
    {
        Load(DefaultBidstreamKeys(scope));
        string b64;
        do
        {
            var bytes = Base64Url.DecodeFromChars(Token(TokenVersion.V4, scope));
            b64 = Convert.ToBase64String(bytes);
        } while (!b64.Contains('=') || !b64.Contains('/') || !b64.Contains('+'));
        AssertSuccess(_client.Decrypt(b64, DateTimeOffset.UtcNow), TokenVersion.V4);
    }

    [Fact]
    public void Cross_platform_v4_vector_from_uid2_client_net()
    {
        // Token produced by another UID2 SDK (uid2-client-net EncryptionTestsV4.crossPlatformConsistencyCheck_Decrypt):
        // master key 164 / site key 165 with the fixed test secrets, created 2023-01-01T01:01:01Z, expiring ~20 years later.
        const string token = "AIAAAACkOqJj9VoxXJNnuX3v-ymceRf8_Av0vA5asOj9YBZJc1kV1vHdmb0AIjlzWnFF-gxIlgXqhRFhPo3iXpugPBl3gv4GKnGkw-Zgm2QqMsDPPLpMCYiWrIUqHPm8hQiq9PuTU-Ba9xecRsSIAN0WCwKLwA_EDVdzmnLJu64dQoeYmuu3u1G2EuTkuMrevmP98tJqSUePKwnfK73-0Zdshw";
        var reference = DateTimeOffset.FromUnixTimeMilliseconds(1672534861000L);
        var expiry = reference.AddYears(20);
        var master = new EncryptionKey(MasterKeyId, -1, reference.AddDays(-1), reference, expiry, MasterSecret);
        var site = new EncryptionKey(SiteKeyId, SiteId, reference.AddDays(-10), reference.AddDays(-1), expiry, SiteSecret);
        // A /v2/key/bidstream body without max_bidstream_lifetime_seconds: the 20-year token is not lifetime-checked.
        Load(KeyResponse([new KeySpec(master, null), new KeySpec(site, null)], sharing: false, maxLifetime: null));

        var res = _client.Decrypt(token, DateTimeOffset.UtcNow);
        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.Equal(EmailRawUidV2, res.Uid);
        Assert.Equal(4, res.AdvertisingTokenVersion);
        Assert.Equal(IdentityType.Email, res.IdentityType);
    }

    [Fact]
    public void NotInitialized_before_any_keys()
    {
        Assert.Equal(DecryptionStatus.NotInitialized, _client.Decrypt(Token(), DateTimeOffset.UtcNow).Status);
        Assert.Null(_client.Keys);
    }

    [Fact]
    public void KeysNotSynced_when_every_key_expired()
    {
        var now = DateTimeOffset.UtcNow;
        var m = new EncryptionKey(MasterKeyId, -1, now, now.AddHours(-2), now.AddHours(-1), MasterSecret);
        var s = new EncryptionKey(SiteKeyId, SiteId, now, now.AddHours(-2), now.AddHours(-1), SiteSecret);
        Load(KeyResponse([new KeySpec(m, null), new KeySpec(s, null)], sharing: false));
        Assert.Equal(DecryptionStatus.KeysNotSynced, _client.Decrypt(Token(), now).Status);
    }

    [Fact]
    public void NotAuthorizedForMasterKey_for_unknown_master_key()
    {
        var now = DateTimeOffset.UtcNow;
        var otherMaster = new EncryptionKey(MasterKeyId + SiteKeyId + 1, -1, now, now, now.AddHours(1), MasterSecret);
        var otherSite = new EncryptionKey(MasterKeyId + SiteKeyId + 2, SiteId, now, now, now.AddHours(1), SiteSecret);
        Load(KeyResponse([new KeySpec(otherMaster, null), new KeySpec(otherSite, null)], sharing: false));
        Assert.Equal(DecryptionStatus.NotAuthorizedForMasterKey, _client.Decrypt(Token(), now).Status);
    }

    [Theory]
    [InlineData(TokenVersion.V2)]
    [InlineData(TokenVersion.V3)]
    [InlineData(TokenVersion.V4)]
    public void NotAuthorizedForKey_for_unknown_site_key(TokenVersion version)
    {
        Load(KeyResponse([new KeySpec(MasterKey, null)], sharing: false));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, _client.Decrypt(Token(version), DateTimeOffset.UtcNow).Status);
    }

    [Theory]
    [InlineData(TokenVersion.V2)]
    [InlineData(TokenVersion.V3)]
    [InlineData(TokenVersion.V4)]
    public void ExpiredToken_and_custom_now(TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var expiry = Now.AddMinutes(-30);
        var token = Token(version, generated: expiry.AddSeconds(-60), expires: expiry);

        var expired = _client.Decrypt(token, expiry.AddSeconds(1));
        Assert.Equal(DecryptionStatus.ExpiredToken, expired.Status);
        Assert.Null(expired.Uid);
        Assert.Equal(SiteId, expired.SiteId);
        Assert.Equal(expiry.ToUnixTimeMilliseconds(), expired.Expiry!.Value.ToUnixTimeMilliseconds());

        Assert.Equal(EmailRawUidV2, _client.Decrypt(token, expiry.AddSeconds(-1)).Uid);
    }

    [Theory]
    [InlineData(TokenVersion.V2)]
    [InlineData(TokenVersion.V3)]
    [InlineData(TokenVersion.V4)]
    public void UserOptedOut(TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var res = _client.Decrypt(Token(version, privacyBits: (int)PrivacyBits.OptedOut | 1), DateTimeOffset.UtcNow);
        Assert.Equal(DecryptionStatus.UserOptedOut, res.Status);
        Assert.Null(res.Uid);
    }

    [Theory]
    [InlineData("example.com", TokenVersion.V2)]
    [InlineData("com.123.Game.App.android", TokenVersion.V3)]
    [InlineData("123456789", TokenVersion.V4)]
    [InlineData("Example.Org", TokenVersion.V4)]
    [InlineData("com.123.Game.app.android", TokenVersion.V3)]
    public void Cstg_token_with_registered_domain_or_app_succeeds(string domain, TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var res = _client.Decrypt(Token(version, privacyBits: 3), DateTimeOffset.UtcNow, domain);
        AssertSuccess(res, version);
        Assert.True(res.IsClientSideGenerated);
    }

    [Theory]
    [InlineData(null, TokenVersion.V2)]
    [InlineData("", TokenVersion.V3)]
    [InlineData("example.net", TokenVersion.V4)] // registered by another site
    [InlineData("com.123.Game.App.ios", TokenVersion.V4)]
    [InlineData("foo.com", TokenVersion.V3)]
    public void DomainOrAppNameCheckFailed_for_cstg_token(string? domain, TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var res = _client.Decrypt(Token(version, privacyBits: 3), DateTimeOffset.UtcNow, domain);
        Assert.Equal(DecryptionStatus.DomainOrAppNameCheckFailed, res.Status);
        Assert.True(res.IsClientSideGenerated);
        Assert.Null(res.Uid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("foo.com")]
    public void Non_cstg_token_needs_no_domain(string? domain)
    {
        Load(DefaultBidstreamKeys());
        AssertSuccess(_client.Decrypt(Token(TokenVersion.V4, privacyBits: 1), DateTimeOffset.UtcNow, domain), TokenVersion.V4);
    }

    [Fact]
    public void Cstg_check_fails_without_site_data()
    {
        Load(KeyResponse([new KeySpec(MasterKey, null), new KeySpec(SiteKey, null)], sharing: false, includeSiteData: false));
        Assert.Equal(DecryptionStatus.DomainOrAppNameCheckFailed,
            _client.Decrypt(Token(privacyBits: 2), DateTimeOffset.UtcNow, "example.com").Status);
    }

    [Theory]
    [InlineData(TokenVersion.V2)]
    [InlineData(TokenVersion.V3)]
    [InlineData(TokenVersion.V4)]
    public void Lifetime_too_long_but_remaining_allowed(TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var now = DateTimeOffset.UtcNow;
        var generated = now.AddDays(-1);
        var res = _client.Decrypt(Token(version, generated: generated, expires: generated.AddDays(3).AddMinutes(1)), now);
        // v2 has no generation time: only the remaining lifetime (< 3 days) is checked.
        Assert.Equal(version == TokenVersion.V2 ? DecryptionStatus.Success : DecryptionStatus.InvalidTokenLifetime, res.Status);
        if (version != TokenVersion.V2)
        {
            Assert.Null(res.Uid);
            Assert.Equal((int)version, res.AdvertisingTokenVersion);
        }
    }

    [Theory]
    [InlineData(TokenVersion.V2)]
    [InlineData(TokenVersion.V3)]
    [InlineData(TokenVersion.V4)]
    public void Remaining_lifetime_too_long(TokenVersion version)
    {
        Load(DefaultBidstreamKeys());
        var now = DateTimeOffset.UtcNow;
        var res = _client.Decrypt(Token(version, generated: now, expires: now.AddDays(3).AddMinutes(1)), now);
        Assert.Equal(DecryptionStatus.InvalidTokenLifetime, res.Status);
    }

    [Theory]
    [InlineData(TokenVersion.V3, 31, DecryptionStatus.InvalidTokenLifetime)]
    [InlineData(TokenVersion.V4, 31, DecryptionStatus.InvalidTokenLifetime)]
    [InlineData(TokenVersion.V3, 30, DecryptionStatus.Success)]
    [InlineData(TokenVersion.V4, 30, DecryptionStatus.Success)]
    public void Generated_in_the_future_beyond_clock_skew(TokenVersion version, int minutes, DecryptionStatus expected)
    {
        Load(DefaultBidstreamKeys());
        var now = DateTimeOffset.UtcNow;
        var generated = now.AddMinutes(minutes);
        Assert.Equal(expected, _client.Decrypt(Token(version, generated: generated, expires: generated.AddHours(1)), now).Status);
    }

    [Fact]
    public void No_lifetime_limits_when_the_response_has_none()
    {
        Load(KeyResponse([new KeySpec(MasterKey, null), new KeySpec(SiteKey, null)], sharing: false, maxLifetime: null, allowClockSkew: null));
        var now = DateTimeOffset.UtcNow;
        Assert.True(_client.Decrypt(Token(generated: now, expires: now.AddDays(99)), now).Success);
        Assert.Equal(1800, _client.Keys!.AllowClockSkewSeconds);
    }

    // uid2-client-net UID2Encryption.DecryptV3: a token whose scope is not the key response's identity_scope is refused with
    // InvalidIdentityScope, both ways; v2 tokens carry no scope and decrypt under either.
    [Theory]
    [InlineData(IdentityScope.Uid2, IdentityScope.Euid, TokenVersion.V3)]
    [InlineData(IdentityScope.Uid2, IdentityScope.Euid, TokenVersion.V4)]
    [InlineData(IdentityScope.Euid, IdentityScope.Uid2, TokenVersion.V3)]
    [InlineData(IdentityScope.Euid, IdentityScope.Uid2, TokenVersion.V4)]
    public void InvalidIdentityScope_for_a_foreign_scope(IdentityScope keys, IdentityScope token, TokenVersion version)
    {
        Load(DefaultBidstreamKeys(keys));
        Assert.Equal(DecryptionStatus.InvalidIdentityScope, _client.Decrypt(Token(version, token), DateTimeOffset.UtcNow).Status);
        Assert.True(_client.Decrypt(Token(version, keys), DateTimeOffset.UtcNow).Success);
        Assert.True(_client.Decrypt(Token(TokenVersion.V2, token), DateTimeOffset.UtcNow).Success);
    }

    [Fact]
    public void InvalidIdentityScope_when_header_disagrees_with_raw_uid()
    {
        Load(DefaultBidstreamKeys());
        var token = Token(TokenVersion.V4, rawUid: RawUidV3(IdentityScope.Uid2, IdentityType.Phone));
        var bytes = Base64Url.DecodeFromChars(token);
        bytes[0] = IdentityByte.ForToken(IdentityScope.Uid2, IdentityType.Email); // unauthenticated header says email
        Assert.Equal(DecryptionStatus.InvalidIdentityScope, _client.Decrypt(Base64Url.EncodeToString(bytes), DateTimeOffset.UtcNow).Status);
    }

    [Theory]
    [InlineData("AQID")]      // byte1 = 2: neither v3 nor v4
    [InlineData("A1AAAAAAAA")] // byte1 = 0x50
    public void VersionNotSupported(string token)
    {
        Load(DefaultBidstreamKeys());
        Assert.Equal(DecryptionStatus.VersionNotSupported, _client.Decrypt(token, DateTimeOffset.UtcNow).Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("A4")]
    [InlineData("!!!!!!")]
    [InlineData("A4AAAA")]
    public void InvalidPayload_for_garbage(string token)
    {
        Load(DefaultBidstreamKeys());
        Assert.Equal(DecryptionStatus.InvalidPayload, _client.Decrypt(token, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public void InvalidPayload_for_truncated_token()
    {
        Load(DefaultBidstreamKeys());
        var bytes = Base64Url.DecodeFromChars(Token());
        Assert.Equal(DecryptionStatus.InvalidPayload, _client.Decrypt(Base64Url.EncodeToString(bytes[..^1]), DateTimeOffset.UtcNow).Status);
        Assert.Equal(DecryptionStatus.InvalidPayload, _client.Decrypt(null!, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public void Decrypt_without_now_uses_the_time_provider()
    {
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, time: new FixedTime(Now.AddDays(-2)));
        client.RefreshJson(DefaultBidstreamKeys());
        // keys activate/expire around the real Now; at Now-2d the token is still unexpired and keys are valid (max expiry is in the future)
        var token = Token(generated: Now.AddDays(-2), expires: Now.AddDays(-2).AddHours(1));
        Assert.True(client.Decrypt(token, (string?)null).Success);
        Assert.Equal(DecryptionStatus.ExpiredToken, client.Decrypt(token, Now, null).Status);
    }

    [Fact]
    public void Key_response_body_without_wrapper_is_accepted()
    {
        var r = _client.RefreshJson(KeyResponse([new KeySpec(MasterKey, null), new KeySpec(SiteKey, null)], sharing: false, wrap: false));
        Assert.True(r.Success, r.Reason);
        Assert.True(_client.Decrypt(Token(), DateTimeOffset.UtcNow).Success);
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Value { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Value;
}
