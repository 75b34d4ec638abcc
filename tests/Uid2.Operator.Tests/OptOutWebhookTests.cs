using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Uid2.Core.Auth;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// A DSP's opt-out endpoint on loopback (a real Kestrel): records every request, and answers as the test says —
/// 200, an error status, or not at all (hangs until the caller gives up).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string User, long Time)> _acknowledged = new();
    private int _requests;

    /// <summary>Decides the answer to the n-th request (1-based): a status code, or null to hang.</summary>
    public Func<int, int?> Behaviour { get; set; } = _ => 200;

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The opt-outs answered with 200, in the order they arrived.</summary>
    public IReadOnlyList<(string User, long Time)> Acknowledged => _acknowledged.ToArray();

    public Uri BaseAddress { get; private set; } = null!;

    private WebhookReceiver(WebApplication app) => _app = app;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapMethods("/optout", ["GET", "POST"], async (HttpContext http) =>
        {
            var n = Interlocked.Increment(ref receiver._requests);
            if (receiver.Behaviour(n) is not { } status)
            {
                await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                return Results.StatusCode(599);
            }
            if (status == 200)
                receiver._acknowledged.Enqueue((http.Request.Query["user"].ToString(), long.Parse(http.Request.Query["optouttime"].ToString())));
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        receiver.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    public string Template => new Uri(BaseAddress, "/optout").ToString() + "?user=%%identity%%&optouttime=%%timestamp%%";

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// Opt-out webhooks for DSPs (uid2docs DSP integration guide, "Honor user opt-outs"): every opt-out, whatever its source,
/// reaches every configured DSP at least once and in order, through the store's outbox.
/// </summary>
public abstract class OptOutWebhookTests(StoreKind store) : IAsyncLifetime
{
    /// <summary>Short timeouts and back-off, so failures and recoveries happen within a test.</summary>
    private static readonly Dictionary<string, string?> FastDelivery = new()
    {
        ["Uid2:OptOutWebhooks:PollIntervalMilliseconds"] = "100",
        ["Uid2:OptOutWebhooks:RequestTimeoutSeconds"] = "1",
        ["Uid2:OptOutWebhooks:QuickRetries"] = "0",
        ["Uid2:OptOutWebhooks:InitialBackoffSeconds"] = "0.2",
        ["Uid2:OptOutWebhooks:MaxBackoffSeconds"] = "1",
    };

    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _advertiser = null!;
    private readonly List<IAsyncDisposable> _disposables = [];

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store, settings: FastDelivery);
        _publisher = await _host.AddParticipantAsync(7001, Role.Generator | Role.Optout);
        _advertiser = await _host.AddParticipantAsync(7002, Role.Mapper);
        await _host.AddParticipantAsync(7101, Role.IdReader);
        await _host.AddParticipantAsync(7102, Role.IdReader);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_disposables)) await d.DisposeAsync();
        await _host.DisposeAsync();
    }

    private async Task<WebhookReceiver> ReceiverForAsync(int dspSite)
    {
        var receiver = await WebhookReceiver.StartAsync();
        _disposables.Add(receiver);
        await using var s = Uid2StoreFactory.Create(_host.ConnectionString);
        await ((IStoreOptOutWebhooks)s).SetOptOutWebhookAsync(new OptOutWebhook(dspSite, receiver.Template, "GET", true), DateTimeOffset.UtcNow);
        return receiver;
    }

    private async Task<IReadOnlyList<OptOutWebhookStatus>> StatusAsync()
    {
        await using var s = Uid2StoreFactory.Create(_host.ConnectionString);
        return await ((IStoreOptOutWebhooks)s).ListOptOutWebhooksAsync();
    }

    /// <summary>Logs a user out through the publisher API; returns the raw UID2 (base64) the DSP must be told about.</summary>
    private async Task<string> LogoutAsync(string email)
    {
        var (_, map) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = new[] { email } });
        var rawUid = map.GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()!;
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/logout", _publisher, new { email })).Status);
        return rawUid;
    }

    protected static async Task WaitUntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "gave up waiting: " + what);
            await Task.Delay(50);
        }
    }

    [SkippableFact]
    public async Task Every_opt_out_from_every_source_reaches_every_dsp_once_in_order()
    {
        var first = await ReceiverForAsync(7101);
        var second = await ReceiverForAsync(7102);
        var expected = new List<string>();
        for (var i = 0; i < 5; i++) expected.Add(await LogoutAsync($"leaving.{i}@example.com"));

        // Another source: an opt-out written straight to the store (what the admin CLI does) is queued the same way.
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            var raw = new byte[32];
            raw[0] = 42;
            await s.AddOptOutAsync(System.Security.Cryptography.SHA256.HashData("admin-cli"u8), raw, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
            expected.Add(Convert.ToBase64String(raw));
        }

        foreach (var r in new[] { first, second })
        {
            await WaitUntilAsync(() => r.Acknowledged.Count >= expected.Count, "every opt-out delivered " + r.Requests + " " + string.Join("\n", _host.Logs.Lines.Where(l => l.Contains("ebhook") || l.Contains("Exception")).Take(20)));
            Assert.Equal(expected, r.Acknowledged.Select(a => a.User)); // in order, each once (the query value arrives decoded)
            Assert.Equal(1_700_000_000, r.Acknowledged[^1].Time);
            Assert.InRange(r.Acknowledged[0].Time, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        }
        await WaitUntilAsync(() => StatusAsync().Result.All(w => w.Backlog == 0 && w.Delivered == expected.Count), "outbox empty, counters moved");
        Assert.Equal(expected.Count, first.Requests);
    }

    [SkippableFact]
    public async Task A_dsp_answering_500_receives_everything_in_order_once_it_recovers()
    {
        var receiver = await ReceiverForAsync(7101);
        var down = true;
        receiver.Behaviour = _ => down ? 500 : 200;
        var expected = new List<string>();
        for (var i = 0; i < 3; i++) expected.Add(await LogoutAsync($"while.down.{i}@example.com"));

        await WaitUntilAsync(() => receiver.Requests >= 3, "several attempts while the DSP is down");
        var failing = (await StatusAsync()).Single();
        Assert.Equal(3, failing.Backlog);
        Assert.True(failing.ConsecutiveFailures >= 1);
        Assert.Equal("HTTP 500", failing.LastError);
        Assert.Empty(receiver.Acknowledged);

        down = false;
        expected.Add(await LogoutAsync("after.recovery@example.com"));
        await WaitUntilAsync(() => receiver.Acknowledged.Count >= expected.Count, "everything delivered after recovery");
        Assert.Equal(expected, receiver.Acknowledged.Select(a => a.User));
        await WaitUntilAsync(() => StatusAsync().Result.Single() is { Backlog: 0, ConsecutiveFailures: 0 }, "the failure streak ends");
        Assert.True((await StatusAsync()).Single().FailedAttempts >= 3);
    }

    [SkippableFact]
    public async Task A_dsp_that_hangs_times_out_and_is_retried()
    {
        var receiver = await ReceiverForAsync(7101);
        receiver.Behaviour = n => n <= 2 ? null : 200; // the first two requests never get an answer
        var rawUid = await LogoutAsync("slow.dsp@example.com");

        await WaitUntilAsync(() => receiver.Acknowledged.Count == 1, "delivered after the timeouts");
        Assert.Equal(rawUid, receiver.Acknowledged.Single().User);
        Assert.True(receiver.Requests >= 3);
        var status = (await StatusAsync()).Single();
        Assert.True(status.FailedAttempts >= 2);
        Assert.Equal("timed out", status.LastError);
    }

    [SkippableFact]
    public async Task An_operator_stopped_mid_delivery_delivers_after_restart()
    {
        var receiver = await ReceiverForAsync(7101);
        var hang = true;
        receiver.Behaviour = _ => hang ? null : 200;
        var rawUid = await LogoutAsync("interrupted@example.com");
        await WaitUntilAsync(() => receiver.Requests >= 1, "a request in flight");

        // Stopped while its request hangs; the store still holds the opt-out (and the dead instance's lease).
        await _host.RestartAsync(FastDelivery, whileStopped: () =>
        {
            hang = false;
            _host.Time.Advance(TimeSpan.FromMinutes(1)); // the restarted instance is a new lease owner: the old lease must lapse
            return Task.CompletedTask;
        });
        await WaitUntilAsync(() => receiver.Acknowledged.Count == 1, "delivered after the restart");
        Assert.Equal(rawUid, receiver.Acknowledged.Single().User);
    }

    [SkippableFact]
    public async Task The_admin_cli_view_masks_the_url_and_a_disabled_webhook_queues_nothing()
    {
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
            await ((IStoreOptOutWebhooks)s).SetOptOutWebhookAsync(
                new OptOutWebhook(7102, "https://dsp.example/optout?token=s3cr3t&user=%%identity%%", "GET", false), DateTimeOffset.UtcNow);
        await LogoutAsync("not.queued@example.com");
        var status = (await StatusAsync()).Single();
        Assert.Equal(0, status.Backlog);
        Assert.Equal("https://dsp.example/optout?…", OptOutWebhookUrls.Mask(status.Webhook.UrlTemplate));
        Assert.Equal("https://…@dsp.example/x", OptOutWebhookUrls.Mask("https://user:pw@dsp.example/x"));
        Assert.NotNull(OptOutWebhookUrls.Validate("http://dsp.example/optout?u=%%identity%%"));   // http off loopback
        Assert.NotNull(OptOutWebhookUrls.Validate("https://dsp.example/optout"));                 // no identity
        Assert.Null(OptOutWebhookUrls.Validate("https://dsp.example/optout?u=%%identity%%&t=%%timestamp%%"));
        Assert.Equal("https://d.example/o?u=AQID%2B%2F8%3D&t=1700000000",
            OptOutWebhookUrls.Expand("https://d.example/o?u=%%identity%%&t=%%timestamp%%", [1, 2, 3, 0xFB, 0xFF], DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)));
    }
}

public sealed class OptOutWebhookTestsOnSqlite() : OptOutWebhookTests(StoreKind.Sqlite);

public sealed class OptOutWebhookTestsOnPostgres() : OptOutWebhookTests(StoreKind.Postgres)
{
    /// <summary>Two operators on one PostgreSQL database: each opt-out reaches each DSP once, not once per instance.</summary>
    [SkippableFact]
    public async Task Two_instances_deliver_each_opt_out_once_per_dsp()
    {
        await using var host = await OperatorHost.StartAsync(store: StoreKind.Postgres, settings: new()
        {
            ["Uid2:OptOutWebhooks:PollIntervalMilliseconds"] = "20",
        });
        await using var peer = await host.StartPeerAsync(new() { ["Uid2:OptOutWebhooks:PollIntervalMilliseconds"] = "20" });
        var publisher = await host.AddParticipantAsync(7201, Role.Generator | Role.Optout);
        await host.AddParticipantAsync(7202, Role.IdReader);
        await host.AddParticipantAsync(7203, Role.IdReader);
        await host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
        await using var a = await WebhookReceiver.StartAsync();
        await using var b = await WebhookReceiver.StartAsync();
        await using (var s = Uid2StoreFactory.Create(host.ConnectionString))
        {
            await ((IStoreOptOutWebhooks)s).SetOptOutWebhookAsync(new OptOutWebhook(7202, a.Template, "GET", true), DateTimeOffset.UtcNow);
            await ((IStoreOptOutWebhooks)s).SetOptOutWebhookAsync(new OptOutWebhook(7203, b.Template, "POST", true), DateTimeOffset.UtcNow);
        }
        await peer.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);

        // Logouts through both instances, interleaved.
        const int count = 40;
        for (var i = 0; i < count; i++)
        {
            var via = i % 2 == 0 ? host : peer;
            Assert.Equal(200, (await via.PostV2Async("/v2/token/logout", publisher, new { email = $"both.{i}@example.com" })).Status);
        }
        await WaitUntilAsync(() => a.Acknowledged.Count >= count && b.Acknowledged.Count >= count, "all delivered");
        await Task.Delay(500); // a duplicate, if any, would arrive now
        foreach (var r in new[] { a, b })
        {
            Assert.Equal(count, r.Requests);
            Assert.Equal(count, r.Acknowledged.Select(x => x.User).Distinct().Count());
        }
    }
}
