using System.Text.Json;

namespace Uid2.Client;

/// <summary>
/// A UID2 identity as returned by token generate/refresh (the protocol's identity object). Serializable with
/// <see cref="ToJson"/> / <see cref="FromJson"/> in the same JSON shape the operator and the JS SDK use, so it can be kept
/// in a cookie or session.
/// </summary>
public sealed class IdentityTokens
{
    /// <summary>Creates an identity.</summary>
    /// <param name="advertisingToken">The advertising token (<c>advertising_token</c>).</param>
    /// <param name="refreshToken">The (388-char wrapped) refresh token (<c>refresh_token</c>).</param>
    /// <param name="identityExpires">When the advertising token expires (<c>identity_expires</c>).</param>
    /// <param name="refreshFrom">When the identity should be refreshed (<c>refresh_from</c>).</param>
    /// <param name="refreshExpires">When the refresh token expires (<c>refresh_expires</c>).</param>
    /// <param name="refreshResponseKey">Base64 key the refresh response is encrypted with (<c>refresh_response_key</c>); null for legacy identities.</param>
    public IdentityTokens(string advertisingToken, string refreshToken, DateTimeOffset identityExpires, DateTimeOffset refreshFrom,
        DateTimeOffset refreshExpires, string? refreshResponseKey)
    {
        AdvertisingToken = advertisingToken ?? throw new ArgumentNullException(nameof(advertisingToken));
        RefreshToken = refreshToken ?? throw new ArgumentNullException(nameof(refreshToken));
        IdentityExpires = identityExpires;
        RefreshFrom = refreshFrom;
        RefreshExpires = refreshExpires;
        RefreshResponseKey = refreshResponseKey;
    }

    /// <summary>The advertising token to pass to the bidstream / SSPs.</summary>
    public string AdvertisingToken { get; }
    /// <summary>The refresh token, sent as the body of <c>/v2/token/refresh</c>.</summary>
    public string RefreshToken { get; }
    /// <summary>When the advertising token expires.</summary>
    public DateTimeOffset IdentityExpires { get; }
    /// <summary>From when the identity should be refreshed.</summary>
    public DateTimeOffset RefreshFrom { get; }
    /// <summary>When the refresh token expires; after that a new generate is required.</summary>
    public DateTimeOffset RefreshExpires { get; }
    /// <summary>Base64 AES key of the refresh response, or null when the identity has none (the response is then plain JSON).</summary>
    public string? RefreshResponseKey { get; }

    /// <summary>True while the refresh token has not expired (<c>now ≤ refresh_expires</c>).</summary>
    public bool IsRefreshable(DateTimeOffset now) => now <= RefreshExpires;

    /// <summary>True once the identity should be refreshed (<c>now ≥ refresh_from</c>).</summary>
    public bool IsDueForRefresh(DateTimeOffset now) => now >= RefreshFrom;

    /// <summary>True once the advertising token has expired (<c>now &gt; identity_expires</c>, the rule token decryption uses).</summary>
    public bool IsExpired(DateTimeOffset now) => now > IdentityExpires;

    /// <summary>
    /// The identity JSON: <c>{"advertising_token","refresh_token","identity_expires","refresh_expires","refresh_from","refresh_response_key"}</c>
    /// with times in epoch milliseconds (<c>refresh_response_key</c> omitted when null).
    /// </summary>
    public string ToJson()
    {
        using var stream = new MemoryStream(512);
        using (var w = new Utf8JsonWriter(stream))
        {
            WriteTo(w);
        }
        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    internal void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("advertising_token", AdvertisingToken);
        w.WriteString("refresh_token", RefreshToken);
        w.WriteNumber("identity_expires", IdentityExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_expires", RefreshExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_from", RefreshFrom.ToUnixTimeMilliseconds());
        if (RefreshResponseKey is not null) w.WriteString("refresh_response_key", RefreshResponseKey);
        w.WriteEndObject();
    }

    /// <summary>Parses the identity JSON (as written by <see cref="ToJson"/> or returned by the operator). Null when malformed or incomplete.</summary>
    public static IdentityTokens? FromJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return FromElement(doc.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads an identity object; null when a required field is missing or has the wrong type.</summary>
    internal static IdentityTokens? FromElement(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        if (!TryString(e, "advertising_token", out var adv) || !TryString(e, "refresh_token", out var refresh)) return null;
        if (!TryMs(e, "identity_expires", out var identityExpires) || !TryMs(e, "refresh_from", out var refreshFrom)
            || !TryMs(e, "refresh_expires", out var refreshExpires)) return null;
        string? key = null;
        if (e.TryGetProperty("refresh_response_key", out var k))
        {
            if (k.ValueKind == JsonValueKind.String) key = k.GetString();
            else if (k.ValueKind != JsonValueKind.Null) return null;
        }
        return new IdentityTokens(adv, refresh, identityExpires, refreshFrom, refreshExpires, key);
    }

    private static bool TryString(JsonElement e, string name, out string value)
    {
        value = string.Empty;
        if (!e.TryGetProperty(name, out var p) || p.ValueKind != JsonValueKind.String) return false;
        value = p.GetString()!;
        return value.Length > 0;
    }

    private static bool TryMs(JsonElement e, string name, out DateTimeOffset value)
    {
        value = default;
        if (!e.TryGetProperty(name, out var p) || p.ValueKind != JsonValueKind.Number || !p.TryGetInt64(out var ms)) return false;
        if (ms < -62135596800000L || ms > 253402300799999L) return false;
        value = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }
}
