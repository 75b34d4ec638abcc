using System.Globalization;

namespace Uid2.Storage;

/// <summary>
/// What kind of business a participant is (the reference's <c>ClientType</c>): a keyset can be shared with every site of a
/// type. Independent of its API roles (a DSP holds the ID_READER role, but the role says what it may call, the type what
/// it is).
/// </summary>
[Flags]
public enum ClientTypes
{
    None = 0,
    Dsp = 1,
    Advertiser = 2,
    DataProvider = 4,
    Publisher = 8,
}

/// <summary>The reference's spellings of <see cref="ClientTypes"/>: <c>DSP</c>, <c>ADVERTISER</c>, <c>DATA_PROVIDER</c>, <c>PUBLISHER</c>.</summary>
public static class ClientTypeNames
{
    private static readonly (ClientTypes Type, string Name)[] Names =
    [
        (ClientTypes.Dsp, "DSP"), (ClientTypes.Advertiser, "ADVERTISER"), (ClientTypes.DataProvider, "DATA_PROVIDER"), (ClientTypes.Publisher, "PUBLISHER"),
    ];

    /// <summary>Comma-separated names in a fixed order; empty for none.</summary>
    public static string Format(ClientTypes types) => string.Join(",", Names.Where(n => types.HasFlag(n.Type)).Select(n => n.Name));

    /// <summary>Parses a comma-separated list (case-insensitive; <c>-</c> for <c>_</c>); false on an unknown name.</summary>
    public static bool TryParse(string? text, out ClientTypes types)
    {
        types = ClientTypes.None;
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = part.Replace('-', '_');
            var match = Names.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase));
            if (match.Name is null) return false;
            types |= match.Type;
        }
        return true;
    }

    /// <summary><see cref="TryParse"/>, for stored text (an unknown name stored by a newer version is ignored).</summary>
    public static ClientTypes ParseStored(string? text)
    {
        var types = ClientTypes.None;
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (TryParse(part, out var one)) types |= one;
        return types;
    }
}

/// <summary>
/// Who may decrypt the tokens a site encrypts: the sharing settings of its default keyset (keyset id = site id; master
/// and refresh keysets are not configurable). As in the reference (uid2-shared <c>KeysetSnapshot.canClientAccessKey</c>):
/// the owner always; a disabled keyset nobody; with no allowance list (<see cref="AllowedSites"/> null) every ID reader
/// (DSPs reading the bidstream); with a list only the listed sites, plus every site whose participant has one of
/// <see cref="AllowedTypes"/> (the reference's admin expands types into sites the same way). A site without a row
/// shares as <see cref="Default"/>.
/// </summary>
public sealed record KeysetSharing(int SiteId, IReadOnlyList<int>? AllowedSites, ClientTypes AllowedTypes, bool Enabled)
{
    public static KeysetSharing Default(int siteId) => new(siteId, null, ClientTypes.None, true);

    internal static string? FormatSites(IReadOnlyList<int>? sites) =>
        sites is null ? null : string.Join(",", sites.Distinct().Order().Select(s => s.ToString(CultureInfo.InvariantCulture)));

    internal static IReadOnlyList<int>? ParseSites(string? text) =>
        text is null ? null
            : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)).ToArray();
}

/// <summary>
/// The sharing rules of every keyset in one snapshot, applied as the reference applies them (see <see cref="KeysetSharing"/>):
/// who may receive the keys of a site, so the key endpoints, the admin CLI and the admin page agree.
/// </summary>
public sealed class KeysetAccessPolicy
{
    private readonly Dictionary<int, KeysetSharing> _settings;
    private readonly Dictionary<int, HashSet<int>> _allowed;

    public KeysetAccessPolicy(StoreSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _settings = (snapshot.Keysets ?? []).ToDictionary(k => k.SiteId);
        var sitesByType = snapshot.Participants.Where(p => p.Types != ClientTypes.None).ToArray();
        _allowed = new Dictionary<int, HashSet<int>>();
        foreach (var k in _settings.Values)
        {
            if (k.AllowedSites is null) continue;
            var set = k.AllowedSites.ToHashSet();
            if (k.AllowedTypes != ClientTypes.None)
                foreach (var p in sitesByType)
                    if ((p.Types & k.AllowedTypes) != 0) set.Add(p.SiteId);
            _allowed[k.SiteId] = set;
        }
    }

    /// <summary>The settings of a site's keyset (the default when none are stored).</summary>
    public KeysetSharing SettingsOf(int siteId) => _settings.TryGetValue(siteId, out var s) ? s : KeysetSharing.Default(siteId);

    /// <summary>The sites the keyset is shared with beyond its owner (listed sites plus sites of an allowed type); null: every ID reader.</summary>
    public IReadOnlySet<int>? AllowedSites(int ownerSiteId) => _allowed.TryGetValue(ownerSiteId, out var set) ? set : null;

    /// <summary>
    /// May the site <paramref name="clientSiteId"/> (an ID reader when <paramref name="idReader"/>) receive the keys of
    /// <paramref name="ownerSiteId"/>? Master keys: everyone; refresh keys: nobody.
    /// </summary>
    public bool CanAccess(int ownerSiteId, int clientSiteId, bool idReader)
    {
        if (ownerSiteId == Uid2.Core.Keys.ReservedSites.Master) return true;
        if (ownerSiteId == Uid2.Core.Keys.ReservedSites.Refresh) return false;
        if (!SettingsOf(ownerSiteId).Enabled) return false;
        if (ownerSiteId == clientSiteId) return true;
        return _allowed.TryGetValue(ownerSiteId, out var set) ? set.Contains(clientSiteId) : idReader;
    }
}
