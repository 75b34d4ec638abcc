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
