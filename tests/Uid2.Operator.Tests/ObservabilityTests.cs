using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Operate it for real": Prometheus metrics on their own port, never on the public one.
/// Runs alone: OpenTelemetry listens to meters by name, so the operators other test classes run in this process at the
/// same time would add to the exact counts asserted here.
/// </summary>
[Collection(nameof(ObservabilityTests))]
public sealed class ObservabilityTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Metrics_are_served_on_the_metrics_port_only_and_count_what_the_operator_does()
    {
        var metricsPort = FreePort();
        var publicPort = FreePort();
        await using var host = await OperatorHost.StartAsync(settings: new()
        {
            ["urls"] = $"http://127.0.0.1:{publicPort};http://127.0.0.1:{metricsPort}",
            ["Uid2:MetricsPort"] = metricsPort.ToString(),
        });
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Contains($"http://127.0.0.1:{metricsPort}", addresses);

        var publisher = await host.AddParticipantAsync(8001, Role.Generator | Role.Optout | Role.Mapper);
        var (_, generated) = await host.PostV2Async("/v2/token/generate", publisher, new { email = "metrics@example.com" });
        var body = generated.GetProperty("body");
        Assert.Equal(200, (await host.RefreshV2Async(body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString())).Status);
        Assert.Equal(200, (await host.PostV2Async("/v2/token/logout", publisher, new { email = "metrics.out@example.com" })).Status);
        Assert.Equal(200, (await host.PostV2Async("/v2/identity/map", publisher, new { email = new[] { "a@example.com", "not an email", "optout@example.com" } })).Status);

        using var http = new HttpClient();
        using (var onPublic = await http.GetAsync($"http://127.0.0.1:{publicPort}/metrics"))
            Assert.Equal(404, (int)onPublic.StatusCode);

        string text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
            return text.Contains("uid2_optouts_recorded_total");
        }, TimeSpan.FromSeconds(30), "metrics exported");

        Assert.Matches(@"uid2_tokens_total\{[^}]*operation=""generate""[^}]*outcome=""success""[^}]*\} 1", text);
        Assert.Matches(@"uid2_tokens_total\{[^}]*operation=""refresh""[^}]*outcome=""success""[^}]*\} 1", text);
        Assert.Matches(@"uid2_optouts_recorded_total(\{[^}]*\})? 1", text);
        Assert.Matches(@"uid2_identity_map_identities_total\{[^}]*outcome=""mapped""[^}]*\} 1", text);
        Assert.Matches(@"uid2_identity_map_identities_total\{[^}]*outcome=""invalid""[^}]*\} 1", text);
        Assert.Matches(@"uid2_identity_map_identities_total\{[^}]*outcome=""optout""[^}]*\} 1", text);
        Assert.Matches(@"uid2_store_write_duration_seconds_count\{[^}]*operation=""optout""[^}]*\} 1", text);
        Assert.Matches(@"uid2_key_active_age_seconds\{[^}]*kind=""master""", text);
        Assert.Matches(@"uid2_salt_rotation_age_seconds\{[^}]*which=""oldest""", text);
        Assert.Contains("uid2_snapshot_age_seconds", text);
        Assert.Matches(@"uid2_salt_buckets(\{[^}]*\})? 4096", text);
        Assert.Contains("uid2_keys", text);
        Assert.Contains("uid2_optouts", text);
        // ASP.NET Core's request metrics, by route and status, tagged with the caller's site.
        Assert.Matches(@"http_server_request_duration_seconds_bucket\{[^}]*http_route=""/v2/token/generate""[^}]*uid2_site_id=""8001""", text);
        // Streams updated on every request that are dropped for their cost (bench/README.md), while Kestrel's others stay.
        Assert.DoesNotContain("aspnetcore_memory_pool_rented", text);
        Assert.DoesNotContain("aspnetcore_memory_pool_pooled", text);
        Assert.DoesNotContain("aspnetcore_routing_match_attempts", text);
        Assert.Contains("kestrel_active_connections", text);
        // No identity or secret in any label.
        Assert.DoesNotContain("metrics@example.com", text);
        Assert.DoesNotContain(publisher.ApiKey, text);

        // Every metric the Grafana dashboard (deploy/grafana/dashboards) queries is one this operator exports.
        var dashboard = DashboardQueries();
        Assert.NotEmpty(dashboard);
        // Metric names only: label selectors {…} and grouping clauses by (…) name labels.
        var names = dashboard
            .Select(q => System.Text.RegularExpressions.Regex.Replace(q, @"\{[^}]*\}|\bby \([^)]*\)", ""))
            .SelectMany(q => System.Text.RegularExpressions.Regex.Matches(q, @"\b(?:uid2|http_server)_[a-z0-9_]+").Select(m => m.Value))
            .Distinct().ToList();
        Assert.True(names.Count >= 10, string.Join(", ", names));
        foreach (var name in names.Where(n => n != "uid2_store_write_failures_total")) // exported after a first failure only
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(text, $@"(?m)^{name}[{{ ]"), $"the dashboard queries {name}, which the operator does not export");
    }

    private static List<string> DashboardQueries()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Uid2.slnx"))) dir = dir.Parent;
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!.FullName, "deploy", "grafana", "dashboards", "uid2-operator.json")));
        return json.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
    }

    [Fact]
    public async Task Without_a_metrics_port_there_is_no_metrics_endpoint()
    {
        await using var host = await OperatorHost.StartAsync();
        var (status, json) = await host.GetAsync("/metrics");
        Assert.Equal(404, status);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
    }
}

[CollectionDefinition(nameof(ObservabilityTests), DisableParallelization = true)]
public sealed class ObservabilityCollection;
