using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using Uid2.Core.Keys;
using Uid2.ScaleOut.Infrastructure;
using Uid2.Storage;
using Xunit.Abstractions;
using static Uid2.ScaleOut.Infrastructure.Protocol;

// Each test runs two real operator processes; in parallel on a 2-core machine they would measure each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Uid2.ScaleOut.Tests;

/// <summary>
/// Two operator processes (A and B) on one PostgreSQL database, as a scaled-out deployment runs them: they must agree
/// on keys and salts, honour each other's opt-outs within a second, pick up key rotations, and keep serving (but refuse
/// opt-out writes with 503) while PostgreSQL is unreachable.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    /// <summary>
    /// How long a change may take to reach the other operator before a test gives up: a liveness bound for a busy
    /// machine, not a speed claim. The speed (sub-second p99) is measured by bench/Uid2.Propagation (bench/README.md).
    /// </summary>
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Two_operators_started_together_on_an_empty_store_create_one_salt_set_and_one_key_per_reserved_keyset()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        output.WriteLine($"both healthy after {sw.ElapsedMilliseconds} ms");

        await using var store = Uid2StoreFactory.Create(db.ConnectionString);
        var snapshot = await store.LoadSnapshotAsync();
        Assert.NotNull(snapshot.Salts);
        Assert.Equal(4096, snapshot.Salts!.Buckets.Count);
        Assert.Equal(1L, await CountAsync(db, "SELECT count(*) FROM salt_meta"));
        Assert.Equal(16L, await CountAsync(db, "SELECT count(*) FROM salt_blocks")); // 4,096 buckets in blocks of 256

        var now = DateTimeOffset.UtcNow;
        foreach (var site in new[] { ReservedSites.Master, ReservedSites.Refresh, ReservedSites.FallbackPublisher })
        {
            var keys = snapshot.Keys.Where(k => k.SiteId == site).ToList();
            output.WriteLine($"site {site}: keys {string.Join(",", keys.Select(k => k.Id))}");
            Assert.Single(keys, k => k.IsActiveAt(now));
            Assert.Single(keys);
        }
        Assert.Equal(3, snapshot.Keys.Count);
        Assert.Equal(snapshot.Keys.Count, snapshot.Keys.Select(k => k.Id).Distinct().Count());
    }

    [SkippableFact]
    public async Task A_token_generated_on_A_refreshes_on_B_and_again_on_A_with_the_same_raw_uid()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        var (publisher, reader) = await CreateParticipantsAsync(db.ConnectionString, a, b);

        var generated = await a.GenerateAsync(publisher, "cross.instance@example.com");
        var refreshToken = generated.GetProperty("refresh_token").GetString()!;
        Assert.Equal(388, refreshToken.Length);

        var (status, onB) = await b.RefreshV2Async(refreshToken, generated.GetProperty("refresh_response_key").GetString()!);
        Assert.Equal(200, status);
        Assert.Equal("success", Status(onB));
        var refreshedOnB = onB.GetProperty("body");

        (status, var onA) = await a.RefreshV2Async(refreshedOnB.GetProperty("refresh_token").GetString()!,
            refreshedOnB.GetProperty("refresh_response_key").GetString()!);
        Assert.Equal(200, status);
        Assert.Equal("success", Status(onA));

        var keys = await BidstreamKeysAsync(b, reader);
        var uid0 = Decode(generated.GetProperty("advertising_token").GetString()!, keys);
        var uid1 = Decode(refreshedOnB.GetProperty("advertising_token").GetString()!, keys);
        var uid2 = Decode(onA.GetProperty("body").GetProperty("advertising_token").GetString()!, keys);
        output.WriteLine($"raw UID {uid0.RawUidBase64} (A) / {uid1.RawUidBase64} (B) / {uid2.RawUidBase64} (A)");
        Assert.Equal(publisher.SiteId, uid1.SiteId);
        Assert.Equal(uid0.RawUidBase64, uid1.RawUidBase64);
        Assert.Equal(uid0.RawUidBase64, uid2.RawUidBase64);
        Assert.Equal(uid0.Established, uid2.Established);
    }

    [SkippableFact]
    public async Task An_api_key_revoked_with_the_admin_cli_answers_401_on_both_operators()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        await Task.WhenAll(a.WaitHealthyAsync(TimeSpan.FromSeconds(60)), b.WaitHealthyAsync(TimeSpan.FromSeconds(60)));
        var (publisher, _) = await CreateParticipantsAsync(db.ConnectionString, a, b);
        var keyId = Uid2.Core.Auth.ApiKeys.KeyIdOf(publisher.ApiKey);

        await AdminCli.RunAsync(db.ConnectionString, "apikey", "revoke", "--key-id", keyId);
        // The snapshot delay: NOTIFY reaches both at once; the poll (1 s here) is the bound. Generous for a busy machine.
        foreach (var op in new[] { a, b })
            await EventuallyAsync(async () => (await op.PostV2Async("/v2/token/generate", publisher, new { email = "revoked@example.com" })).Status == 401,
                TimeSpan.FromSeconds(10), $"{op.Name} refuses the revoked key");
        Assert.Contains("apikey.revoke", await AdminCli.RunAsync(db.ConnectionString, "audit", "list"));
    }

    [SkippableFact]
    public async Task An_opt_out_on_A_is_honoured_by_B()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        var (publisher, _) = await CreateParticipantsAsync(db.ConnectionString, a, b);

        // 25 by default; UID2_SCALEOUT_ROUNDS=N for a longer look at the tail.
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("UID2_SCALEOUT_ROUNDS"), out var r) ? r : 25;
        var delays = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            var email = $"propagation.{i}.{Guid.NewGuid():N}@example.com";
            delays.Add((await MeasureOptOutPropagationAsync(a, b, publisher, email, Propagation)).TotalMilliseconds);
        }

        output.WriteLine("in order (ms): " + string.Join(" ", delays.Select(d => d.ToString("F0", CultureInfo.InvariantCulture))));
        if (delays.Any(d => d > 200)) output.WriteLine($"operator A output:\n{a.Output}\noperator B output:\n{b.Output}");
        delays.Sort();
        output.WriteLine(Distribution($"opt-out A→B over {rounds} opt-outs (ms, from the logout's 200 to B's first optout; polled every ~20 ms)", delays));
        Assert.Equal(rounds, delays.Count); // every opt-out reached B (MeasureOptOutPropagationAsync throws otherwise)
    }

    [SkippableFact]
    public async Task A_key_added_to_the_store_is_used_by_both_operators_within_one_second()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        var (publisher, reader) = await CreateParticipantsAsync(db.ConnectionString, a, b);

        var before = Decode((await a.GenerateAsync(publisher, "rotation@example.com")).GetProperty("advertising_token").GetString()!,
            await BidstreamKeysAsync(a, reader));

        // What an administrator's rotation does: a new key for the site, activating now, in one store transaction.
        await using var store = Uid2StoreFactory.Create(db.ConnectionString);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var added = await store.AddKeysAtomicallyAsync(existing =>
            [new EncryptionKey(existing.Max(k => k.Id) + 1, publisher.SiteId, now, now, now.AddDays(30), RandomNumberGenerator.GetBytes(32))]);
        var sw = Stopwatch.StartNew();
        var newKeyId = added.Single().Id;
        Assert.NotEqual(before.SiteKeyId, newKeyId);

        var took = new Dictionary<string, double>();
        await Task.WhenAll(new[] { a, b }.Select(async op =>
        {
            var keys = await BidstreamKeysAsync(op, reader);
            while (true)
            {
                var token = (await op.GenerateAsync(publisher, "rotation@example.com")).GetProperty("advertising_token").GetString()!;
                if (keys.GetById(newKeyId) is null) keys = await BidstreamKeysAsync(op, reader);
                var decoded = Decode(token, keys);
                if (decoded.SiteKeyId == newKeyId) break;
                Assert.Equal(before.SiteKeyId, decoded.SiteKeyId);
                // A liveness bound, not a speed claim (propagation figures: bench/README.md): generous for a busy machine.
                if (sw.Elapsed > Propagation) throw new TimeoutException($"{op.Name} still issues key {decoded.SiteKeyId}");
                await Task.Delay(20);
            }
            lock (took) took[op.Name] = sw.Elapsed.TotalMilliseconds;
        }));
        output.WriteLine($"key {before.SiteKeyId} → {newKeyId}: A after {took["A"]:F0} ms, B after {took["B"]:F0} ms");
        Assert.Equal(2, took.Count); // both issue tokens with the new key (the loop above throws otherwise)
    }

    [SkippableFact]
    public async Task While_PostgreSQL_is_unreachable_tokens_are_served_opt_outs_answer_503_and_after_it_returns_opt_outs_propagate()
    {
        var server = PostgresServer.Require();
        await using var db = await FreshPostgresDatabase.CreateAsync(server);
        var target = db.Builder;
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = db.ConnectionStringVia("127.0.0.1", proxy.Port);
        await using var a = OperatorProcess.Start("A", viaProxy);
        await using var b = OperatorProcess.Start("B", viaProxy);
        OperatorProcess[] both = [a, b];
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        var (publisher, _) = await CreateParticipantsAsync(db.ConnectionString, a, b);
        var identities = new Dictionary<string, JsonElement>();
        foreach (var op in both) identities[op.Name] = await op.GenerateAsync(publisher, $"outage.{op.Name}@example.com");

        await EventuallyAsync(async () => await db.CountListenersAsync() == 2, TimeSpan.FromSeconds(10), "both operators LISTEN", pollMs: 100);
        proxy.Cut();
        output.WriteLine("proxy cut");

        foreach (var op in both)
        {
            var generated = await op.GenerateAsync(publisher, $"during.outage.{op.Name}@example.com");
            Assert.False(string.IsNullOrEmpty(generated.GetProperty("advertising_token").GetString()));
            var other = identities[op.Name == "A" ? "B" : "A"];
            var (status, refreshed) = await op.RefreshV2Async(other.GetProperty("refresh_token").GetString()!, other.GetProperty("refresh_response_key").GetString()!);
            Assert.Equal(200, status);
            Assert.Equal("success", Status(refreshed));
        }

        foreach (var op in both)
        {
            var sw = Stopwatch.StartNew();
            var (status, json) = await op.PostV2Async("/v2/token/logout", publisher, new { email = $"outage.{op.Name}@example.com" });
            output.WriteLine($"{op.Name} logout while cut: {status} {json} after {sw.ElapsedMilliseconds} ms");
            Assert.Equal(503, status);
            Assert.False(string.IsNullOrEmpty(json.GetProperty("status").GetString()));
            Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
        }

        foreach (var op in both)
        {
            var took = await EventuallyAsync(async () =>
            {
                // Health tells the truth: an instance that cannot record an opt-out is not healthy (503, with the reason).
                var (status, text) = await op.HealthAsync();
                return status == 503
                    && (text.StartsWith("store unreachable", StringComparison.Ordinal) || text.StartsWith("durable writes failing", StringComparison.Ordinal));
            }, TimeSpan.FromSeconds(30), $"{op.Name} /ops/healthcheck answers 503 with the reason", pollMs: 50);
            output.WriteLine($"{op.Name} health 503 {took.TotalMilliseconds:F0} ms after the checks above");
        }

        proxy.Restore();
        var restored = Stopwatch.StartNew();
        output.WriteLine("proxy restored");
        foreach (var op in both)
        {
            // The write probe confirms durable writes again (its connection attempts time out after 3 s while the server is away).
            await EventuallyAsync(async () => await op.HealthAsync() is (200, "OK"), TimeSpan.FromSeconds(20), $"{op.Name} health OK again", pollMs: 50);
            output.WriteLine($"{op.Name} health OK {restored.ElapsedMilliseconds} ms after the restore");
        }
        output.WriteLine($"LISTEN sessions at the post-restore logout: {await db.CountListenersAsync()}");

        // A's logout (it was refused during the outage; the client retries) is honoured by B within a second — right after
        // the restore, before the change listeners have necessarily reconnected (the poll covers that gap)…
        var delay = await MeasureOptOutPropagationAsync(a, b, publisher, "outage.A@example.com", Propagation);
        output.WriteLine($"opt-out A→B right after the restore: {delay.TotalMilliseconds:F0} ms");

        // …and once both have re-subscribed to LISTEN/NOTIFY.
        var relisten = await EventuallyAsync(async () => await db.CountListenersAsync() == 2, TimeSpan.FromSeconds(10),
            "both operators LISTEN again", pollMs: 100);
        output.WriteLine($"both LISTEN again {restored.ElapsedMilliseconds} ms after the restore");
        delay = await MeasureOptOutPropagationAsync(a, b, publisher, $"after.outage.{Guid.NewGuid():N}@example.com", Propagation);
        output.WriteLine($"opt-out A→B with listeners back: {delay.TotalMilliseconds:F0} ms");
    }

    /// <summary>
    /// Regression: an operator's own opt-out write must not move its opt-out watermark past rows other operators wrote
    /// just before (not loaded yet), and rows committed out of id order must still be picked up.
    /// </summary>
    [SkippableFact]
    public async Task Opt_outs_written_concurrently_on_both_operators_are_all_honoured_by_both()
    {
        await using var db = await FreshPostgresDatabase.CreateAsync(PostgresServer.Require());
        await using var a = OperatorProcess.Start("A", db.ConnectionString);
        await using var b = OperatorProcess.Start("B", db.ConnectionString);
        await Task.WhenAll(a.WaitHealthyAsync(StartTimeout), b.WaitHealthyAsync(StartTimeout));
        var (publisher, _) = await CreateParticipantsAsync(db.ConnectionString, a, b);

        const int perOperator = 100;
        var run = Guid.NewGuid().ToString("N")[..8];
        var emails = new[] { a, b }.ToDictionary(op => op.Name, op => Enumerable.Range(0, perOperator).Select(i => $"c.{run}.{op.Name}.{i}@example.com").ToArray());
        var identities = new Dictionary<string, JsonElement>();
        foreach (var email in emails.Values.SelectMany(e => e)) identities[email] = await a.GenerateAsync(publisher, email);

        // Both operators take logouts at the same time, four at a time each.
        await Task.WhenAll(new[] { a, b }.Select(op => Parallel.ForEachAsync(emails[op.Name], new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (email, _) =>
            {
                var (status, json) = await op.PostV2Async("/v2/token/logout", publisher, new { email });
                Assert.True(status == 200, $"{op.Name} logout {email}: {status} {json}");
            })));
        var missed = new List<string>();
        foreach (var wait in new[] { 2, 3 }) // two polls on top of the notifications; then three more seconds: still missing?
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
            missed.Clear();
            foreach (var op in new[] { a, b })
                foreach (var (email, identity) in identities)
                {
                    var (_, json) = await op.RefreshV2Async(identity.GetProperty("refresh_token").GetString()!, identity.GetProperty("refresh_response_key").GetString()!);
                    if (Status(json) != "optout") missed.Add($"{op.Name} still refreshes {email}");
                }
            output.WriteLine($"{missed.Count} of {2 * identities.Count} opt-out checks missed (A: {missed.Count(m => m.StartsWith('A'))}, " +
                $"B: {missed.Count(m => m.StartsWith('B'))}) {(wait == 2 ? 2 : 5)} s after the logouts");
        }
        foreach (var m in missed.Take(10)) output.WriteLine(m);
        Assert.Empty(missed);
    }

    // ------------------------------------------------------------------------------------------------------------------

    private static async Task<(Credentials Publisher, Credentials Reader)> CreateParticipantsAsync(string connectionString, params OperatorProcess[] ops)
    {
        var publisher = await AdminCli.CreateParticipantAsync(connectionString, 101, "generator,optout");
        var reader = await AdminCli.CreateParticipantAsync(connectionString, 202, "mapper,id_reader");
        await WaitKnownAsync(ops, publisher, "/v2/token/generate", new { email = "warm.up@example.com" }, TimeSpan.FromSeconds(10));
        await WaitKnownAsync(ops, reader, "/v2/key/bidstream", null, TimeSpan.FromSeconds(10));
        return (publisher, reader);
    }

    /// <summary>
    /// Generates on A, checks B refreshes it, logs out on A, then refreshes on B every ~20 ms until it answers optout.
    /// Returns the time from A acknowledging the logout to B's first optout.
    /// </summary>
    internal static async Task<TimeSpan> MeasureOptOutPropagationAsync(OperatorProcess a, OperatorProcess b, Credentials publisher, string email, TimeSpan timeout)
    {
        var identity = await a.GenerateAsync(publisher, email);
        var token = identity.GetProperty("refresh_token").GetString()!;
        var key = identity.GetProperty("refresh_response_key").GetString()!;
        var (status, before) = await b.RefreshV2Async(token, key);
        if (status != 200 || Status(before) != "success") throw new InvalidOperationException($"B refresh before the opt-out: {status} {before}");

        var (logoutStatus, logout) = await a.PostV2Async("/v2/token/logout", publisher, new { email });
        if (logoutStatus != 200) throw new InvalidOperationException($"A logout: {logoutStatus} {logout}");
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var (s, json) = await b.RefreshV2Async(token, key);
            if (s == 200 && Status(json) == "optout") return sw.Elapsed;
            if (s != 200) throw new InvalidOperationException($"B refresh while waiting for the opt-out: {s} {json}");
            if (sw.Elapsed > timeout) throw new TimeoutException($"B still refreshes {email} {timeout.TotalSeconds:F0} s after A's logout");
            await Task.Delay(20);
        }
    }

    internal static double Percentile(IReadOnlyList<double> sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    internal static string Distribution(string title, IReadOnlyList<double> sorted) => string.Create(CultureInfo.InvariantCulture,
        $"{title}: n={sorted.Count} min={sorted[0]:F1} p50={Percentile(sorted, 0.5):F1} p90={Percentile(sorted, 0.9):F1} " +
        $"p99={Percentile(sorted, 0.99):F1} max={sorted[^1]:F1}; all: {string.Join(" ", sorted.Select(d => d.ToString("F0", CultureInfo.InvariantCulture)))}");

    private static async Task<long> CountAsync(FreshPostgresDatabase db, string sql)
    {
        await using var conn = new NpgsqlConnection(db.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
