using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>
/// How administrators see keys, written once for the admin CLI and the admin page: keysets (the keys of one owner, as
/// the key endpoints share them), their ids and names, a key's state and age, the active key of a keyset.
/// </summary>
public static class Keysets
{
    /// <summary>The id the protocol reports for the master keyset (-1 internally).</summary>
    public const int MasterKeysetId = 9_999_999;

    public static int KeysetId(int siteId) => siteId == ReservedSites.Master ? MasterKeysetId : siteId;

    /// <summary>The site (owner) of a keyset id as given by a person: 9999999 or -1 for master.</summary>
    public static int SiteOf(int keysetId) => keysetId == MasterKeysetId ? ReservedSites.Master : keysetId;

    public static string Name(int siteId) => siteId switch
    {
        ReservedSites.Master => "master",
        ReservedSites.Refresh => "refresh",
        ReservedSites.FallbackPublisher => "fallback publisher",
        _ => $"site {siteId}",
    };

    /// <summary>Who receives a keyset's keys through the key endpoints (<see cref="KeysetAccessPolicy"/>).</summary>
    public static string SharedWith(int siteId, StoreSnapshot snapshot)
    {
        switch (siteId)
        {
            case ReservedSites.Master: return "every DSP and sharer (outer layer of every token)";
            case ReservedSites.Refresh: return "nobody (operator only)";
        }
        var policy = new KeysetAccessPolicy(snapshot);
        var settings = policy.SettingsOf(siteId);
        if (!settings.Enabled) return "nobody (keyset disabled)";
        var allowed = policy.AllowedSites(siteId);
        if (allowed is null) return "its owner and every ID reader (DSPs)";
        var types = settings.AllowedTypes == ClientTypes.None ? "" : $"; allowed types {ClientTypeNames.Format(settings.AllowedTypes)}";
        return allowed.Count == 0 ? $"its owner only{types}" : $"its owner and sites {string.Join(", ", allowed.Order())}{types}";
    }

    /// <summary>The participant's name, or "operator" for the reserved keysets.</summary>
    public static string Owner(int siteId, StoreSnapshot snapshot) =>
        siteId <= 0 || siteId == ReservedSites.FallbackPublisher
            ? "operator"
            : snapshot.Participants.FirstOrDefault(p => p.SiteId == siteId)?.Name ?? "(no participant)";

    /// <summary>expired, pending (not active yet) or active.</summary>
    public static string State(EncryptionKey k, DateTimeOffset now) => k.Expires <= now ? "expired" : k.Activates > now ? "pending" : "active";

    /// <summary>The key new tokens of a keyset use: the active one that activated last.</summary>
    public static EncryptionKey? ActiveKey(IEnumerable<EncryptionKey> keys, DateTimeOffset now) =>
        keys.Where(k => k.IsActiveAt(now)).MaxBy(k => (k.Activates, k.Id));

    /// <summary>A short age: 3d, 5h, 12m.</summary>
    public static string Age(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{(int)age.TotalDays}d" : age.TotalHours >= 1 ? $"{(int)age.TotalHours}h" : $"{Math.Max(0, (int)age.TotalMinutes)}m";
}
