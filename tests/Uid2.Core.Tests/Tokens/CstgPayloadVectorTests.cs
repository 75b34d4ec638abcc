using System.Security.Cryptography;
using System.Text;
using Uid2.Core.ClientSide;
using static Uid2.Core.Tests.Tokens.ReferenceCrypto;
using static Uid2.Core.Tests.Tokens.ReferenceVectors;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// The client-side token generate (CSTG) request payload with the key pairs of IABTechLab/uid2-operator @ ac64c26b
/// src/test/java/com/uid2/operator/UIDOperatorVerticleTest.java (server pair of subscription 4WvryDGbR5, lines 100-102;
/// the fixed client key of the cstg* tests, e.g. cstgMissingRequiredField). Layout from UIDOperatorVerticle.java
/// handleClientSideTokenGenerateImpl lines 430-471: ECDH (P-256) of the server private key and the request's SPKI
/// "public_key", the raw shared secret as the AES-256-GCM key, "iv" = 12 bytes, "payload" = ciphertext ‖ tag, AAD = the
/// compact JSON array [timestamp] or [timestamp,"app_name"] (Vert.x JsonArray.toBuffer). The payload is assembled here with
/// the BCL alone; our operator-side primitives must open it.
/// </summary>
public class CstgPayloadVectorTests
{
    private const long Timestamp = 1700000000000L;
    private const string EmailHashJson = """{"email_hash":"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="}""";
    private static readonly byte[] Iv = FixedIv(12, 0x21);

    private static byte[] ServerPrivatePkcs8 => Convert.FromBase64String(CstgServerPrivateKey[9..]);
    private static byte[] ServerPublicSpki => Convert.FromBase64String(CstgServerPublicKey[9..]);

    /// <summary>The browser's side, with the BCL only: client private key × server public key.</summary>
    private static byte[] ClientSideSharedSecret()
    {
        using var client = ECDiffieHellman.Create();
        client.ImportPkcs8PrivateKey(Convert.FromBase64String(CstgClientPrivateKey), out _);
        using var server = ECDiffieHellman.Create();
        server.ImportSubjectPublicKeyInfo(ServerPublicSpki, out _);
        return client.DeriveRawSecretAgreement(server.PublicKey);
    }

    [Fact]
    public void Reference_key_pairs_are_consistent()
    {
        using var client = ECDiffieHellman.Create();
        client.ImportPkcs8PrivateKey(Convert.FromBase64String(CstgClientPrivateKey), out _);
        Assert.Equal(CstgClientPublicKey, Convert.ToBase64String(client.ExportSubjectPublicKeyInfo()));

        using var server = ECDiffieHellman.Create();
        server.ImportPkcs8PrivateKey(ServerPrivatePkcs8, out _);
        Assert.Equal(ServerPublicSpki, server.ExportSubjectPublicKeyInfo());

        Assert.True(ClientSideKeys.TryDecodeKeyText(CstgServerPrivateKey, out var der));
        Assert.Equal(ServerPrivatePkcs8, der);
        Assert.True(ClientSideKeys.TryDecodeKeyText(CstgServerPublicKey, out der));
        Assert.Equal(ServerPublicSpki, der);
    }

    [Fact]
    public void Operator_side_shared_secret_equals_the_browser_side_raw_secret()
    {
        Assert.True(ClientSideKeys.TryDeriveSharedSecret(ServerPrivatePkcs8, Convert.FromBase64String(CstgClientPublicKey), out var ours));
        Assert.Equal(32, ours.Length);
        Assert.Equal(ClientSideSharedSecret(), ours);
    }

    [Theory]
    [InlineData(null, "[1700000000000]")]
    [InlineData("com.example.app", """[1700000000000,"com.example.app"]""")]
    public void Additional_data_is_the_compact_json_array(string? appName, string expected) =>
        Assert.Equal(expected, Encoding.UTF8.GetString(ClientSideKeys.AdditionalData(Timestamp, appName)));

    [Theory]
    [InlineData(null)]
    [InlineData("com.example.app")]
    public void Hand_assembled_payload_opens_with_our_operator_side(string? appName)
    {
        var aad = Encoding.UTF8.GetBytes(appName is null ? $"[{Timestamp}]" : $"[{Timestamp},\"{appName}\"]");
        var sealedBytes = GcmSeal(ClientSideSharedSecret(), Iv, Encoding.UTF8.GetBytes(EmailHashJson), aad);
        // Request fields as the browser sends them: "iv" = the 12 IV bytes, "payload" = ciphertext ‖ tag.
        var ivField = Convert.ToBase64String(sealedBytes[..12]);
        var payloadField = Convert.ToBase64String(sealedBytes[12..]);

        Assert.True(ClientSideKeys.TryDeriveSharedSecret(ServerPrivatePkcs8, Convert.FromBase64String(CstgClientPublicKey), out var key));
        Assert.True(ClientSideKeys.TryDecryptPayload(key, Convert.FromBase64String(ivField), Convert.FromBase64String(payloadField),
            ClientSideKeys.AdditionalData(Timestamp, appName), out var plain));
        Assert.Equal(EmailHashJson, Encoding.UTF8.GetString(plain));

        // The AAD binds the timestamp (and app name): another one does not open it.
        Assert.False(ClientSideKeys.TryDecryptPayload(key, Convert.FromBase64String(ivField), Convert.FromBase64String(payloadField),
            ClientSideKeys.AdditionalData(Timestamp + 1, appName), out _));
        Assert.False(ClientSideKeys.TryDecryptPayload(key, Convert.FromBase64String(ivField), Convert.FromBase64String(payloadField),
            ClientSideKeys.AdditionalData(Timestamp, appName is null ? "x" : null), out _));
    }

    [Fact]
    public void Our_client_side_payload_is_the_reference_ciphertext_and_tag()
    {
        var key = ClientSideSharedSecret();
        var aad = Encoding.UTF8.GetBytes($"[{Timestamp}]");
        var ours = ClientSideKeys.EncryptPayload(key, Iv, Encoding.UTF8.GetBytes(EmailHashJson), ClientSideKeys.AdditionalData(Timestamp, null));
        Assert.Equal(GcmSeal(key, Iv, Encoding.UTF8.GetBytes(EmailHashJson), aad)[12..], ours);
    }
}
