using System.Collections.Frozen;
using System.Security.Cryptography;
using Uid2.Core.ClientSide;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>A CSTG key pair ready for requests: its site, whether it is disabled, and the decoded PKCS#8 private key.</summary>
public sealed class ClientSideKeypairEntry(string subscriptionId, int siteId, bool disabled, byte[] privateKeyPkcs8)
{
    public string SubscriptionId { get; } = subscriptionId;
    public int SiteId { get; } = siteId;
    public bool Disabled { get; } = disabled;

    /// <summary>The server's private key (DER). Never log it.</summary>
    public byte[] PrivateKeyPkcs8 { get; } = privateKeyPkcs8;

    public override string ToString() => $"CSTG key pair {SubscriptionId} (site {SiteId}{(Disabled ? ", disabled" : "")})";
}

/// <summary>One entry of the key endpoints' <c>site_data</c>: a site, its domain names and its app names, each sorted.</summary>
public sealed record SiteDomainData(int SiteId, IReadOnlyList<string> DomainNames, IReadOnlyList<string> AppNames)
{
    /// <summary>
    /// What <c>domain_names</c> lists: the domain names and, with <paramref name="withAppNames"/>, the app names too, in one
    /// sorted list without duplicates (the reference's <c>key_sharing_endpoint_provide_app_names</c>), so an SDK's
    /// domain-or-app-name check accepts a token generated client-side in a mobile app.
    /// </summary>
    public IEnumerable<string> Names(bool withAppNames) =>
        withAppNames ? DomainNames.Concat(AppNames).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal) : DomainNames;
}

/// <summary>
/// The immutable CSTG view of a store snapshot: subscription id → key pair, site → domain and app names, and the
/// <c>site_data</c> the key endpoints publish (sites with a CSTG key pair and at least one domain or app name).
/// </summary>
public sealed class ClientSideState
{
    public static readonly ClientSideState Empty = new(null);

    private readonly FrozenDictionary<string, ClientSideKeypairEntry> _keypairs;
    private readonly FrozenDictionary<int, string[]> _domainNames;
    private readonly FrozenDictionary<int, string[]> _appNames;

    public ClientSideState(StoreSnapshot? snapshot)
    {
        var keypairs = new Dictionary<string, ClientSideKeypairEntry>(StringComparer.Ordinal);
        foreach (var k in snapshot?.ClientSideKeypairs ?? [])
        {
            // A key pair whose private key does not decode to a P-256 key cannot serve: it is left out (as unknown).
            if (!ClientSideKeys.TryDecodeKeyText(k.PrivateKey, out var der) || !IsP256PrivateKey(der)) continue;
            keypairs[k.SubscriptionId] = new ClientSideKeypairEntry(k.SubscriptionId, k.SiteId, k.Disabled, der);
        }
        _keypairs = keypairs.ToFrozenDictionary(StringComparer.Ordinal);

        _domainNames = (snapshot?.DomainNames ?? new Dictionary<int, IReadOnlyList<string>>())
            .Where(kv => kv.Value.Count > 0)
            .ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Select(n => n.ToLowerInvariant()).Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal).ToArray());
        _appNames = (snapshot?.AppNames ?? new Dictionary<int, IReadOnlyList<string>>())
            .Where(kv => kv.Value.Count > 0)
            .ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray());

        var cstgSites = keypairs.Values.Select(k => k.SiteId).ToHashSet();
        KeypairSiteIds = cstgSites.Order().ToArray();
        SiteData = _domainNames.Keys.Union(_appNames.Keys)
            .Where(cstgSites.Contains)
            .Order()
            .Select(site => new SiteDomainData(site, DomainNames(site), _appNames.TryGetValue(site, out var apps) ? apps.Order(StringComparer.Ordinal).ToArray() : []))
            .ToArray();
    }

    /// <summary>Sites with a CSTG key pair and domain or app names, by site id; what <c>site_data</c> is built from.</summary>
    public IReadOnlyList<SiteDomainData> SiteData { get; }

    /// <summary>The sites that have at least one CSTG key pair (enabled or not), ascending.</summary>
    public IReadOnlyList<int> KeypairSiteIds { get; }

    public ClientSideKeypairEntry? GetKeypair(string subscriptionId) => _keypairs.GetValueOrDefault(subscriptionId);

    /// <summary>The site's domain names: lower-case, sorted, possibly empty.</summary>
    public IReadOnlyList<string> DomainNames(int siteId) => _domainNames.TryGetValue(siteId, out var names) ? names : [];

    public IReadOnlyList<string> AppNames(int siteId) => _appNames.TryGetValue(siteId, out var names) ? names : [];

    public bool IsAppNameAllowed(int siteId, string appName) =>
        _appNames.TryGetValue(siteId, out var names) && names.Any(n => string.Equals(n, appName, StringComparison.OrdinalIgnoreCase));

    private static bool IsP256PrivateKey(byte[] pkcs8)
    {
        try
        {
            using var ecdh = ECDiffieHellman.Create();
            ecdh.ImportPkcs8PrivateKey(pkcs8, out var read);
            return read == pkcs8.Length && ecdh.KeySize == 256;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
