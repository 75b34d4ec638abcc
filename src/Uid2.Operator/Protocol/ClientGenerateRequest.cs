using System.Text.Json;
using Uid2.Core.Normalization;

namespace Uid2.Operator.Protocol;

/// <summary>Why a client-side generate request is refused; each has one description in <c>V2TokenMapper</c>.</summary>
public enum ClientGenerateError
{
    None,
    BadSubscriptionId,
    Disabled,
    UnexpectedAppName,
    UnexpectedOrigin,
    MissingParameters,
    BadPublicKey,
    BadIv,
    DecryptionFailed,
    BadTimestamp,
    Replayed,
    ReplayCacheFull,
    InvalidPayloadJson,
    ExactlyOneHash,
    InvalidIdentifier,
}

/// <summary>
/// The plain JSON body of <c>POST /v2/token/client-generate</c>, and the identity inside its decrypted payload.
/// </summary>
public readonly record struct ClientGenerateRequest(string? Payload, string? Iv, string? PublicKey, long Timestamp, string? SubscriptionId, string? AppName)
{
    /// <summary>
    /// Reads the plain JSON request. Fields of the wrong type read as missing (a non-string subscription id is an
    /// unknown one); a missing timestamp reads as 0, as in the reference (and then fails the freshness check).
    /// </summary>
    public static bool TryParse(byte[] body, out ClientGenerateRequest request, out string? error)
    {
        request = default;
        if (body.Length == 0)
        {
            error = "json payload expected but not found"; // the reference's words for a missing body
            return false;
        }
        if (!JsonPayload.TryParse(body, out var root))
        {
            error = "json payload is not valid";
            return false;
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "json payload expected but not found";
            return false;
        }
        long timestamp = 0;
        if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null
            && (ts.ValueKind != JsonValueKind.Number || !ts.TryGetInt64(out timestamp)))
        {
            error = "bad timestamp";
            return false;
        }
        request = new ClientGenerateRequest(String(root, "payload"), String(root, "iv"), String(root, "public_key"), timestamp,
            String(root, "subscription_id"), String(root, "app_name"));
        error = null;
        return true;

        static string? String(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    /// <summary>The decrypted payload: exactly one of the hashed kinds (email_hash, phone_hash), a valid SHA-256 (base64 or hex).</summary>
    public static bool TryReadIdentity(byte[] plaintext, out IdentityInput input, out ClientGenerateError error)
    {
        input = default;
        if (!JsonPayload.TryParse(plaintext, out var root) || root.ValueKind != JsonValueKind.Object)
        {
            error = ClientGenerateError.InvalidPayloadJson;
            return false;
        }
        DiiKind? found = null;
        JsonElement value = default;
        foreach (var kind in IdentityKinds.All)
        {
            var descriptor = IdentityKinds.Of(kind);
            if (!descriptor.IsHash) continue;
            if (!root.TryGetProperty(descriptor.ParameterName, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            if (found is not null)
            {
                error = ClientGenerateError.ExactlyOneHash;
                return false;
            }
            found = kind;
            value = v;
        }
        if (found is not { } k)
        {
            error = ClientGenerateError.ExactlyOneHash;
            return false;
        }
        if (value.ValueKind != JsonValueKind.String || !IdentityInputParser.TryParse(k, value.GetString(), out input))
        {
            error = ClientGenerateError.InvalidIdentifier;
            return false;
        }
        error = ClientGenerateError.None;
        return true;
    }
}
