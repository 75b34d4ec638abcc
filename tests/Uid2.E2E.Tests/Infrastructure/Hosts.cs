using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Operator;
using Uid2.PublisherSample;

namespace Uid2.E2E.Tests.Infrastructure;

/// <summary>The Development demo publisher the operator seeds (site 999).</summary>
public static class Demo
{
    public const int SiteId = 999;
    public const string ApiKey = "UID2-C-L-999-demoKY.localDevelopmentOnlyKeyDoNotUseInProd0";
    public const string ClientSecret = "ZGVtby1jbGllbnQtc2VjcmV0LWxvY2FsLW9ubHkhISE=";
}

/// <summary>Starts a web app on 127.0.0.1 with a free port and knows its address.</summary>
public abstract class KestrelHost : IAsyncDisposable
{
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;
    public string Url => BaseAddress.ToString().TrimEnd('/');
    public IServiceProvider Services => _app!.Services;

    protected async Task StartAsync(WebApplication app, Func<WebApplication, Task>? initialize = null)
    {
        _app = app;
        if (initialize is not null) await initialize(app);
        await app.StartAsync();
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }
}

/// <summary>A real operator in-process (Development: the demo publisher), over its own temporary SQLite file.</summary>
public sealed class OperatorServer : KestrelHost
{
    private readonly string _dbPath = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"uid2-e2e-{Guid.NewGuid():N}.db");

    /// <param name="identityScope"><c>UID2</c> or <c>EUID</c> (<c>Uid2:IdentityScope</c>).</param>
    /// <param name="settings">More operator settings (e.g. <c>Uid2:OptOutPortal:Smtp:Host</c>).</param>
    public static async Task<OperatorServer> StartAsync(int refreshIdentityTokenAfterSeconds = 900, string identityScope = "UID2",
        Dictionary<string, string>? settings = null)
    {
        var server = new OperatorServer();
        var app = OperatorApp.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--environment", "Development",
            "--ConnectionStrings:Uid2", $"Data Source={server._dbPath}",
            "--Uid2:SaltBucketCount", "4096",
            "--Uid2:IdentityTokenExpiresAfterSeconds", "3600",
            "--Uid2:RefreshIdentityTokenAfterSeconds", refreshIdentityTokenAfterSeconds.ToString(),
            "--Uid2:RefreshTokenExpiresAfterSeconds", "86400",
            "--Logging:LogLevel:Default", "Warning",
            "--Uid2:BrowserSdkFile", Repo.Path("web", "sdk", "dist", "uid2-sdk.js"),
            "--Uid2:IdentityScope", identityScope,
            .. (settings ?? []).SelectMany(kv => new[] { "--" + kv.Key, kv.Value }),
        ]);
        await server.StartAsync(app, a => OperatorApp.InitializeAsync(a));
        return server;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            try { File.Delete(_dbPath + suffix); } catch (IOException) { }
    }
}

/// <summary>The publisher sample (web/publisher-sample) in-process, talking to the operator at <c>operatorUrl</c>.</summary>
public sealed class SampleServer : KestrelHost
{
    /// <param name="identityScope"><c>UID2</c> or <c>EUID</c>: the sample then uses that product's browser SDK bundle.</param>
    public static async Task<SampleServer> StartAsync(string operatorUrl, string identityScope = "UID2")
    {
        var uid2Sdk = await Repo.BrowserSdkAsync();
        var sdk = identityScope == "EUID" ? System.IO.Path.Combine(System.IO.Path.GetDirectoryName(uid2Sdk)!, "euid-sdk.js") : uid2Sdk;
        var server = new SampleServer();
        var app = SampleApp.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--contentRoot", Repo.Path("web", "publisher-sample"),
            "--Sample:OperatorUrl", operatorUrl,
            "--Sample:IdentityScope", identityScope,
            "--Sample:SdkPath", sdk,
            "--Logging:LogLevel:Default", "Warning",
        ]);
        await server.StartAsync(app);
        return server;
    }
}
