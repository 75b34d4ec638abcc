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
}
