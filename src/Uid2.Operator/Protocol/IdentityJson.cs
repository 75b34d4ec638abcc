using System.Text.Json;
using Uid2.Operator.Services;

namespace Uid2.Operator.Protocol;

/// <summary>The identity object of generate/refresh responses.</summary>
public static class IdentityJson
{
    /// <summary>
    /// Writes <c>{advertising_token, refresh_token, identity_expires, refresh_expires, refresh_from[, refresh_response_key]}</c>.
    /// v1 passes the inner refresh token and no response key; v2 passes the 388-char wrapper and its key.
    /// </summary>
    public static void Write(Utf8JsonWriter w, IssuedIdentity identity, string refreshToken, string? refreshResponseKey)
    {
        w.WriteStartObject();
        w.WriteString("advertising_token", identity.AdvertisingToken);
        w.WriteString("refresh_token", refreshToken);
        w.WriteNumber("identity_expires", identity.IdentityExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_expires", identity.RefreshExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_from", identity.RefreshFrom.ToUnixTimeMilliseconds());
        if (refreshResponseKey is not null) w.WriteString("refresh_response_key", refreshResponseKey);
        w.WriteEndObject();
    }
}
