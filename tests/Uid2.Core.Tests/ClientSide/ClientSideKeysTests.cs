using System.Security.Cryptography;
using System.Text;
using Uid2.Core.ClientSide;

namespace Uid2.Core.Tests.ClientSide;

public sealed class ClientSideKeysTests
{
    [Fact]
    public void Generated_keys_have_the_protocol_prefixes_and_agree_with_a_browser_key()
    {
        var pair = ClientSideKeys.Generate();
        Assert.StartsWith("UID2-X-L-", pair.PublicKey);
        Assert.StartsWith("UID2-Y-L-", pair.PrivateKey);
        Assert.True(ClientSideKeys.TryDecodeKeyText(pair.PublicKey, out var serverSpki));
        Assert.True(ClientSideKeys.TryDecodeKeyText(pair.PrivateKey, out var serverPkcs8));

        using var browser = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var serverPublic = ECDiffieHellman.Create();
        serverPublic.ImportSubjectPublicKeyInfo(serverSpki, out _);
        var browserSecret = browser.DeriveRawSecretAgreement(serverPublic.PublicKey);

        Assert.True(ClientSideKeys.TryDeriveSharedSecret(serverPkcs8, browser.ExportSubjectPublicKeyInfo(), out var serverSecret));
        Assert.Equal(browserSecret, serverSecret);
        Assert.Equal(32, serverSecret.Length);
    }

    [Fact]
    public void Payload_round_trips_and_is_bound_to_the_timestamp()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var iv = RandomNumberGenerator.GetBytes(12);
        var json = Encoding.UTF8.GetBytes("{\"email_hash\":\"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=\"}");
        var aad = ClientSideKeys.AdditionalData(1700000000000, null);
        Assert.Equal("[1700000000000]", Encoding.UTF8.GetString(aad));
        Assert.Equal("[1700000000000,\"com.example.app\"]", Encoding.UTF8.GetString(ClientSideKeys.AdditionalData(1700000000000, "com.example.app")));

        var sealedPayload = ClientSideKeys.EncryptPayload(key, iv, json, aad);
        Assert.True(ClientSideKeys.TryDecryptPayload(key, iv, sealedPayload, aad, out var plain));
        Assert.Equal(json, plain);
        Assert.False(ClientSideKeys.TryDecryptPayload(key, iv, sealedPayload, ClientSideKeys.AdditionalData(1700000000001, null), out _));
        var tampered = (byte[])sealedPayload.Clone();
        tampered[3] ^= 1;
        Assert.False(ClientSideKeys.TryDecryptPayload(key, iv, tampered, aad, out _));
        Assert.False(ClientSideKeys.TryDecryptPayload(key, iv[..11], sealedPayload, aad, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("UID2-X-L-")]
    [InlineData("UID2-X-L-!!!notbase64")]
    [InlineData("UID2-X-L-AAAA")]
    public void Malformed_peer_keys_fail_cleanly(string text)
    {
        var pair = ClientSideKeys.Generate();
        ClientSideKeys.TryDecodeKeyText(pair.PrivateKey, out var pkcs8);
        var spki = ClientSideKeys.TryDecodeKeyText(text, out var der) ? der : [];
        Assert.False(ClientSideKeys.TryDeriveSharedSecret(pkcs8, spki, out _));
    }
}
