using System.Buffers.Binary;
using System.Security.Cryptography;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Core.Tests.Tokens;

/// <summary>Tokens are sealed with libsodium's AES-GCM where available; the bytes must be plain AES-256-GCM any peer reads.</summary>
public sealed class GcmBackendTests
{
    [Fact]
    public void A_token_sealed_by_the_codec_opens_with_the_bcl_aes_gcm()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var master = new EncryptionKey(7, ReservedSites.Master, now, now, now.AddDays(1), RandomNumberGenerator.GetBytes(32));
        var site = new EncryptionKey(8, 42, now, now, now.AddDays(1), RandomNumberGenerator.GetBytes(32));
        var raw = new byte[33];
        RandomNumberGenerator.Fill(raw.AsSpan(1));
        var token = AdvertisingTokenCodec.EncodeV4(new AdvertisingToken
        {
            Scope = IdentityScope.Uid2, Type = IdentityType.Email, RawUid = raw, SiteId = 42, PrivacyBits = 1,
            Expires = now.AddHours(1), Created = now, Established = now, Refreshed = now,
        }, master, site);

        var bytes = Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + "=");
        Assert.Equal(164, bytes.Length);
        var outer = bytes.AsSpan(6);
        var masterPlain = new byte[outer.Length - 28];
        using (var gcm = new AesGcm(master.Secret, 16))
            gcm.Decrypt(outer[..12], outer[12..^16], outer[^16..], masterPlain);
        Assert.Equal(site.Id, BinaryPrimitives.ReadInt32BigEndian(masterPlain.AsSpan(29)));
        var inner = masterPlain.AsSpan(33);
        var sitePlain = new byte[inner.Length - 28];
        using (var gcm = new AesGcm(site.Secret, 16))
            gcm.Decrypt(inner[..12], inner[12..^16], inner[^16..], sitePlain);
        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(sitePlain));
        Assert.Equal(raw, sitePlain.AsSpan(36).ToArray());
    }
}
