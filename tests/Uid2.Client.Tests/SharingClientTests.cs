using Uid2.Core;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class SharingClientTests
{
    private readonly SharingClient _client = new(BaseUrl, "authkey", ClientSecret);

    private void Load(string json)
    {
        var r = _client.RefreshJson(json);
        Assert.True(r.Success, r.Reason);
    }

    [Theory]
    [InlineData(IdentityScope.Uid2, TokenVersion.V2)]
    [InlineData(IdentityScope.Euid, TokenVersion.V3)]
    [InlineData(IdentityScope.Uid2, TokenVersion.V4)]
    public void Decrypts_shared_tokens(IdentityScope scope, TokenVersion version)
    {
        Load(DefaultSharingKeys(scope));
        var now = DateTimeOffset.UtcNow;
        var res = _client.Decrypt(Token(version, scope, generated: now.AddDays(-1), expires: now.AddDays(29)), now);
        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.Equal(EmailRawUidV2, res.Uid);
        Assert.Equal(SiteKeysetId, res.SiteKeySiteId);
    }

    [Theory]
    [InlineData(TokenVersion.V2, DecryptionStatus.Success)]
    [InlineData(TokenVersion.V3, DecryptionStatus.InvalidTokenLifetime)]
    [InlineData(TokenVersion.V4, DecryptionStatus.InvalidTokenLifetime)]
    public void Sharing_lifetime_limit(TokenVersion version, DecryptionStatus expected)
    {
        Load(DefaultSharingKeys());
        var now = DateTimeOffset.UtcNow;
        var generated = now.AddDays(-1);
        Assert.Equal(expected, _client.Decrypt(Token(version, generated: generated, expires: generated.AddDays(31)), now).Status);
    }

    [Fact]
    public void Cstg_tokens_are_not_domain_checked_when_sharing()
    {
        Load(DefaultSharingKeys());
        Assert.True(_client.Decrypt(Token(privacyBits: 3), DateTimeOffset.UtcNow).Success);
    }

    [Fact]
    public void Encrypt_then_decrypt_round_trip()
    {
        Load(DefaultSharingKeys());
        var now = DateTimeOffset.UtcNow;
        var enc = _client.Encrypt(EmailRawUidV2, now);
        Assert.Equal(EncryptionStatus.Success, enc.Status);
        var token = enc.EncryptedData!;
        Assert.StartsWith("A4", token);
        Assert.Equal(-1, token.IndexOfAny(['+', '/', '=']));

        var res = _client.Decrypt(token, now.AddSeconds(1));
        Assert.Equal(DecryptionStatus.Success, res.Status);
        Assert.Equal(EmailRawUidV2, res.Uid);
        Assert.Equal(SiteId, res.SiteId);
        Assert.Equal(4, res.AdvertisingTokenVersion);
        Assert.False(res.IsClientSideGenerated);
        Assert.Equal(now.AddDays(30).ToUnixTimeMilliseconds(), res.Expiry!.Value.ToUnixTimeMilliseconds());

        // Decoded with Core: v4, caller site id, privacy bits 0, master/site key ids of the active keys.
        var ring = new KeyRing([MasterKey, SiteKey]);
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, ring, out var decoded));
        Assert.Equal(TokenVersion.V4, decoded!.Version);
        Assert.Equal(0, decoded.PrivacyBits);
        Assert.Equal(MasterKeyId, decoded.MasterKeyId);
        Assert.Equal(SiteKeyId, decoded.SiteKeyId);
    }

    [Fact]
    public void Another_participant_decrypts_the_token()
    {
        Load(DefaultSharingKeys());
        var token = _client.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).EncryptedData!;

        var receiver = new SharingClient(BaseUrl, "other", Convert.ToBase64String(new byte[32]));
        // The receiver's response does not disclose the sender's keyset (keyset_id omitted: decrypt-only keys).
        Assert.True(receiver.RefreshJson(KeyResponse([Master(), Site(withKeyset: false)], defaultKeysetId: 12345)).Success);
        var res = receiver.Decrypt(token, DateTimeOffset.UtcNow);
        Assert.True(res.Success);
        Assert.Equal(EmailRawUidV2, res.Uid);
        Assert.Null(res.SiteKeySiteId);
        Assert.Equal(EncryptionStatus.NotAuthorizedForKey, receiver.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).Status);
    }

    [Theory]
    [InlineData(IdentityScope.Uid2, "A")]
    [InlineData(IdentityScope.Euid, "E")]
    public void Token_prefix_follows_scope(IdentityScope scope, string prefix)
    {
        Load(DefaultSharingKeys(scope));
        var token = _client.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).EncryptedData!;
        Assert.StartsWith(prefix + "4", token);
    }

    [Theory]
    [InlineData("Q4bGug8t1xjsutKLCNjnb5fTlXSvIQukmahYDJeLBtk=", "A")] // v2 raw UID: email assumed
    [InlineData("BEOGxroPLdcY7LrSiwjY52+X05V0ryELpJmoWAyXiwbZ", "B")] // v3 phone raw UID
    [InlineData("AKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb", "A")] // v3 email raw UID
    public void Raw_uid_sets_identity_type(string rawUid, string prefix)
    {
        Load(DefaultSharingKeys());
        var enc = _client.Encrypt(rawUid, DateTimeOffset.UtcNow);
        Assert.Equal(EncryptionStatus.Success, enc.Status);
        Assert.StartsWith(prefix, enc.EncryptedData);
        Assert.Equal(rawUid, _client.Decrypt(enc.EncryptedData!, DateTimeOffset.UtcNow).Uid);
    }

    [Theory]
    [InlineData("EKCoNGWPYng/whjBIwANJHKvvGlGyzARtDIAk95FlJyb")] // EUID raw UID on a UID2 client
    [InlineData("not base64")]
    [InlineData("AAAA")]
    [InlineData("")]
    public void EncryptionFailure_for_bad_raw_uid(string rawUid)
    {
        Load(DefaultSharingKeys());
        Assert.Equal(EncryptionStatus.EncryptionFailure, _client.Encrypt(rawUid, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public void Token_expiry_comes_from_token_expiry_seconds_string()
    {
        Load(KeyResponse([Master(), Site()], tokenExpirySeconds: "2"));
        Assert.Equal(2, _client.Keys!.TokenExpirySeconds);
        var at = DateTimeOffset.UtcNow;
        var token = _client.Encrypt(EmailRawUidV2, at).EncryptedData!;
        Assert.True(_client.Decrypt(token, at.AddSeconds(1)).Success);
        Assert.Equal(DecryptionStatus.ExpiredToken, _client.Decrypt(token, at.AddSeconds(3)).Status);
    }

    [Fact]
    public void Zero_token_expiry_means_thirty_days()
    {
        Load(KeyResponse([Master(), Site()], tokenExpirySeconds: "0"));
        Assert.Equal(30L * 24 * 3600, _client.Keys!.TokenExpirySeconds);
    }

    [Fact]
    public void Multiple_keys_per_keyset_uses_the_active_one()
    {
        var m2 = new EncryptionKey(264, -1, Now.AddDays(-2), Now.AddDays(-1), Now.AddHours(-1), MasterSecret);
        var s2 = new EncryptionKey(265, SiteId, Now.AddDays(-10), Now.AddDays(-1), Now.AddHours(-1), SiteSecret);
        Load(KeyResponse([Master(), Master(m2), Site(), Site(s2)]));
        var token = _client.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).EncryptedData!;
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, new KeyRing([MasterKey, SiteKey]), out var t));
        Assert.Equal(MasterKeyId, t!.MasterKeyId);
        Assert.Equal(SiteKeyId, t.SiteKeyId);
    }

    [Fact]
    public void NotAuthorizedForKey_without_a_default_keyset_key()
    {
        Load(KeyResponse([Master()]));
        Assert.Equal(EncryptionStatus.NotAuthorizedForKey, _client.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).Status);
        Load(KeyResponse([Master(), Site()], defaultKeysetId: null));
        Assert.Equal(EncryptionStatus.NotAuthorizedForKey, _client.Encrypt(EmailRawUidV2, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public void NotAuthorizedForMasterKey_without_an_active_master_key()
    {
        Load(KeyResponse([Site(), new KeySpec(MasterKey, MasterKeysetId, Activates: Now.AddDays(1), Expires: Now.AddDays(2))]));
        Assert.Equal(EncryptionStatus.NotAuthorizedForMasterKey, _client.Encrypt(EmailRawUidV2, Now).Status);
    }

    [Theory]
    [InlineData(0, -1)] // expires before it activates (never active)
    [InlineData(1, 2)]  // activates tomorrow
    public void Inactive_site_key_cannot_encrypt(int activatesInDays, int expiresInDays)
    {
        Load(KeyResponse([Master(), new KeySpec(SiteKey, SiteKeysetId, Now.AddDays(activatesInDays), Now.AddDays(expiresInDays))]));
        Assert.Equal(EncryptionStatus.NotAuthorizedForKey, _client.Encrypt(EmailRawUidV2, Now).Status);
    }

    [Fact]
    public void NotInitialized_and_KeysNotSynced()
    {
        Assert.Equal(EncryptionStatus.NotInitialized, _client.Encrypt(EmailRawUidV2, Now).Status);
        Assert.Equal(DecryptionStatus.NotInitialized, _client.Decrypt("A4AAAA", Now).Status);
        Load(DefaultSharingKeys());
        Assert.Equal(EncryptionStatus.KeysNotSynced, _client.Encrypt(EmailRawUidV2, Now.AddDays(2)).Status);
        Assert.Equal(DecryptionStatus.KeysNotSynced, _client.Decrypt("A4AAAA", Now.AddDays(2)).Status);
    }

    // uid2-client-net: the sharing client decrypts with the scope of its key response (identity_scope).
    [Theory]
    [InlineData(IdentityScope.Uid2, IdentityScope.Euid)]
    [InlineData(IdentityScope.Euid, IdentityScope.Uid2)]
    public void A_token_of_the_other_scope_is_InvalidIdentityScope(IdentityScope keys, IdentityScope other)
    {
        Load(DefaultSharingKeys(keys));
        var now = DateTimeOffset.UtcNow;
        var own = _client.Encrypt(EmailRawUidV2, now);
        Assert.Equal(EncryptionStatus.Success, own.Status);
        Assert.True(_client.Decrypt(own.EncryptedData!, now).Success);
        Assert.Equal(DecryptionStatus.InvalidIdentityScope, _client.Decrypt(Token(TokenVersion.V4, other, generated: now), now).Status);
    }

    [Fact]
    public void Key_container_exposes_the_response_fields()
    {
        Load(DefaultSharingKeys(IdentityScope.Euid));
        var k = _client.Keys!;
        Assert.Equal(SiteId, k.CallerSiteId);
        Assert.Equal(MasterKeysetId, k.MasterKeysetId);
        Assert.Equal(SiteKeysetId, k.DefaultKeysetId);
        Assert.Equal(2592000, k.TokenExpirySeconds);
        Assert.Equal(30L * 24 * 3600, k.MaxSharingLifetimeSeconds);
        Assert.Equal(long.MaxValue, k.MaxBidstreamLifetimeSeconds);
        Assert.Equal(IdentityScope.Euid, k.IdentityScope);
        Assert.Equal(2, k.KeyCount);
        Assert.Equal(SiteKeysetId, k.KeysetIdOf(SiteKeyId));
        Assert.True(k.IsDomainOrAppNameAllowed(SiteId, "EXAMPLE.com"));
    }
}
