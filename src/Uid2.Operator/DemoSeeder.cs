using System.Security.Cryptography;
using Uid2.Core.Auth;
using Uid2.Operator.Configuration;
using Uid2.Storage;

namespace Uid2.Operator;

/// <summary>Development only: makes sure the documented demo publisher exists so a newcomer can call the API at once.</summary>
public static class DemoSeeder
{
    public static async Task<bool> EnsureDemoParticipantAsync(IUid2Store store, DemoParticipantOptions demo, TimeProvider time, CancellationToken ct)
    {
        if (await store.GetParticipantAsync(demo.SiteId, ct) is not null) return false;
        var roles = Roles.Parse(demo.Roles);
        var now = time.GetUtcNow();
        var salt = RandomNumberGenerator.GetBytes(32);
        try
        {
            await store.CreateParticipantAsync(
                new Participant(demo.SiteId, demo.Name, roles, Enabled: true, now),
                new ApiKeyRecord(ApiKeys.KeyIdOf(demo.ApiKey), ApiKeys.Hash(demo.ApiKey, salt), Convert.ToBase64String(salt), demo.SiteId,
                    demo.Name + " key", roles, demo.ClientSecret, Disabled: false, now), ct);
            return true;
        }
        catch (StoreConflictException)
        {
            return false; // another instance seeded it at the same moment
        }
    }

    /// <summary>
    /// Makes sure the documented demo CSTG key pair exists for the demo site; when this call adds it, also sets the
    /// site's domain names (localhost, 127.0.0.1). An existing key pair, and domain names changed since, are left alone.
    /// </summary>
    public static async Task<bool> EnsureDemoClientSideKeypairAsync(IUid2Store store, DemoParticipantOptions demo, TimeProvider time,
        CancellationToken ct)
    {
        if (string.IsNullOrEmpty(demo.SubscriptionId) || string.IsNullOrEmpty(demo.ServerPublicKey) || string.IsNullOrEmpty(demo.ServerPrivateKey))
            return false;
        try
        {
            await store.AddClientSideKeypairAsync(new ClientSideKeypair(demo.SubscriptionId, demo.SiteId, demo.ServerPublicKey,
                demo.ServerPrivateKey, time.GetUtcNow(), Disabled: false), ct);
        }
        catch (StoreConflictException)
        {
            return false; // seeded before, or by another instance at the same moment
        }
        await store.SetDomainNamesAsync(demo.SiteId, demo.DomainNames, ct);
        return true;
    }
}

/// <summary>
/// Outside Development the demo credentials are never served, even when a store first used in Development still holds
/// them: they are public (in the README and in this source), so anyone could call the operator with them.
/// </summary>
public static class DemoCredentials
{
    /// <summary>
    /// The snapshot without the demo API key (any key that verifies as the demo key, or uses the demo client secret)
    /// and without the demo CSTG key pair (the demo private or public key). <paramref name="removed"/> names what was
    /// left out (key ids and subscription ids, never a secret).
    /// </summary>
    public static StoreSnapshot Remove(StoreSnapshot snapshot, DemoParticipantOptions demo, out IReadOnlyList<string> removed)
    {
        var demoKeyId = ApiKeys.KeyIdOf(demo.ApiKey);
        bool IsDemoKey(ApiKeyRecord k) =>
            k.ClientSecret == demo.ClientSecret || (k.KeyId == demoKeyId && ApiKeys.Verify(demo.ApiKey, k.KeyHash, k.KeySalt));
        bool IsDemoKeypair(ClientSideKeypair k) => k.PrivateKey == demo.ServerPrivateKey || k.PublicKey == demo.ServerPublicKey;

        var keypairs = snapshot.ClientSideKeypairs ?? [];
        var names = snapshot.ApiKeys.Where(IsDemoKey).Select(k => $"API key {k.KeyId} (site {k.SiteId})")
            .Concat(keypairs.Where(IsDemoKeypair).Select(k => $"CSTG key pair {k.SubscriptionId} (site {k.SiteId})"))
            .ToArray();
        removed = names;
        if (names.Length == 0) return snapshot;
        return snapshot with
        {
            ApiKeys = snapshot.ApiKeys.Where(k => !IsDemoKey(k)).ToArray(),
            ClientSideKeypairs = keypairs.Where(k => !IsDemoKeypair(k)).ToArray(),
        };
    }
}
