using Microsoft.Extensions.DependencyInjection;
using Uid2.Client;
using Uid2.Core.Auth;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// Sharing tokens between participants through keysets, with the official SDK's flow (uid2-client-net SharingClient:
/// encrypt with the default keyset, decrypt with the keys /v2/key/sharing returns). The access rules are the reference's
/// (uid2-shared KeysetSnapshot.canClientAccessKey, uid2-operator UIDOperatorVerticle.handleKeysSharing): the owner; the
/// sites a keyset allows; with no allowance list, every ID reader.
/// </summary>
public abstract class KeysetSharingTests(StoreKind store) : IAsyncLifetime
{
    private const string RawUid = "ywsvDNINiZOVSsfkHpLpSJzXzhr6Jx9Z/4Q0+lsEUvM=";

    private OperatorHost _host = null!;
    private TestParticipant _a = null!;
    private TestParticipant _b = null!;
    private TestParticipant _c = null!;
    private TestParticipant _dsp = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _a = await _host.AddParticipantAsync(6001, Role.Sharer);
        _b = await _host.AddParticipantAsync(6002, Role.Sharer);
        _c = await _host.AddParticipantAsync(6003, Role.Sharer);
        _dsp = await _host.AddParticipantAsync(6004, Role.IdReader);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<SharingClient> ClientAsync(TestParticipant who)
    {
        var client = new SharingClient(_host.BaseAddress, who.ApiKey, who.Secret);
        var refreshed = await client.RefreshAsync();
        Assert.True(refreshed.Success, refreshed.Reason);
        return client;
    }

    private async Task<string> EncryptAsync(TestParticipant who)
    {
        var encrypted = (await ClientAsync(who)).Encrypt(RawUid);
        Assert.Equal(EncryptionStatus.Success, encrypted.Status);
        return encrypted.EncryptedData!;
    }

    private async Task ShareAsync(KeysetSharing sharing)
    {
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            await ((IStoreAdministration)s).SetKeysetSharingAsync(sharing);
        }
        await _host.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);
    }

    private async Task<DecryptionStatus> DecryptAsync(TestParticipant who, string token)
    {
        var result = (await ClientAsync(who)).Decrypt(token);
        if (result.Success) Assert.Equal(RawUid, result.Uid);
        return result.Status;
    }

    [SkippableFact]
    public async Task Without_an_allowance_a_sharer_cannot_decrypt_another_sharers_token()
    {
        var token = await EncryptAsync(_a);
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_a, token));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_b, token));
        // An ID reader receives the keys of a keyset without an allowance list (the bidstream rule).
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_dsp, token));
    }

    [SkippableFact]
    public async Task Two_sharers_an_allowance_then_its_revocation()
    {
        await ShareAsync(new KeysetSharing(6001, [6002], ClientTypes.None, true));
        var token = await EncryptAsync(_a);
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_b, token));

        // B's own tokens are still B's: A is not allowed by B's keyset.
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_a, await EncryptAsync(_b)));

        // What /v2/key/sharing tells B: A's keys without keyset_id (decrypt only), its own with it, the default keyset.
        var (_, json) = await _host.PostV2Async("/v2/key/sharing", _b, null);
        var body = json.GetProperty("body");
        Assert.Equal(6002, body.GetProperty("default_keyset_id").GetInt32());
        var state = _host.Services.GetRequiredService<OperatorStateProvider>().Current;
        var aKeys = state.Keys.KeysOfSite(6001).Select(k => k.Id).ToHashSet();
        var listed = body.GetProperty("keys").EnumerateArray().Where(k => aKeys.Contains(k.GetProperty("id").GetInt32())).ToList();
        Assert.NotEmpty(listed);
        Assert.All(listed, k => Assert.False(k.TryGetProperty("keyset_id", out _)));

        // Revoked: B no longer receives A's keys, and the DSP no longer does either (an explicit list excludes it).
        await ShareAsync(new KeysetSharing(6001, [], ClientTypes.None, true));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_b, token));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_dsp, token));
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_a, token));
    }

    [SkippableFact]
    public async Task Three_sharers_each_decrypts_only_what_it_is_allowed()
    {
        await ShareAsync(new KeysetSharing(6001, [6002, 6003], ClientTypes.None, true));
        await ShareAsync(new KeysetSharing(6002, [6003], ClientTypes.None, true));
        await ShareAsync(new KeysetSharing(6003, [], ClientTypes.None, true));
        var fromA = await EncryptAsync(_a);
        var fromB = await EncryptAsync(_b);
        var fromC = await EncryptAsync(_c);

        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_b, fromA));
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_c, fromA));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_a, fromB));
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_c, fromB));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_a, fromC));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_b, fromC));

        // Revoking C's allowance on A's keyset leaves B's.
        await ShareAsync(new KeysetSharing(6001, [6002], ClientTypes.None, true));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_c, fromA));
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_b, fromA));
    }

    [SkippableFact]
    public async Task An_allowed_type_shares_with_every_participant_of_that_type()
    {
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            Assert.True(await ((IStoreAdministration)s).SetParticipantTypesAsync(6003, ClientTypes.Advertiser | ClientTypes.DataProvider));
        }
        await ShareAsync(new KeysetSharing(6001, [], ClientTypes.DataProvider, true));
        var token = await EncryptAsync(_a);
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_c, token));
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, await DecryptAsync(_b, token));
    }

    [SkippableFact]
    public async Task A_disabled_keyset_is_shared_with_nobody_and_gives_no_default_keyset()
    {
        await ShareAsync(new KeysetSharing(6001, [6002], ClientTypes.None, false));
        var (status, json) = await _host.PostV2Async("/v2/key/sharing", _a, null);
        Assert.Equal(200, status);
        Assert.False(json.GetProperty("body").TryGetProperty("default_keyset_id", out _));
        var encrypted = (await ClientAsync(_a)).Encrypt(RawUid);
        Assert.False(encrypted.Success);

        await ShareAsync(new KeysetSharing(6001, [6002], ClientTypes.None, true));
        var token = await EncryptAsync(_a);
        Assert.Equal(DecryptionStatus.Success, await DecryptAsync(_b, token));
    }
}

public sealed class KeysetSharingTestsOnSqlite() : KeysetSharingTests(StoreKind.Sqlite);

public sealed class KeysetSharingTestsOnPostgres() : KeysetSharingTests(StoreKind.Postgres);
