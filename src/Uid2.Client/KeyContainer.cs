using System.Collections.Frozen;
using System.Text.Json;
using Uid2.Core;
using Uid2.Core.Keys;

namespace Uid2.Client;

/// <summary>
/// One immutable snapshot of a <c>/v2/key/sharing</c> or <c>/v2/key/bidstream</c> response (§5.3). Clients hold one and
/// replace it atomically on refresh, so a decryption always sees a consistent set of keys and settings.
/// </summary>
public sealed class KeyContainer : IKeyLookup
{
    /// <summary>Default sharing token lifetime when the response says 0 or nothing: 30 days.</summary>
    public const long DefaultTokenExpirySeconds = 30L * 24 * 60 * 60;
    /// <summary>Default allowed clock skew when the response omits it: 30 minutes.</summary>
    public const long DefaultAllowClockSkewSeconds = 1800;

    /// <summary>Keys by id (for decryption) and by keyset id (for encryption: the "site" of each Core key is its keyset id).</summary>
    private readonly KeyRing _ring;
    private readonly FrozenDictionary<int, int> _keysetOfKey;
    private readonly FrozenDictionary<int, FrozenSet<string>> _domainsBySite;

    private const int NoKeyset = int.MinValue;

    private KeyContainer(KeyRing ring, FrozenDictionary<int, int> keysetOfKey, FrozenDictionary<int, FrozenSet<string>> domains)
    {
        _ring = ring;
        _keysetOfKey = keysetOfKey;
        _domainsBySite = domains;
    }

    /// <summary><c>caller_site_id</c>: the site id written into tokens this client encrypts (0 when absent).</summary>
    public int CallerSiteId { get; private init; }
    /// <summary><c>master_keyset_id</c> (9999999 from current operators); null when absent.</summary>
    public int? MasterKeysetId { get; private init; }
    /// <summary><c>default_keyset_id</c>: the caller's own keyset used to encrypt; null when the caller has none.</summary>
    public int? DefaultKeysetId { get; private init; }
    /// <summary><c>token_expiry_seconds</c> (sent as a string by the operator); 30 days when 0 or absent.</summary>
    public long TokenExpirySeconds { get; private init; }
    /// <summary><c>max_bidstream_lifetime_seconds</c>; <see cref="long.MaxValue"/> when absent (no check).</summary>
    public long MaxBidstreamLifetimeSeconds { get; private init; }
    /// <summary><c>max_sharing_lifetime_seconds</c>; <see cref="long.MaxValue"/> when absent (no check).</summary>
    public long MaxSharingLifetimeSeconds { get; private init; }
    /// <summary><c>allow_clock_skew_seconds</c>; 1800 when absent.</summary>
    public long AllowClockSkewSeconds { get; private init; }
    /// <summary><c>identity_scope</c>: <c>EUID</c> → <see cref="IdentityScope.Euid"/>, anything else UID2.</summary>
    public IdentityScope IdentityScope { get; private init; }
    /// <summary>The latest expiry among the keys; the container is usable while <c>now &lt;</c> this.</summary>
    public DateTimeOffset LatestKeyExpiry { get; private init; }
    /// <summary>Number of keys.</summary>
    public int KeyCount => _ring.All.Count;
    /// <summary>All keys, as Core keys whose <see cref="EncryptionKey.SiteId"/> is the key's keyset id (<see cref="int.MinValue"/> when not disclosed).</summary>
    public IReadOnlyList<EncryptionKey> Keys => _ring.All;

    /// <summary>True while some key has not expired.</summary>
    public bool IsValid(DateTimeOffset now) => now < LatestKeyExpiry;

    /// <inheritdoc />
    public EncryptionKey? GetById(int keyId) => _ring.GetById(keyId);

    /// <summary>The keyset id of a key when the response disclosed it.</summary>
    public int? KeysetIdOf(int keyId) => _keysetOfKey.TryGetValue(keyId, out var k) ? k : null;

    /// <summary>The active key of a keyset: the latest-activated key with activates ≤ now &lt; expires.</summary>
    public EncryptionKey? ActiveKeyOfKeyset(int keysetId, DateTimeOffset now) =>
        keysetId == NoKeyset ? null : _ring.GetActiveKey(keysetId, now);

    /// <summary>True when <paramref name="domainOrAppName"/> is one of the site's <c>domain_names</c> (case-insensitive exact match).</summary>
    public bool IsDomainOrAppNameAllowed(int siteId, string? domainOrAppName) =>
        domainOrAppName is not null && _domainsBySite.TryGetValue(siteId, out var names) && names.Contains(domainOrAppName);

    /// <summary>
    /// Parses a key response: either the whole wrapper <c>{"status":"success","body":{...}}</c> or just the body.
    /// Unknown fields are ignored. Returns false (with a reason) for anything malformed.
    /// </summary>
    public static bool TryParse(string json, out KeyContainer? container, out string? error)
    {
        container = null;
        error = null;
        if (string.IsNullOrWhiteSpace(json)) { error = "Empty key response."; return false; }
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { error = "The key response is not a JSON object."; return false; }
            var body = root;
            if (root.TryGetProperty("body", out var b))
            {
                if (root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() != "success")
                {
                    error = $"Key response status: {s.GetString()}";
                    return false;
                }
                body = b;
            }
            if (body.ValueKind == JsonValueKind.Array) { error = "Legacy /key/latest responses are not supported; use /v2/key/sharing or /v2/key/bidstream."; return false; }
            if (body.ValueKind != JsonValueKind.Object) { error = "The key response body is not a JSON object."; return false; }
            container = Parse(body);
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException or OverflowException or KeyNotFoundException)
        {
            error = "Invalid key response: " + e.Message;
            container = null;
            return false;
        }
    }

    private static KeyContainer Parse(JsonElement body)
    {
        if (!body.TryGetProperty("keys", out var keysJson) || keysJson.ValueKind != JsonValueKind.Array)
            throw new FormatException("The key response has no 'keys' array.");

        var keys = new List<EncryptionKey>(keysJson.GetArrayLength());
        var keysets = new Dictionary<int, int>();
        var latest = DateTimeOffset.MinValue;
        foreach (var k in keysJson.EnumerateArray())
        {
            var id = k.GetProperty("id").GetInt32();
            int? keysetId = k.TryGetProperty("keyset_id", out var ks) && ks.ValueKind == JsonValueKind.Number ? ks.GetInt32() : null;
            var created = Seconds(k, "created");
            var activates = Seconds(k, "activates");
            var expires = Seconds(k, "expires");
            var secret = Convert.FromBase64String(k.GetProperty("secret").GetString() ?? throw new FormatException("Key secret is null."));
            if (secret.Length != 32) throw new FormatException($"Key {id} does not have a 32-byte secret.");
            if (expires > latest) latest = expires;

            // A key that expires before it activates is never active: it stays decryptable by id but joins no keyset
            // (Core keys must have expires > activates, so its activation is moved just before its expiry).
            var degenerate = expires <= activates;
            var owner = keysetId is { } kid && !degenerate ? kid : NoKeyset;
            if (degenerate) activates = expires.AddTicks(-1);
            keys.Add(new EncryptionKey(id, owner, created, activates, expires, secret));
            if (keysetId is { } ksid) keysets[id] = ksid;
        }

        var domains = new Dictionary<int, FrozenSet<string>>();
        if (body.TryGetProperty("site_data", out var sites) && sites.ValueKind == JsonValueKind.Array)
        {
            foreach (var site in sites.EnumerateArray())
            {
                var siteId = site.GetProperty("id").GetInt32();
                var names = new List<string>();
                if (site.TryGetProperty("domain_names", out var dn) && dn.ValueKind == JsonValueKind.Array)
                    foreach (var n in dn.EnumerateArray())
                        if (n.ValueKind == JsonValueKind.String) names.Add(n.GetString()!);
                domains[siteId] = names.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
            }
        }

        var tokenExpiry = OptionalLong(body, "token_expiry_seconds") ?? 0;
        return new KeyContainer(new KeyRing(keys), keysets.ToFrozenDictionary(), domains.ToFrozenDictionary())
        {
            CallerSiteId = (int)(OptionalLong(body, "caller_site_id") ?? 0),
            MasterKeysetId = (int?)OptionalLong(body, "master_keyset_id"),
            DefaultKeysetId = (int?)OptionalLong(body, "default_keyset_id"),
            TokenExpirySeconds = tokenExpiry == 0 ? DefaultTokenExpirySeconds : tokenExpiry,
            MaxBidstreamLifetimeSeconds = OptionalLong(body, "max_bidstream_lifetime_seconds") ?? long.MaxValue,
            MaxSharingLifetimeSeconds = OptionalLong(body, "max_sharing_lifetime_seconds") ?? long.MaxValue,
            AllowClockSkewSeconds = OptionalLong(body, "allow_clock_skew_seconds") ?? DefaultAllowClockSkewSeconds,
            IdentityScope = body.TryGetProperty("identity_scope", out var scope) && scope.ValueKind == JsonValueKind.String
                && scope.GetString() == "EUID" ? IdentityScope.Euid : IdentityScope.Uid2,
            LatestKeyExpiry = latest,
        };
    }

    /// <summary>A number, or a string holding a number (<c>token_expiry_seconds</c> is a string on the wire); null when absent or null.</summary>
    private static long? OptionalLong(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var p)) return null;
        return p.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Number => p.TryGetInt64(out var l) ? l : (long)Math.Clamp(p.GetDouble(), long.MinValue, long.MaxValue),
            JsonValueKind.String => long.Parse(p.GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new FormatException($"'{name}' is not a number."),
        };
    }

    private static DateTimeOffset Seconds(JsonElement key, string name)
    {
        var s = key.GetProperty(name).GetInt64();
        return DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(s, -62135596800L, 253402300799L));
    }
}
