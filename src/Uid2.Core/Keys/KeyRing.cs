using System.Collections.Frozen;

namespace Uid2.Core.Keys;

/// <summary>
/// An immutable set of encryption keys. Answers "the key with id N" and
/// "the active key for site S at time T" (the latest-activated key with activates ≤ T &lt; expires).
/// </summary>
public sealed class KeyRing : IKeyLookup
{
    private readonly FrozenDictionary<int, EncryptionKey> _byId;
    private readonly FrozenDictionary<int, EncryptionKey[]> _bySite; // each sorted by Activates ascending

    public static readonly KeyRing Empty = new([]);

    public KeyRing(IEnumerable<EncryptionKey> keys)
    {
        var list = keys.ToList();
        _byId = list.ToFrozenDictionary(k => k.Id);
        _bySite = list.GroupBy(k => k.SiteId)
            .ToFrozenDictionary(g => g.Key, g => g.OrderBy(k => k.Activates).ThenBy(k => k.Id).ToArray());
        All = list;
    }

    public IReadOnlyList<EncryptionKey> All { get; }

    public EncryptionKey? GetById(int keyId) => _byId.GetValueOrDefault(keyId);

    /// <summary>The active key of a site at a time, or null when none is active.</summary>
    public EncryptionKey? GetActiveKey(int siteId, DateTimeOffset now)
    {
        if (!_bySite.TryGetValue(siteId, out var keys)) return null;
        for (var i = keys.Length - 1; i >= 0; i--)
        {
            var k = keys[i];
            if (k.Activates <= now && now < k.Expires) return k;
        }
        return null;
    }

    /// <summary>Keys owned by a site, ordered by activation.</summary>
    public IReadOnlyList<EncryptionKey> KeysOfSite(int siteId) => _bySite.TryGetValue(siteId, out var keys) ? keys : [];

    public EncryptionKey? ActiveMasterKey(DateTimeOffset now) => GetActiveKey(ReservedSites.Master, now);

    public EncryptionKey? ActiveRefreshKey(DateTimeOffset now) => GetActiveKey(ReservedSites.Refresh, now);

    /// <summary>The key a publisher's tokens are encrypted with: its own active key, else the fallback publisher key.</summary>
    public EncryptionKey? ActivePublisherKey(int siteId, DateTimeOffset now) =>
        GetActiveKey(siteId, now) ?? GetActiveKey(ReservedSites.FallbackPublisher, now);

    public int MaxKeyId => All.Count == 0 ? 0 : All.Max(k => k.Id);
}
