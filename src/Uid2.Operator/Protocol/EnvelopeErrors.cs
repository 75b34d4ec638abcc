using System.Text.Json;
using Uid2.Core.Envelope;

namespace Uid2.Operator.Protocol;

/// <summary>
/// The <c>client_error</c> messages for a v2 envelope that does not open, worded as the reference operator words them
/// (its V2RequestUtil), with the same pointer to the encryption documentation and the same diagnosis of a caller that
/// sent plain (or base64-encoded plain) JSON instead of an encrypted envelope.
/// </summary>
public static class EnvelopeErrors
{
    private const string DocsUrl = "https://unifiedid.com/docs/getting-started/gs-encryption-decryption";
    private const string DocsHint = " See " + DocsUrl + " for details on the request envelope format.";

    public const string Missing = "Invalid body: Body is missing.";
    public const string NotBase64 = "Invalid body: Body is not valid base64." + DocsHint;
    public const string UnencryptedJson = "Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope. See "
        + DocsUrl + "#encryption-and-decryption-code-examples for encryption and decryption code examples.";
    public const string InvalidPayloadJson = "Invalid payload in body: Data is not valid json string.";

    /// <summary>The message for <paramref name="status"/> on the (decoded) envelope bytes it came from.</summary>
    public static string For(EnvelopeStatus status, ReadOnlySpan<byte> envelope) => status switch
    {
        EnvelopeStatus.TooShort when envelope.Length == 0 => Missing,
        EnvelopeStatus.TooShort or EnvelopeStatus.UnsupportedVersion when IsJsonObject(envelope) => UnencryptedJson,
        EnvelopeStatus.TooShort => "Invalid body: Body too short. Check encryption method." + DocsHint,
        EnvelopeStatus.UnsupportedVersion =>
            $"Invalid body: Invalid request envelope format version: received {envelope[0]}, must be {V2Envelope.EnvelopeVersion}." + DocsHint,
        EnvelopeStatus.DecryptFailed => "Invalid body: Check encryption key (ClientSecret)." + DocsHint,
        EnvelopeStatus.InvalidBase64 => NotBase64,
        _ => status.Message(),
    };

    /// <summary>True when the bytes are a JSON object (what a caller that skipped encryption sends).</summary>
    public static bool IsJsonObject(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            reader.Skip();
            return !reader.Read(); // nothing after the object
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
