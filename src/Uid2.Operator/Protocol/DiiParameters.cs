using System.Text.Json;
using Uid2.Core.Normalization;

namespace Uid2.Operator.Protocol;

/// <summary>Reads the one DII field of a request (query string for v1, JSON for v2), by the names of <see cref="IdentityKinds"/>.</summary>
public static class DiiParameters
{
    public const string MissingMessage = "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified";
    public const string InvalidMessage = "Invalid Identifier";

    public static bool TryRead(IQueryCollection query, out IdentityInput input, out string? error)
    {
        input = default;
        DiiKind? found = null;
        foreach (var kind in IdentityKinds.All)
        {
            if (!query.ContainsKey(IdentityKinds.Of(kind).ParameterName)) continue;
            if (found is not null) return Fail(MissingMessage, out error);
            found = kind;
        }
        if (found is not { } k) return Fail(MissingMessage, out error);
        var values = query[IdentityKinds.Of(k).ParameterName];
        if (values.Count != 1 || !IdentityInputParser.TryParse(k, values[0] ?? "", out input)) return Fail(InvalidMessage, out error);
        error = null;
        return true;
    }

    public static bool TryRead(JsonElement body, out IdentityInput input, out string? error)
    {
        input = default;
        if (body.ValueKind != JsonValueKind.Object) return Fail(MissingMessage, out error);
        DiiKind? found = null;
        JsonElement value = default;
        foreach (var kind in IdentityKinds.All)
        {
            if (!body.TryGetProperty(IdentityKinds.Of(kind).ParameterName, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            if (found is not null) return Fail(MissingMessage, out error);
            found = kind;
            value = v;
        }
        if (found is not { } k) return Fail(MissingMessage, out error);
        if (value.ValueKind != JsonValueKind.String || !IdentityInputParser.TryParse(k, value.GetString(), out input))
            return Fail(InvalidMessage, out error);
        error = null;
        return true;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
