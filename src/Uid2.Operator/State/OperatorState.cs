using System.Collections.Frozen;
using Uid2.Core;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// An immutable view of the store (keys, salts, participants, API keys) that requests are served from.
/// A new one is swapped in atomically when the store changes; opt-outs live in the shared <see cref="OptOutIndex"/>.
/// </summary>
public sealed class OperatorState
{
    private readonly FrozenDictionary<string, ApiKeyRecord[]> _apiKeysByKeyId;
    private readonly FrozenDictionary<int, Participant> _participants;

    public OperatorState(StoreSnapshot snapshot, IdentityScope scope)
    {
        Version = snapshot.Version;
        Keys = new KeyRing(snapshot.Keys);
        Salts = snapshot.Salts;
        Deriver = snapshot.Salts is null ? null : new IdentityDeriver(snapshot.Salts, scope);
        TestIdentities = Deriver is null ? null : new TestIdentities(Deriver);
        _apiKeysByKeyId = snapshot.ApiKeys
            .GroupBy(k => k.KeyId, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        _participants = snapshot.Participants.ToFrozenDictionary(p => p.SiteId);
        ClientSide = new ClientSideState(snapshot);
        Sharing = new KeysetAccessPolicy(snapshot);
        Scope = scope;
    }

    public long Version { get; }
    public IdentityScope Scope { get; }
    public KeyRing Keys { get; }
    public SaltSet? Salts { get; }
    public IdentityDeriver? Deriver { get; }
    public TestIdentities? TestIdentities { get; }

    /// <summary>Client-side token generation: key pairs by subscription id, domain and app names by site.</summary>
    public ClientSideState ClientSide { get; }

    /// <summary>Who receives which site's keys (keyset sharing settings).</summary>
    public KeysetAccessPolicy Sharing { get; }

    public IReadOnlyCollection<Participant> Participants => _participants.Values;

    public Participant? GetParticipant(int siteId) => _participants.GetValueOrDefault(siteId);

    public ReadOnlySpan<ApiKeyRecord> ApiKeysWithId(string keyId) =>
        _apiKeysByKeyId.TryGetValue(keyId, out var keys) ? keys : ReadOnlySpan<ApiKeyRecord>.Empty;

    /// <summary>Why this state cannot serve tokens, or null when it can.</summary>
    public string? NotReadyReason(DateTimeOffset now)
    {
        if (Deriver is null) return "salts not loaded";
        if (Keys.ActiveMasterKey(now) is null) return "no active master key";
        if (Keys.ActiveRefreshKey(now) is null) return "no active refresh key";
        if (Keys.GetActiveKey(ReservedSites.FallbackPublisher, now) is null) return "no active publisher key";
        return null;
    }
}
