using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Client;
using Uid2.Core.Auth;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Operate it for real": what an operator does with the admin CLI against a running operator — rotating a
/// client secret with an overlap, rotating and retiring keys, scheduled salt rotation, and the restore drill (back up,
/// destroy the store, restore: a token issued before the loss still refreshes and decrypts). On SQLite and PostgreSQL.
/// </summary>
public abstract class OperationsTests(StoreKind store) : IAsyncLifetime
{
    private OperatorHost _host = null!;

    public async Task InitializeAsync() => _host = await OperatorHost.StartAsync(store: store);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<JsonElement> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Uid2.Admin.Program.RunAsync(["--connection-string", _host.ConnectionString, "--json", .. args], output, error, _host.Time);
        Assert.True(exit == 0, $"uid2-admin {string.Join(' ', args)} failed: {error}");
        var json = JsonDocument.Parse(output.ToString()).RootElement.Clone();
        return json;
    }

    private async Task<(int Exit, string Error)> CliFailsAsync(params string[] args)
    {
        var error = new StringWriter();
        var exit = await Uid2.Admin.Program.RunAsync(["--connection-string", _host.ConnectionString, .. args], new StringWriter(), error, _host.Time);
        return (exit, error.ToString());
    }

    private Task ReloadAsync() => _host.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);

    private async Task<TestParticipant> CreateAsync(int siteId, string roles)
    {
        var created = await CliAsync("participant", "create", "--name", $"Site {siteId}", "--site-id", siteId.ToString(), "--roles", roles);
        var who = new TestParticipant(siteId, created.GetProperty("apiKey").GetString()!, created.GetProperty("secret").GetString()!);
        _host.AddKnownSecrets(who.ApiKey, who.Secret);
        await ReloadAsync();
        return who;
    }

    private static readonly object Email = new { email = "ops.user@example.com" };

    [SkippableFact]
    public async Task A_rotated_client_secret_keeps_the_old_one_working_until_the_overlap_ends()
    {
        var publisher = await CreateAsync(7101, "generator");
        var keyId = ApiKeys.KeyIdOf(publisher.ApiKey);
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", publisher, Email)).Status);

        var rotated = await CliAsync("secret", "rotate", "--key-id", keyId, "--overlap", "1h");
        var fresh = publisher with { Secret = rotated.GetProperty("secret").GetString()! };
        _host.AddKnownSecrets(fresh.Secret);
        Assert.NotEqual(publisher.Secret, fresh.Secret);
        await ReloadAsync();

        // Both secrets work during the overlap, and each reply is sealed with the secret the request used (PostV2Async checks).
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", publisher, Email)).Status);
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", fresh, Email)).Status);
        var listed = (await CliAsync("apikey", "list", "--site-id", "7101")).GetProperty("apiKeys")[0];
        Assert.True(listed.TryGetProperty("previousSecretAcceptedUntil", out _));
        Assert.DoesNotContain(fresh.Secret, listed.GetRawText());

        _host.Time.Advance(TimeSpan.FromMinutes(61));
        var (status, json) = await _host.PostV2Async("/v2/token/generate", publisher, Email);
        Assert.Equal(400, status);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", fresh, Email)).Status);

        // No overlap: the previous secret stops at once.
        var immediate = publisher with { Secret = (await CliAsync("secret", "rotate", "--key-id", keyId, "--overlap", "0")).GetProperty("secret").GetString()! };
        _host.AddKnownSecrets(immediate.Secret);
        await ReloadAsync();
        Assert.Equal(400, (await _host.PostV2Async("/v2/token/generate", fresh, Email)).Status);
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", immediate, Email)).Status);

        var refused = await CliFailsAsync("secret", "rotate", "--key-id", keyId, "--overlap", "365d");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("overlap", refused.Error);
        var audit = (await CliAsync("audit", "list")).GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(3, audit.Count(e => e.GetProperty("action").GetString() == "secret.rotate"));
        Assert.Contains(audit, e => e.GetProperty("action").GetString() == "secret.rotate" && e.GetProperty("outcome").GetString()!.StartsWith("refused"));
        Assert.DoesNotContain(audit, e => e.GetRawText().Contains(fresh.Secret) || e.GetRawText().Contains(immediate.Secret));
    }

    [SkippableFact]
    public async Task Keys_are_listed_rotated_and_retired_and_keysets_shown()
    {
        var publisher = await CreateAsync(7102, "generator");
        var dsp = await CreateAsync(7103, "id_reader");
        var before = (await CliAsync("key", "list", "--site-id", "7102")).GetProperty("keys").EnumerateArray().ToList();
        var original = Assert.Single(before);
        Assert.Equal("active", original.GetProperty("state").GetString());
        Assert.False(original.TryGetProperty("secret", out _));

        var rotated = (await CliAsync("key", "rotate", "--site-id", "7102")).GetProperty("added")[0];
        var newId = rotated.GetProperty("id").GetInt32();
        Assert.True(newId > original.GetProperty("id").GetInt32());
        await ReloadAsync();

        var generated = await _host.PostV2Async("/v2/token/generate", publisher, Email);
        Assert.Equal(200, generated.Status);
        var token = generated.Json.GetProperty("body").GetProperty("advertising_token").GetString()!;
        var bidder = new BidstreamClient(_host.BaseAddress, dsp.ApiKey, dsp.Secret);
        Assert.True((await bidder.RefreshAsync()).Success);
        var seen = bidder.Decrypt(token, _host.Time.GetUtcNow());
        Assert.Equal(DecryptionStatus.Success, seen.Status);

        // Retire the key the token was encrypted with: it expires and the keyset gets a new active key; tokens issued
        // with it still decrypt (they live longer than a key stays active), new ones use the new key.
        var retired = await CliAsync("key", "retire", "--key-id", newId.ToString());
        Assert.Equal(newId, retired.GetProperty("retired").GetInt32());
        Assert.Equal(0, retired.GetProperty("added").GetArrayLength()); // the original key is still active: nothing to add
        var after = (await CliAsync("key", "list", "--site-id", "7102", "--all")).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal("expired", after.Single(k => k.GetProperty("id").GetInt32() == newId).GetProperty("state").GetString());
        Assert.Equal("active", after.Single(k => k.GetProperty("id").GetInt32() == original.GetProperty("id").GetInt32()).GetProperty("state").GetString());
        await ReloadAsync();
        Assert.True((await bidder.RefreshAsync()).Success);
        Assert.Equal(DecryptionStatus.Success, bidder.Decrypt(token, _host.Time.GetUtcNow()).Status);
        var next = (await _host.PostV2Async("/v2/token/generate", publisher, Email)).Json.GetProperty("body").GetProperty("advertising_token").GetString()!;
        Assert.Equal(DecryptionStatus.Success, bidder.Decrypt(next, _host.Time.GetUtcNow()).Status);

        // Revoke it (a leaked key): no longer shared, so the token encrypted with it stops decrypting; the new one still does.
        await CliAsync("key", "retire", "--key-id", newId.ToString(), "--revoke");
        await ReloadAsync();
        Assert.True((await bidder.RefreshAsync()).Success);
        Assert.NotEqual(DecryptionStatus.Success, bidder.Decrypt(token, _host.Time.GetUtcNow()).Status);
        Assert.Equal(DecryptionStatus.Success, bidder.Decrypt(next, _host.Time.GetUtcNow()).Status);

        var keysets = (await CliAsync("keyset", "list")).GetProperty("keysets").EnumerateArray().ToList();
        Assert.Contains(keysets, k => k.GetProperty("keysetId").GetInt32() == 9_999_999 && k.GetProperty("name").GetString() == "master");
        var own = keysets.Single(k => k.GetProperty("keysetId").GetInt32() == 7102);
        Assert.Equal("Site 7102", own.GetProperty("owner").GetString());
        var shown = (await CliAsync("keyset", "show", "--keyset-id", "7102")).GetProperty("keyset");
        Assert.Equal(original.GetProperty("id").GetInt32(), shown.GetProperty("keys").EnumerateArray().Single().GetProperty("id").GetInt32()); // the revoked key is gone
        Assert.Equal(original.GetProperty("id").GetInt32(), shown.GetProperty("activeKeyId").GetInt32());
        Assert.Equal(1, (await CliFailsAsync("key", "retire", "--key-id", "999999")).Exit);
    }

    [SkippableFact]
    public async Task Salts_rotate_on_schedule_once_per_interval_oldest_buckets_first()
    {
        await using var s = Uid2StoreFactory.Create(_host.ConnectionString);
        await s.InitializeAsync();
        var maintenance = _host.Services.GetRequiredService<KeyMaintenanceService>();
        var initial = (await s.LoadSnapshotAsync(includeOptOuts: false)).Salts!;

        await maintenance.RunOnceAsync(CancellationToken.None); // not due: the salts are new
        Assert.Equal(initial.Buckets.Select(b => b.CurrentSalt), (await s.LoadSnapshotAsync(includeOptOuts: false)).Salts!.Buckets.Select(b => b.CurrentSalt));

        _host.Time.Advance(TimeSpan.FromHours(25));
        await maintenance.RunOnceAsync(CancellationToken.None);
        var first = (await s.LoadSnapshotAsync(includeOptOuts: false)).Salts!;
        var changed = Enumerable.Range(0, first.Buckets.Count).Where(i => first.Buckets[i].CurrentSalt != initial.Buckets[i].CurrentSalt).ToList();
        Assert.Equal((int)Math.Ceiling(initial.Buckets.Count / 365.0), changed.Count); // 4096 buckets: 12 a day
        Assert.All(changed, i => Assert.Equal(initial.Buckets[i].CurrentSalt, first.Buckets[i].PreviousSalt));

        await maintenance.RunOnceAsync(CancellationToken.None); // same day: nothing more
        Assert.Equal(first.Buckets.Select(b => b.CurrentSalt), (await s.LoadSnapshotAsync(includeOptOuts: false)).Salts!.Buckets.Select(b => b.CurrentSalt));

        _host.Time.Advance(TimeSpan.FromHours(25));
        await maintenance.RunOnceAsync(CancellationToken.None);
        var second = (await s.LoadSnapshotAsync(includeOptOuts: false)).Salts!;
        var changedAgain = Enumerable.Range(0, second.Buckets.Count).Where(i => second.Buckets[i].CurrentSalt != first.Buckets[i].CurrentSalt).ToList();
        Assert.Equal(changed.Count, changedAgain.Count);
        Assert.Empty(changedAgain.Intersect(changed)); // the oldest go first: never the ones just re-salted

        var status = await CliAsync("salt", "status");
        Assert.Equal(initial.Buckets.Count, status.GetProperty("buckets").GetInt32());
        Assert.Equal(2 * changed.Count, status.GetProperty("rotatedLastYear").GetInt32());
        var audit = (await CliAsync("audit", "list")).GetProperty("entries").EnumerateArray();
        Assert.Equal(2, audit.Count(e => e.GetProperty("action").GetString() == "salt.rotate-scheduled" && e.GetProperty("actor").GetString() == "operator:scheduler"));
    }

    [SkippableFact]
    public async Task Restore_drill_a_token_issued_before_the_store_was_lost_still_refreshes_and_decrypts()
    {
        var publisher = await CreateAsync(7104, "generator,optout");
        var dsp = await CreateAsync(7105, "id_reader");
        await CliAsync("optout", "add", "--email", "gone@example.com");
        await CliAsync("secret", "rotate", "--key-id", ApiKeys.KeyIdOf(publisher.ApiKey), "--overlap", "2h");
        await ReloadAsync();
        var generated = await _host.PostV2Async("/v2/token/generate", publisher, Email);
        Assert.Equal(200, generated.Status);
        var body = generated.Json.GetProperty("body");
        var bidder = new BidstreamClient(_host.BaseAddress, dsp.ApiKey, dsp.Secret);
        Assert.True((await bidder.RefreshAsync()).Success);
        var uidBefore = bidder.Decrypt(body.GetProperty("advertising_token").GetString()!, _host.Time.GetUtcNow()).Uid;
        Assert.NotNull(uidBefore);

        var file = Path.Combine(Path.GetTempPath(), "uid2-backup-" + Guid.NewGuid().ToString("N") + ".bak");
        try
        {
            var backup = await CliAsync("backup", "create", "--out", file);
            Assert.Equal(1, backup.GetProperty("optOuts").GetInt32());
            Assert.Equal(2, backup.GetProperty("participants").GetInt32());
            var raw = await File.ReadAllBytesAsync(file);
            Assert.False(raw.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(publisher.Secret)) >= 0, "the backup holds a client secret in clear");
            Assert.False(raw.AsSpan().IndexOf("Site 7104"u8) >= 0, "the backup is not sealed");
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

            await _host.RestartAsync(whileStopped: async () =>
            {
                await _host.DestroyStoreAsync();
                var restored = await CliAsync("backup", "restore", "--file", file);
                Assert.Equal(1, restored.GetProperty("optOuts").GetInt32());
                // Restoring twice is refused: only into an empty store.
                var again = await CliFailsAsync("backup", "restore", "--file", file);
                Assert.Equal(1, again.Exit);
                Assert.Contains("not empty", again.Error);
            });

            var refreshed = await _host.RefreshV2Async(body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString());
            Assert.Equal(200, refreshed.Status);
            Assert.Equal("success", refreshed.Json.GetProperty("status").GetString());
            var bidderAfter = new BidstreamClient(_host.BaseAddress, dsp.ApiKey, dsp.Secret);
            Assert.True((await bidderAfter.RefreshAsync()).Success);
            Assert.Equal(uidBefore, bidderAfter.Decrypt(body.GetProperty("advertising_token").GetString()!, _host.Time.GetUtcNow()).Uid);
            Assert.Equal(uidBefore, bidderAfter.Decrypt(refreshed.Json.GetProperty("body").GetProperty("advertising_token").GetString()!, _host.Time.GetUtcNow()).Uid);
            // The opt-out and the rotated secret's overlap survived too.
            var optedOut = await _host.PostV2Async("/v2/token/generate", publisher, new { email = "gone@example.com" });
            Assert.Equal("optout", optedOut.Json.GetProperty("status").GetString());
            Assert.True((await CliAsync("optout", "lookup", "--email", "gone@example.com")).GetProperty("optedOut").GetBoolean());

            // A damaged or truncated backup is refused and writes nothing.
            await File.WriteAllBytesAsync(file + ".short", raw[..^40]);
            raw[^5] ^= 1;
            await File.WriteAllBytesAsync(file + ".bad", raw);
            var damaged = await CliFailsAsync("backup", "verify", "--file", file + ".bad");
            Assert.Equal(1, damaged.Exit);
            Assert.Contains("backup", damaged.Error);
            var truncated = await CliFailsAsync("backup", "verify", "--file", file + ".short");
            Assert.Equal(1, truncated.Exit);
        }
        finally
        {
            File.Delete(file);
            File.Delete(file + ".bad");
            File.Delete(file + ".short");
        }
    }
}

public sealed class SqliteOperationsTests() : OperationsTests(StoreKind.Sqlite);

public sealed class PostgresOperationsTests() : OperationsTests(StoreKind.Postgres);
