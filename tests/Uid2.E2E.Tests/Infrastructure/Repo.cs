using System.Diagnostics;

namespace Uid2.E2E.Tests.Infrastructure;

/// <summary>Paths in the repository, and the npm builds the browser tests need (run once per test run, cached on disk).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Uid2.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Uid2.slnx not found above " + AppContext.BaseDirectory);
    }

    private static readonly SemaphoreSlim BuildLock = new(1, 1);

    /// <summary>
    /// web/sdk/dist/uid2-sdk.js (and its EUID build euid-sdk.js beside it), built with npm when missing (scripts/test.sh
    /// builds them before the .NET tests).
    /// </summary>
    public static async Task<string> BrowserSdkAsync()
    {
        var bundle = Path("web", "sdk", "dist", "uid2-sdk.js");
        await BuildLock.WaitAsync();
        try
        {
            if (!File.Exists(bundle) || !File.Exists(Path("web", "sdk", "dist", "euid-sdk.js")))
            {
                var sdk = Path("web", "sdk");
                await RunAsync("npm", "ci --no-audit --no-fund --loglevel=error", sdk);
                await RunAsync("npm", "run build", sdk);
            }
        }
        finally
        {
            BuildLock.Release();
        }
        return bundle;
    }

    /// <summary>axe-core's axe.min.js (npm, the version pinned in tests/Uid2.E2E.Tests/axe/package-lock.json), installed with npm ci when missing.</summary>
    public static async Task<string> AxeScriptAsync()
    {
        var dir = Path("tests", "Uid2.E2E.Tests", "axe");
        var script = System.IO.Path.Combine(dir, "node_modules", "axe-core", "axe.min.js");
        await BuildLock.WaitAsync();
        try
        {
            if (!File.Exists(script)) await RunAsync("npm", "ci --no-audit --no-fund --loglevel=error", dir);
        }
        finally
        {
            BuildLock.Release();
        }
        return script;
    }

    /// <summary>The Prebid.js bundle (userId + uid2IdSystem), built by web/prebid-test/build.sh, which skips an up-to-date bundle.</summary>
    public static async Task<string> PrebidBundleAsync()
    {
        await BuildLock.WaitAsync();
        try
        {
            await RunAsync("bash", "build.sh", Path("web", "prebid-test"));
        }
        finally
        {
            BuildLock.Release();
        }
        return Path("web", "prebid-test", "dist", "prebid-uid2.js");
    }

    private static async Task RunAsync(string file, string arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"`{file} {arguments}` in {workingDirectory} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
    }
}
