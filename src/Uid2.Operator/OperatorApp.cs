using Polly;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Uid2.Operator.Admin;
using Uid2.Operator.Configuration;
using Uid2.Operator.Endpoints;
using Uid2.Operator.Observability;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Operator;

/// <summary>Builds and initializes the operator host. Used by Program and by the integration tests.</summary>
public static class OperatorApp
{
    /// <summary>The operator's Kestrel settings (also what bench/Uid2.MinimalHost runs with, as the load test's baseline).</summary>
    public static void ConfigureKestrel(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions k)
    {
        k.Limits.MaxRequestBodySize = RequestBody.MaxBytes + 1;
        k.AddServerHeader = false;
        // Header bytes that are not ASCII reach the app as Latin-1 (never refused with an empty 400), so a bad
        // Authorization header gets the protocol's 401 like any other wrong key.
        k.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Content (appsettings.json) comes from the app's own folder, so the current directory stays the user's:
        // a relative 'Data Source=data/uid2.db' means the same file for the operator and the admin CLI.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);

        builder.WebHost.ConfigureKestrel(ConfigureKestrel);

        var connectionString = builder.Configuration.GetConnectionString("Uid2") ?? Uid2StoreFactory.DefaultConnectionString;
        // The key-encryption keys never come from the store: settings, environment, or (SQLite) a file beside the database,
        // which only Development creates when missing.
        var kekInline = builder.Configuration[$"{OperatorOptions.Section}:KeyEncryptionKey"];
        var kekFile = builder.Configuration[$"{OperatorOptions.Section}:KeyEncryptionKeyFile"];
        var createKek = builder.Environment.IsDevelopment();
        var storeProvider = builder.Configuration[Uid2StoreFactory.ProviderSetting];
        builder.Services.TryAddSingleton<IUid2Store>(_ => Uid2StoreFactory.Create(connectionString,
            KeyEncryptionKeys.Resolve(connectionString, kekInline, kekFile, createKek), storeProvider)); // a host may bring its own
        builder.Services.AddOptions<OperatorOptions>().Bind(builder.Configuration.GetSection(OperatorOptions.Section))
            .Validate(o => { o.Validate(); return true; });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OperatorStateProvider>();
        builder.Services.TryAddSingleton<ITokenLifetimePolicy, OptionsTokenLifetimePolicy>(); // a host may bring per-site lifetimes
        builder.Services.AddSingleton<TokenLifecycleService>();
        builder.Services.AddSingleton<ReplayGuard>();
        builder.Services.AddSingleton<OptOutService>();
        builder.Services.AddSingleton<OptOutWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OptOutWriter>());
        builder.Services.AddSingleton<IdentityMapService>();
        builder.Services.AddSingleton<KeyMaintenanceService>();
        builder.Services.Configure<OptOutWebhookOptions>(builder.Configuration.GetSection(OptOutWebhookOptions.Section));
        var webhookOptions = builder.Configuration.GetSection(OptOutWebhookOptions.Section).Get<OptOutWebhookOptions>() ?? new OptOutWebhookOptions();
        builder.Services.AddHttpClient(OptOutWebhookDelivery.HttpClientName, http =>
            {
                http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline times each attempt and the whole request
                http.DefaultRequestHeaders.UserAgent.ParseAdd("uid2-operator-optout");
            })
            .AddResilienceHandler("optout-webhook", pipeline =>
            {
                pipeline.AddTimeout(webhookOptions.TotalRequestTimeout);
                if (webhookOptions.QuickRetries > 0)
                    pipeline.AddRetry(new Microsoft.Extensions.Http.Resilience.HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = webhookOptions.QuickRetries,
                        BackoffType = Polly.DelayBackoffType.Exponential,
                        Delay = TimeSpan.FromMilliseconds(200),
                        UseJitter = true,
                    });
                pipeline.AddTimeout(TimeSpan.FromSeconds(Math.Max(1, webhookOptions.RequestTimeoutSeconds)));
            });
        builder.Services.AddSingleton<OptOutWebhookDelivery>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OptOutWebhookDelivery>());
        builder.Services.AddSingleton<OptOutSnapshotService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OptOutSnapshotService>());
        builder.Services.AddSingleton<WriteHealth>();
        builder.Services.AddSingleton<WriteProbeService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WriteProbeService>());
        builder.Services.AddHostedService<StoreSyncService>();
        builder.Services.AddHostedService<StoreChangeListener>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KeyMaintenanceService>());
        AddObservability(builder);
        AddForwardedHeaders(builder);
        Admin.AdminAuth.AddAdmin(builder);
        OptOutPortal.OptOutPortalSetup.AddOptOutPortal(builder);
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.UseForwardedHeaders();
        app.UseMiddleware<ProtocolErrorMiddleware>();
        // Browsers call refresh and client-generate from publishers' pages; CORS is answered as the reference does.
        app.Use(ReferenceCors.Apply);
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/admin"), admin => admin.Use(Admin.AdminSecurityHeaders.Apply));
        OptOutPortal.OptOutPortalSetup.UseOptOutPortal(app);
        // The only authentication scheme is the admin session cookie, scoped to /admin: elsewhere the browser never
        // sends it, so the protocol endpoints skip the middleware (~3 % of the operator's CPU under v2 generate, profiled).
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/admin"), admin => admin.UseAuthentication());
        app.UseAuthorization();
        app.MapRazorPages();
        app.MapAdminApi();
        app.MapOpenApi();
        app.MapV1();
        app.MapV2Token();
        app.MapClientSideToken();
        app.MapV2Identity();
        app.MapV2Keys();
        app.MapOps();
        app.MapBrowserSdk();
        var metricsPort = app.Services.GetRequiredService<IOptions<OperatorOptions>>().Value.MetricsPort;
        if (metricsPort > 0) app.MapPrometheusScrapingEndpoint("/metrics").RequireHost($"*:{metricsPort}");
        return app;
    }

    /// <summary>
    /// Behind a load balancer: the client's address and scheme come from <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>,
    /// believed only from the proxies in <c>Uid2:TrustedProxies</c> (addresses or CIDR ranges; default: loopback only).
    /// </summary>
    private static void AddForwardedHeaders(WebApplicationBuilder builder)
    {
        var trusted = builder.Configuration.GetSection($"{OperatorOptions.Section}:TrustedProxies").Get<string[]>() ?? [];
        builder.Services.Configure<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor
                                 | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto;
            if (trusted.Length == 0) return; // the framework's default: 127.0.0.0/8 and ::1
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var entry in trusted)
            {
                if (System.Net.IPNetwork.TryParse(entry, out var network)) o.KnownIPNetworks.Add(network);
                else if (System.Net.IPAddress.TryParse(entry, out var address)) o.KnownProxies.Add(address);
                else throw new InvalidOperationException($"Uid2:TrustedProxies: '{entry}' is not an IP address or a CIDR range.");
            }
        });
    }

    /// <summary>
    /// Logs that carry no secret and no identity, optionally as JSON with the request and trace ids; metrics through
    /// OpenTelemetry: ASP.NET Core's request metrics and the operator's own (<see cref="OperatorMetrics"/>).
    /// </summary>
    private static void AddObservability(WebApplicationBuilder builder)
    {
        // "Request starting GET /v1/token/generate?email=…" would log the v1 identity (it travels in the query string):
        // hosting's request lines stay off whatever the configured level.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        if (builder.Configuration.GetValue<bool>($"{OperatorOptions.Section}:{nameof(OperatorOptions.JsonLogs)}"))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true; // RequestId, RequestPath (no query), TraceId, SpanId
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        builder.Services.AddSingleton<OperatorMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddAspNetCoreInstrumentation()
            .AddMeter(OperatorMetrics.MeterName)
            .AddMeter("System.Runtime") // GC (allocations, heap, pauses), thread pool, exceptions: the runtime's own meter
            // Streams updated several times per request that nobody charts: Kestrel's memory pool counts every block it
            // rents and returns, routing every match. Dropped, their instruments stay disabled (profiled: the metrics
            // SDK's updates were ~4.6 % of the operator's CPU under v2 generate).
            .AddView("aspnetcore.memory_pool.rented", MetricStreamConfiguration.Drop)
            .AddView("aspnetcore.memory_pool.pooled", MetricStreamConfiguration.Drop)
            .AddView("aspnetcore.routing.match_attempts", MetricStreamConfiguration.Drop)
            .AddPrometheusExporter());
    }

    /// <summary>
    /// Whether an exception from <see cref="InitializeAsync"/> means the store cannot be used (missing, unreachable,
    /// read-only, full, misconfigured) rather than a bug: the operator then logs one line and exits non-zero.
    /// </summary>
    public static bool IsStartupFailure(Exception ex) => ex is System.Data.Common.DbException or IOException
        or UnauthorizedAccessException or ArgumentException or InvalidOperationException or TimeoutException
        or System.Net.Sockets.SocketException or OptionsValidationException;

    /// <summary>The exception's type and message, and those of its inner exceptions, on one line.</summary>
    public static string Describe(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
            parts.Add($"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
        return string.Join(" <- ", parts.Distinct());
    }

    /// <summary>
    /// Prepares the store before the first request: schema, keys and salts on an empty store (every environment),
    /// the demo publisher in Development, then the first in-memory state.
    /// </summary>
    public static async Task InitializeAsync(WebApplication app, CancellationToken ct = default)
    {
        var services = app.Services;
        var options = services.GetRequiredService<IOptions<OperatorOptions>>().Value;
        var store = services.GetRequiredService<IUid2Store>();
        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Uid2.Operator");

        await store.InitializeAsync(ct);
        if (await StoreBootstrapper.EnsureInitializedAsync(store, time, options.SaltBucketCount, ct))
            logger.LogInformation("Empty store: created encryption keys and {Buckets} salt buckets.", options.SaltBucketCount);

        var seedDemo = app.Environment.IsDevelopment() && options.Demo.Enabled;
        if (seedDemo && await DemoSeeder.EnsureDemoParticipantAsync(store, options.Demo, time, ct))
            logger.LogInformation("Seeded the demo publisher (site {SiteId}).", options.Demo.SiteId);
        if (seedDemo && await DemoSeeder.EnsureDemoClientSideKeypairAsync(store, options.Demo, time, ct))
            logger.LogInformation("Seeded the demo CSTG key pair (site {SiteId}).", options.Demo.SiteId);

        services.GetRequiredService<OperatorMetrics>(); // its gauges exist from the first scrape on
        var state = services.GetRequiredService<OperatorStateProvider>();
        // Opt-outs: from the snapshot file when there is a good one, then the store's rows after it.
        var fromSnapshot = await services.GetRequiredService<OptOutSnapshotService>().TryLoadAsync(ct);
        await state.ReloadAsync(ct);
        if (state.DisabledDemoCredentials.Count > 0)
            logger.LogWarning("{Environment}: the public demo credentials in the store are disabled and answer 401: {Credentials}. " +
                "Remove them, or run in Development.", app.Environment.EnvironmentName, string.Join(", ", state.DisabledDemoCredentials));
        await services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(ct);

        // The first load read every opt-out a page at a time: give back what the pages cost before serving, once
        // (with millions of opt-outs, the index's arrays are large objects; compacting them now keeps the process small).
        // A snapshot load allocated the index's arrays at their final size: nothing to give back.
        if (!fromSnapshot && state.OptOuts.Count > 100_000)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        if (seedDemo)
        {
            // Development only: these demo credentials are fixed, public and documented in the README.
            Console.WriteLine($"""
                UID2 operator (Development) — demo publisher
                  site id:       {options.Demo.SiteId}
                  API key:       {options.Demo.ApiKey}
                  client secret: {options.Demo.ClientSecret}
                  roles:         {options.Demo.Roles}
                  CSTG subscription id:   {options.Demo.SubscriptionId}
                  CSTG server public key: {options.Demo.ServerPublicKey}
                  CSTG domains:           {string.Join(", ", options.Demo.DomainNames)}
                """);
        }
    }
}
