using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Operator.Configuration;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>The operator and the store: seeding per environment, and changes written elsewhere reaching a running operator.</summary>
public abstract class StoreIntegrationTests(StoreKind store)
{
    [SkippableFact]
    public async Task Development_seeds_the_documented_demo_publisher()
    {
        await using var host = await OperatorHost.StartAsync("Development", store: store);
        var demo = new DemoParticipantOptions();
        var who = new TestParticipant(demo.SiteId, demo.ApiKey, demo.ClientSecret);
        var (status, v1) = await host.GetAsync("/v1/token/generate?email=demo%40example.com", demo.ApiKey);
        Assert.Equal(200, status);
        Assert.Equal("success", v1.GetProperty("status").GetString());
        var (s2, v2) = await host.PostV2Async("/v2/token/generate", who, new { email = "demo@example.com" });
        Assert.Equal(200, s2);
        Assert.Equal("success", v2.GetProperty("status").GetString());

        // The demo publisher gets its own site key, not only the fallback key.
        var state = host.Services.GetRequiredService<OperatorStateProvider>().Current;
        Assert.NotNull(state.Keys.GetActiveKey(demo.SiteId, DateTimeOffset.UtcNow));
    }

    [SkippableFact]
    public async Task Production_seeds_no_participant_but_creates_keys_and_salts()
    {
        await using var host = await OperatorHost.StartAsync("Production", store: store);
        var demo = new DemoParticipantOptions();
        Assert.Equal(401, (await host.GetAsync("/v1/token/generate?email=demo%40example.com", demo.ApiKey)).Status);
        await using var reader = Uid2StoreFactory.Create(host.ConnectionString);
        var snapshot = await reader.LoadSnapshotAsync(includeOptOuts: false);
        Assert.Empty(snapshot.Participants);
        Assert.Empty(snapshot.ApiKeys);
        Assert.NotNull(snapshot.Salts);
        Assert.Equal(4096, snapshot.Salts!.Buckets.Count);
        Assert.Contains(snapshot.Keys, k => k.SiteId == -1);
        Assert.Contains(snapshot.Keys, k => k.SiteId == -2);
        Assert.Contains(snapshot.Keys, k => k.SiteId == 2);
    }

    [SkippableFact]
    public async Task Admin_cli_participant_and_optout_reach_a_running_operator_within_five_seconds()
    {
        await using var host = await OperatorHost.StartAsync(store: store);
        var output = new StringWriter();
        var exit = await Uid2.Admin.Program.RunAsync(
            ["participant", "create", "--name", "CLI publisher", "--site-id", "3001", "--roles", "generator,optout", "--json",
             "--connection-string", host.ConnectionString], output, new StringWriter());
        Assert.Equal(0, exit);
        var created = JsonDocument.Parse(output.ToString()).RootElement;
        var who = new TestParticipant(created.GetProperty("siteId").GetInt32(), created.GetProperty("apiKey").GetString()!,
            created.GetProperty("secret").GetString()!);

        // The new participant works without a restart.
        var generated = await WaitForAsync(async () =>
        {
            var (status, json) = await host.PostV2Async("/v2/token/generate", who, new { email = "cli.user@example.com" });
            return status == 200 ? json : (JsonElement?)null;
        });
        var body = generated.GetProperty("body");

        var optOutExit = await Uid2.Admin.Program.RunAsync(
            ["optout", "add", "--email", "CLI.User@example.com", "--connection-string", host.ConnectionString], new StringWriter(), new StringWriter());
        Assert.Equal(0, optOutExit);

        var refreshed = await WaitForAsync(async () =>
        {
            var (status, json) = await host.RefreshV2Async(body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString()!);
            return status == 200 && json.GetProperty("status").GetString() == "optout" ? json : (JsonElement?)null;
        });
        Assert.Equal("optout", refreshed.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Salt_rotation_by_the_admin_cli_reaches_a_running_operator()
    {
        await using var host = await OperatorHost.StartAsync(store: store);
        var mapper = await host.AddParticipantAsync(3101, Uid2.Core.Auth.Role.Mapper);
        var (status, before) = await host.PostV2Async("/v3/identity/map", mapper, new { email = new[] { "rotating@example.com" } });
        Assert.Equal(200, status);
        var oldUid = before.GetProperty("body").GetProperty("email")[0].GetProperty("u").GetString();

        var exit = await Uid2.Admin.Program.RunAsync(
            ["salts", "rotate", "--fraction", "1", "--connection-string", host.ConnectionString], new StringWriter(), new StringWriter());
        Assert.Equal(0, exit);

        // Within seconds, without a restart: a new raw UID2, and the old one reported as previous.
        var after = await WaitForAsync(async () =>
        {
            var (s, json) = await host.PostV2Async("/v3/identity/map", mapper, new { email = new[] { "rotating@example.com" } });
            var item = json.GetProperty("body").GetProperty("email")[0];
            return s == 200 && item.GetProperty("u").GetString() != oldUid ? item : (JsonElement?)null;
        });
        Assert.Equal(oldUid, after.GetProperty("p").GetString());
    }

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement?>> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            if (await probe() is { } result) return result;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The operator did not honour the store change within 5 seconds.");
            await Task.Delay(100);
        }
    }
}

public sealed class StoreIntegrationTestsOnSqlite() : StoreIntegrationTests(StoreKind.Sqlite);

public sealed class StoreIntegrationTestsOnPostgres() : StoreIntegrationTests(StoreKind.Postgres);
