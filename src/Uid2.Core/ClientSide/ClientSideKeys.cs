using System.Security.Cryptography;

namespace Uid2.Core.ClientSide;

/// <summary>A participant's client-side token generation (CSTG) key pair in the protocol's text form.</summary>
/// <param name="PublicKey"><c>UID2-X-&lt;env&gt;-&lt;base64 SPKI&gt;</c>: given to the publisher for its pages.</param>
/// <param name="PrivateKey"><c>UID2-Y-&lt;env&gt;-&lt;base64 PKCS#8&gt;</c>: kept by the operator. Never log it.</param>
public sealed record ClientSideKeyPair(string PublicKey, string PrivateKey);

/// <summary>
/// CSTG cryptography (protocol §7): P-256 ECDH between the browser's ephemeral key and the participant's server key;
/// the raw shared secret (X coordinate, 32 bytes) is the AES-256-GCM key, with AAD = UTF-8 JSON <c>[timestamp]</c>
/// (or <c>[timestamp,"app_name"]</c>).
/// </summary>
public static class ClientSideKeys
{
    /// <summary>Length of the <c>UID2-X-L-</c> style prefix stripped before base64 decoding.</summary>
    public const int PrefixLength = 9;

    public static ClientSideKeyPair Generate(char environment = 'L', string scopePrefix = "UID2")
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var spki = ecdh.ExportSubjectPublicKeyInfo();
        var pkcs8 = ecdh.ExportPkcs8PrivateKey();
        return new ClientSideKeyPair(
            $"{scopePrefix}-X-{environment}-{Convert.ToBase64String(spki)}",
            $"{scopePrefix}-Y-{environment}-{Convert.ToBase64String(pkcs8)}");
    }

    /// <summary>Decodes a prefixed key text (<c>UID2-X-L-…</c> / <c>UID2-Y-L-…</c>) to its DER bytes.</summary>
    public static bool TryDecodeKeyText(string? text, out byte[] der)
    {
        der = [];
        if (text is null || text.Length <= PrefixLength) return false;
        try
        {
            der = Convert.FromBase64String(text[PrefixLength..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>ECDH shared secret between a PKCS#8 private key and an SPKI public key; false for malformed or off-curve keys.</summary>
    public static bool TryDeriveSharedSecret(ReadOnlySpan<byte> privateKeyPkcs8, ReadOnlySpan<byte> peerPublicKeySpki, out byte[] sharedSecret)
    {
        sharedSecret = [];
        try
        {
            using var mine = ECDiffieHellman.Create();
            mine.ImportPkcs8PrivateKey(privateKeyPkcs8, out _);
            using var peer = ECDiffieHellman.Create();
            peer.ImportSubjectPublicKeyInfo(peerPublicKeySpki, out _);
            if (peer.KeySize != 256 || mine.KeySize != 256) return false;
            sharedSecret = mine.DeriveRawSecretAgreement(peer.PublicKey);
            return sharedSecret.Length == 32;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The AAD the browser binds to the payload: UTF-8 of <c>[timestamp]</c> or <c>[timestamp,"app_name"]</c>.</summary>
    public static byte[] AdditionalData(long timestampMs, string? appName)
    {
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteNumberValue(timestampMs);
            if (appName is not null) w.WriteStringValue(appName);
            w.WriteEndArray();
        }
        return buffer.ToArray();
    }

    /// <summary>Decrypts the CSTG payload (<c>ciphertext ‖ tag</c>) with the shared key; false on any mismatch.</summary>
    public static bool TryDecryptPayload(ReadOnlySpan<byte> sharedKey, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> payloadWithTag,
        ReadOnlySpan<byte> additionalData, out byte[] plaintext)
    {
        plaintext = [];
        if (sharedKey.Length != 32 || iv.Length != 12 || payloadWithTag.Length < 16) return false;
        var ciphertext = payloadWithTag[..^16];
        var tag = payloadWithTag[^16..];
        var result = new byte[ciphertext.Length];
        try
        {
            using var gcm = new AesGcm(sharedKey, 16);
            gcm.Decrypt(iv, ciphertext, tag, result, additionalData);
        }
        catch (CryptographicException)
        {
            return false;
        }
        plaintext = result;
        return true;
    }

    /// <summary>Client side (tests, server-side SDKs): encrypts a payload as a browser would; returns <c>ciphertext ‖ tag</c>.</summary>
    public static byte[] EncryptPayload(ReadOnlySpan<byte> sharedKey, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> additionalData)
    {
        var output = new byte[plaintext.Length + 16];
        using var gcm = new AesGcm(sharedKey, 16);
        gcm.Encrypt(iv, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), additionalData);
        return output;
    }
}
