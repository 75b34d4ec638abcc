using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>Identity map (v2, v3), buckets, opt-out status and key distribution through a real Kestrel.</summary>
public abstract class IdentityAndKeyEndpointTests(StoreKind store) : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _advertiser = null!;
    private TestParticipant _dsp = null!;
    private TestParticipant _sharer = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _publisher = await _host.AddParticipantAsync(4001, Role.Generator | Role.Optout);
        _advertiser = await _host.AddParticipantAsync(4002, Role.Mapper);
        _dsp = await _host.AddParticipantAsync(4003, Role.IdReader);
        _sharer = await _host.AddParticipantAsync(4004, Role.Sharer);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<string> RawUidFromGenerateAsync(string email)
    {
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email });
        var token = json.GetProperty("body").GetProperty("advertising_token").GetString()!;
        var keys = _host.Services.GetRequiredService<OperatorStateProvider>().Current.Keys;
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, keys, out var decoded));
        return Convert.ToBase64String(decoded!.RawUid);
    }

    [SkippableFact]
    public async Task V2_map_keeps_order_and_reports_invalid_and_opted_out_inputs()
    {
        var expected = await RawUidFromGenerateAsync("mapped.one@example.com");
        var emails = new[] { "Mapped.One@example.com", "not an email", "optout@example.com", "mapped.two@example.com" };
        var (status, json) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = emails });
        Assert.Equal(200, status);
        var body = json.GetProperty("body");
        var mapped = body.GetProperty("mapped").EnumerateArray().ToList();
        Assert.Equal(["Mapped.One@example.com", "mapped.two@example.com"], mapped.Select(m => m.GetProperty("identifier").GetString()));
        Assert.Equal(expected, mapped[0].GetProperty("advertising_id").GetString());
        Assert.False(string.IsNullOrEmpty(mapped[0].GetProperty("bucket_id").GetString()));
        var unmapped = body.GetProperty("unmapped").EnumerateArray().ToList();
        Assert.Equal("not an email", unmapped[0].GetProperty("identifier").GetString());
        Assert.Equal("invalid identifier", unmapped[0].GetProperty("reason").GetString());
        Assert.Equal("optout", unmapped[1].GetProperty("reason").GetString());

        // Hashes map to the same raw UID; no unmapped array when everything mapped.
        var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("mapped.one@example.com")));
        var (_, hashed) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email_hash = new[] { hash } });
        Assert.Equal(expected, hashed.GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString());
        Assert.False(hashed.GetProperty("body").TryGetProperty("unmapped", out _));
    }

    [SkippableFact]
    public async Task V3_map_answers_every_array_in_input_order()
    {
        var expected = await RawUidFromGenerateAsync("v3.user@example.com");
        var (status, json) = await _host.PostV2Async("/v3/identity/map", _advertiser, new
        {
            email = new[] { "v3.user@example.com", "bad", "optout@example.com" },
            phone = new[] { "+12345678901" },
        });
        Assert.Equal(200, status);
        var body = json.GetProperty("body");
        var email = body.GetProperty("email").EnumerateArray().ToList();
        Assert.Equal(3, email.Count);
        Assert.Equal(expected, email[0].GetProperty("u").GetString());
        Assert.Equal(JsonValueKind.Null, email[0].GetProperty("p").ValueKind);
        Assert.True(email[0].GetProperty("r").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("invalid identifier", email[1].GetProperty("e").GetString());
        Assert.Equal("optout", email[2].GetProperty("e").GetString());
        Assert.StartsWith("B", body.GetProperty("phone")[0].GetProperty("u").GetString());
        Assert.Empty(body.GetProperty("email_hash").EnumerateArray());
        Assert.Empty(body.GetProperty("phone_hash").EnumerateArray());
    }

    [SkippableFact]
    public async Task Map_rejects_bad_requests_and_other_roles()
    {
        Assert.Equal(400, (await _host.PostV2Async("/v2/identity/map", _advertiser, new { })).Status);
        Assert.Equal(400, (await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = new[] { "a@b.com" }, phone = new[] { "+12345678901" } })).Status);
        Assert.Equal(400, (await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = "a@b.com" })).Status);
        // As the reference, no item limit: the 1 MiB body bounds a batch.
        var many = Enumerable.Range(0, 5001).Select(i => $"user{i}@example.com").ToArray();
        var (manyStatus, manyJson) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = many });
        Assert.Equal(200, manyStatus);
        Assert.Equal(5001, manyJson.GetProperty("body").GetProperty("mapped").GetArrayLength());
        Assert.Equal(400, (await _host.PostV2Async("/v3/identity/map", _advertiser, new { })).Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/identity/map", _publisher, new { email = new[] { "a@b.com" } })).Status);
    }

    [SkippableFact]
    public async Task Map_of_5000_emails_answers_in_order()
    {
        var emails = Enumerable.Range(0, 5000).Select(i => $"bulk.{i}@example.com").ToArray();
        var (status, json) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = emails });
        Assert.Equal(200, status);
        var mapped = json.GetProperty("body").GetProperty("mapped").EnumerateArray().Select(m => m.GetProperty("identifier").GetString()).ToArray();
        Assert.Equal(emails, mapped);
    }

    [SkippableFact]
    public async Task Buckets_lists_buckets_updated_since()
    {
        var (s1, all) = await _host.PostV2Async("/v2/identity/buckets", _advertiser, new { since_timestamp = "2020-01-01T00:00:00" });
        Assert.Equal(200, s1);
        var buckets = all.GetProperty("body").EnumerateArray().ToList();
        Assert.Equal(4096, buckets.Count);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", buckets[0].GetProperty("last_updated").GetString()!);
        var (_, none) = await _host.PostV2Async("/v2/identity/buckets", _advertiser, new { since_timestamp = "2999-01-01T00:00:00" });
        Assert.Empty(none.GetProperty("body").EnumerateArray());
        Assert.Equal(400, (await _host.PostV2Async("/v2/identity/buckets", _advertiser, new { since_timestamp = "yesterday" })).Status);
    }

    [SkippableFact]
    public async Task Optout_status_reports_opted_out_raw_uids()
    {
        var stays = await RawUidFromGenerateAsync("stays@example.com");
        var leaves = await RawUidFromGenerateAsync("leaves@example.com");
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/logout", _publisher, new { email = "leaves@example.com" })).Status);

        var (status, json) = await _host.PostV2Async("/v2/optout/status", _advertiser, new { advertising_ids = new[] { stays, leaves } });
        Assert.Equal(200, status);
        var optedOut = json.GetProperty("body").GetProperty("opted_out").EnumerateArray().ToList();
        Assert.Single(optedOut);
        Assert.Equal(leaves, optedOut[0].GetProperty("advertising_id").GetString());
        Assert.InRange(optedOut[0].GetProperty("opted_out_since").GetInt64(), before - 1000, before + 60_000);

        var (_, map) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = new[] { "leaves@example.com" } });
        Assert.Equal("optout", map.GetProperty("body").GetProperty("unmapped")[0].GetProperty("reason").GetString());
        // As the reference, each id is looked up on its own: one that is not a raw UID2 is just not opted out.
        var (badStatus, badJson) = await _host.PostV2Async("/v2/optout/status", _advertiser, new { advertising_ids = new[] { "!!", leaves } });
        Assert.Equal(200, badStatus);
        Assert.Single(badJson.GetProperty("body").GetProperty("opted_out").EnumerateArray());
        Assert.Equal(401, (await _host.PostV2Async("/v2/optout/status", _publisher, new { advertising_ids = new[] { stays } })).Status);
    }

    private static KeyRing KeyRingOf(JsonElement body) => new(body.GetProperty("keys").EnumerateArray().Select(k => new EncryptionKey(
        k.GetProperty("id").GetInt32(), 0,
        DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("created").GetInt64()),
        DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("activates").GetInt64()),
        DateTimeOffset.FromUnixTimeSeconds(k.GetProperty("expires").GetInt64()),
        Convert.FromBase64String(k.GetProperty("secret").GetString()!))));

    [SkippableFact]
    public async Task A_dsp_decrypts_publisher_tokens_with_bidstream_keys()
    {
        var (_, gen) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "bidder.sees@example.com" });
        var token = gen.GetProperty("body").GetProperty("advertising_token").GetString()!;

        var (status, json) = await _host.PostV2Async("/v2/key/bidstream", _dsp, null);
        Assert.Equal(200, status);
        var body = json.GetProperty("body");
        Assert.Equal(3600 + 10, body.GetProperty("max_bidstream_lifetime_seconds").GetInt32());
        Assert.Equal("UID2", body.GetProperty("identity_scope").GetString());
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, KeyRingOf(body), out var decoded));
        Assert.Equal(4001, decoded!.SiteId);

        // Refresh keys are never distributed.
        var refreshKeyIds = _host.Services.GetRequiredService<OperatorStateProvider>().Current.Keys.KeysOfSite(ReservedSites.Refresh).Select(k => k.Id);
        var distributed = body.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("id").GetInt32()).ToHashSet();
        Assert.DoesNotContain(refreshKeyIds, distributed.Contains);
        Assert.Equal(401, (await _host.PostV2Async("/v2/key/bidstream", _sharer, null)).Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/key/bidstream", _advertiser, null)).Status);
    }

    [SkippableFact]
    public async Task A_sharer_receives_master_and_its_own_keys_only()
    {
        var (status, json) = await _host.PostV2Async("/v2/key/sharing", _sharer, null);
        Assert.Equal(200, status);
        var body = json.GetProperty("body");
        Assert.Equal(4004, body.GetProperty("caller_site_id").GetInt32());
        Assert.Equal(9999999, body.GetProperty("master_keyset_id").GetInt32());
        Assert.Equal(4004, body.GetProperty("default_keyset_id").GetInt32());
        Assert.Equal("2592000", body.GetProperty("token_expiry_seconds").GetString());
        Assert.Equal(2592010, body.GetProperty("max_sharing_lifetime_seconds").GetInt32());
        var keys = body.GetProperty("keys").EnumerateArray().ToList();
        Assert.All(keys, k => Assert.True(k.TryGetProperty("keyset_id", out var ks) && ks.GetInt32() is 9999999 or 4004));
        Assert.Contains(keys, k => k.GetProperty("keyset_id").GetInt32() == 4004);

        var state = _host.Services.GetRequiredService<OperatorStateProvider>().Current;
        var publisherKeyIds = state.Keys.KeysOfSite(4001).Select(k => k.Id).ToHashSet();
        Assert.DoesNotContain(keys, k => publisherKeyIds.Contains(k.GetProperty("id").GetInt32()));
    }
}

public sealed class IdentityAndKeyEndpointTestsOnSqlite() : IdentityAndKeyEndpointTests(StoreKind.Sqlite);

public sealed class IdentityAndKeyEndpointTestsOnPostgres() : IdentityAndKeyEndpointTests(StoreKind.Postgres);
