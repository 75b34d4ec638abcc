using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Client;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// The .NET SDK against a real operator: a publisher generates and refreshes, a bidder decrypts what the publisher
/// passed on, an advertiser maps the same email — all three must agree on the raw UID2, across a key rotation.
/// </summary>
public abstract class SdkEndToEndTests(StoreKind store) : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _dsp = null!;
    private TestParticipant _advertiser = null!;
    private TestParticipant _sharer = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _publisher = await _host.AddParticipantAsync(5001, Role.Generator);
        _dsp = await _host.AddParticipantAsync(5002, Role.IdReader);
        _advertiser = await _host.AddParticipantAsync(5003, Role.Mapper);
        _sharer = await _host.AddParticipantAsync(5004, Role.Sharer);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private PublisherClient Publisher => new(_host.BaseAddress, _publisher.ApiKey, _publisher.Secret);

    [SkippableFact]
    public async Task Publisher_bidder_and_advertiser_agree_on_the_raw_uid2_across_a_key_rotation()
    {
        const string email = "sdk.user@example.com";
        var generated = await Publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail(email));
        Assert.True(generated.IsSuccess, generated.Message);
        var identity = generated.Identity!;
        Assert.False(identity.IsExpired(DateTimeOffset.UtcNow));
        Assert.False(identity.IsDueForRefresh(DateTimeOffset.UtcNow));
        Assert.True(identity.IsRefreshable(DateTimeOffset.UtcNow));

        var bidder = new BidstreamClient(_host.BaseAddress, _dsp.ApiKey, _dsp.Secret);
        var keys = await bidder.RefreshAsync();
        Assert.True(keys.Success, keys.Reason);
        var seen = bidder.Decrypt(identity.AdvertisingToken, DateTimeOffset.UtcNow);
        Assert.Equal(DecryptionStatus.Success, seen.Status);
        Assert.Equal(5001, seen.SiteId);

        var mapper = new IdentityMapClient(_host.BaseAddress, _advertiser.ApiKey, _advertiser.Secret);
        var mapped = await mapper.MapAsync(IdentityMapInput.FromEmails([email, "not-an-email"]));
        Assert.Equal(ResponseStatus.Success, mapped.Status);
        Assert.Equal(seen.Uid, mapped.Mapped[email].CurrentRawUid);
        Assert.True(mapped.Unmapped.ContainsKey("not-an-email"));

        // Rotate the publisher's key: a new key activates now and is used for every token issued from here on.
        await using (var store = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            var now = DateTimeOffset.UtcNow;
            await store.AddKeysAtomicallyAsync(existing =>
                [new EncryptionKey(existing.Max(k => k.Id) + 1, 5001, now, now, now.AddDays(30), RandomNumberGenerator.GetBytes(32))]);
        }
        var state = _host.Services.GetRequiredService<OperatorStateProvider>();
        await state.ReloadAsync(CancellationToken.None);
        var newKeyId = state.Current.Keys.GetActiveKey(5001, DateTimeOffset.UtcNow)!.Id;

        var refreshed = await Publisher.RefreshTokenAsync(identity);
        Assert.True(refreshed.IsSuccess, refreshed.Message);
        Assert.NotEqual(identity.AdvertisingToken, refreshed.Identity!.AdvertisingToken);

        // Before the bidder syncs, the new token's key is unknown to it; after, both old and new tokens decrypt.
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, bidder.Decrypt(refreshed.Identity.AdvertisingToken, DateTimeOffset.UtcNow).Status);
        Assert.True((await bidder.RefreshAsync()).Success);
        Assert.NotNull(bidder.Keys!.GetById(newKeyId));
        var afterRotation = bidder.Decrypt(refreshed.Identity.AdvertisingToken, DateTimeOffset.UtcNow);
        Assert.Equal(DecryptionStatus.Success, afterRotation.Status);
        Assert.Equal(seen.Uid, afterRotation.Uid);
        Assert.Equal(DecryptionStatus.Success, bidder.Decrypt(identity.AdvertisingToken, DateTimeOffset.UtcNow).Status);
    }

    [SkippableFact]
    public async Task Sharers_encrypt_and_decrypt_with_keys_from_the_operator()
    {
        var sharing = new SharingClient(_host.BaseAddress, _sharer.ApiKey, _sharer.Secret);
        Assert.True((await sharing.RefreshAsync()).Success);
        var mapper = new IdentityMapClient(_host.BaseAddress, _advertiser.ApiKey, _advertiser.Secret);
        var raw = (await mapper.MapAsync(IdentityMapInput.FromEmails(["shared@example.com"]))).Mapped["shared@example.com"].CurrentRawUid;

        var encrypted = sharing.Encrypt(raw, DateTimeOffset.UtcNow);
        Assert.Equal(EncryptionStatus.Success, encrypted.Status);
        var decrypted = sharing.Decrypt(encrypted.EncryptedData!, DateTimeOffset.UtcNow);
        Assert.Equal(DecryptionStatus.Success, decrypted.Status);
        Assert.Equal(raw, decrypted.Uid);
        Assert.Equal(5004, decrypted.SiteId);

        // A sharer is not entitled to publisher keys, so bidstream tokens stay opaque to it.
        var token = (await Publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("shared@example.com"))).Identity!.AdvertisingToken;
        Assert.Equal(DecryptionStatus.NotAuthorizedForKey, sharing.Decrypt(token, DateTimeOffset.UtcNow).Status);
    }

    [SkippableFact]
    public async Task Refresh_of_an_opted_out_user_ends_the_chain_through_the_sdk()
    {
        var identity = (await Publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("refresh-optout@example.com"))).Identity!;
        var refreshed = await Publisher.RefreshTokenAsync(identity);
        Assert.True(refreshed.IsOptOut);
        Assert.True((await Publisher.GenerateTokenAsync(TokenGenerateInput.FromPhone("+00000000000"))).IsOptOut);
    }
}

public sealed class SdkEndToEndTestsOnSqlite() : SdkEndToEndTests(StoreKind.Sqlite);

public sealed class SdkEndToEndTestsOnPostgres() : SdkEndToEndTests(StoreKind.Postgres);
