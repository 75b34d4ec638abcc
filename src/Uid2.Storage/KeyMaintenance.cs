using System.Security.Cryptography;
using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>How long keys live and when their successors are created.</summary>
public sealed record KeyPolicy
{
    /// <summary>A successor is created once the newest key of a site expires within this (default 7 days).</summary>
    public TimeSpan RotationLead { get; init; } = TimeSpan.FromDays(7);

    /// <summary>A successor activates this long after it is created, so every operator loads it first (default 1 hour).</summary>
    public TimeSpan ActivationDelay { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long a key stays active after it activates (default 30 days).</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(30);

    public void Validate()
    {
        if (RotationLead < TimeSpan.Zero || ActivationDelay < TimeSpan.Zero)
            throw new ArgumentException("Key policy durations must not be negative.");
        if (Lifetime <= RotationLead + ActivationDelay)
            throw new ArgumentException("A key's lifetime must be longer than the rotation lead plus the activation delay.");
    }
}

/// <summary>Keeps an active key, and a successor before it expires, for the reserved keysets and the given sites.</summary>
public static class KeyMaintenance
{
    /// <summary>The sites that always need keys: master (-1), refresh (-2) and fallback publisher (2).</summary>
    public static IReadOnlyList<int> ReservedSiteIds { get; } = [ReservedSites.Master, ReservedSites.Refresh, ReservedSites.FallbackPublisher];

    /// <summary>
    /// For master, refresh, fallback publisher and every site in <paramref name="siteIds"/>: adds a key activating now
    /// if none is active, and a successor if the newest key expires within <see cref="KeyPolicy.RotationLead"/>.
    /// Reading the keys, allocating ids (max + 1) and inserting happen in one store write transaction.
    /// Returns the keys added.
    /// </summary>
    public static Task<IReadOnlyList<EncryptionKey>> EnsureActiveKeysAsync(
        IUid2Store store, IEnumerable<int> siteIds, TimeProvider time, KeyPolicy policy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(siteIds);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var sites = ReservedSiteIds.Concat(siteIds).Distinct().ToArray();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()); // stored with ms precision
        return store.AddKeysAtomicallyAsync(existing => Plan(existing, sites, now, policy), ct);
    }

    /// <summary>The keys to add, given the existing ones. Pure apart from the random secrets.</summary>
    public static IReadOnlyList<EncryptionKey> Plan(IReadOnlyList<EncryptionKey> existing, IEnumerable<int> siteIds, DateTimeOffset now, KeyPolicy policy)
    {
        var nextId = existing.Count == 0 ? 1 : Math.Max(1, existing.Max(k => k.Id) + 1);
        var bySite = existing.ToLookup(k => k.SiteId);
        var added = new List<EncryptionKey>();
        foreach (var site in siteIds.Distinct())
        {
            var keys = bySite[site].ToList();
            if (!keys.Any(k => k.IsActiveAt(now)))
            {
                var key = new EncryptionKey(nextId++, site, now, now, now + policy.Lifetime, RandomNumberGenerator.GetBytes(32));
                keys.Add(key);
                added.Add(key);
            }

            var newest = keys.MaxBy(k => k.Expires)!;
            if (newest.Expires - now <= policy.RotationLead)
            {
                // Activate after the delay, but no later than the newest key's expiry, so there is never a gap.
                var activates = now + policy.ActivationDelay;
                if (newest.Expires < activates) activates = newest.Expires > now ? newest.Expires : now;
                var key = new EncryptionKey(nextId++, site, now, activates, activates + policy.Lifetime, RandomNumberGenerator.GetBytes(32));
                added.Add(key);
            }
        }
        return added;
    }
}
