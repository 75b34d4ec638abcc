using System.Text.Json;
using Uid2.Core.Normalization;

namespace Uid2.Operator.Protocol;

/// <summary>Reads the one DII field of a request (query string for v1, JSON for v2).</summary>
public static class DiiParameters
{
    public const string MissingMessage = "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified";
    public const string InvalidMessage = "Invalid Identifier";

    private static readonly DiiKind[] Kinds = [DiiKind.Email, DiiKind.EmailHash, DiiKind.Phone, DiiKind.PhoneHash];

    public static bool TryRead(IQueryCollection query, out IdentityInput input, out string? error) =>
        TryRead(name => query.TryGetValue(name, out var v) ? (v.Count == 1 ? v[0] ?? "" : null) : null,
            name => query.ContainsKey(name), out input, out error);

    public static bool TryRead(JsonElement body, out IdentityInput input, out string? error)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            input = default;
            error = MissingMessage;
            return false;
        }
        return TryRead(
            name => body.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : null) : null,
            name => body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null,
            out input, out error);
    }

    private static bool TryRead(Func<string, string?> value, Func<string, bool> present, out IdentityInput input, out string? error)
    {
        input = default;
        DiiKind? found = null;
        foreach (var kind in Kinds)
        {
            if (!present(kind.ParameterName())) continue;
            if (found is not null)
            {
                error = MissingMessage;
                return false;
            }
            found = kind;
        }
        if (found is not { } k)
        {
            error = MissingMessage;
            return false;
        }
        var raw = value(k.ParameterName());
        if (raw is null || !IdentityInputParser.TryParse(k, raw, out input))
        {
            error = InvalidMessage;
            return false;
        }
        error = null;
        return true;
    }
}
