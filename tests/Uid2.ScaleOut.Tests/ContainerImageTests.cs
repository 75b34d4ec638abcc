using System.Diagnostics;
using Uid2.ScaleOut.Infrastructure;
using Xunit;

namespace Uid2.ScaleOut.Tests;

/// <summary>
/// Issue "Operate it for real": there is no Docker engine here, so every piece the container image runs is proven
/// outside Docker — the health-check command its HEALTHCHECK and the compose file use, the browser SDK it serves —
/// and the Dockerfile and compose file are held to them.
/// </summary>
public sealed class ContainerImageTests
{
    private static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Uid2.slnx"))) return dir.FullName;
            throw new DirectoryNotFoundException("repository root");
        }
    }

    private static async Task<(int Code, string Output)> RunHealthCheckAsync(params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var a in new[] { OperatorProcess.OperatorDllPath, "healthcheck" }.Concat(extra)) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, output);
    }

    [Fact]
    public async Task The_health_check_command_answers_0_for_a_healthy_operator_and_1_otherwise()
    {
        var dir = Directory.CreateTempSubdirectory("uid2-image-").FullName;
        try
        {
            await using var op = OperatorProcess.Start("image", $"Data Source={Path.Combine(dir, "uid2.db")}");
            await op.WaitHealthyAsync(TimeSpan.FromSeconds(60));

            var healthy = await RunHealthCheckAsync("--url", $"{op.BaseAddress}ops/healthcheck");
            Assert.True(healthy.Code == 0, healthy.Output);
            Assert.StartsWith("healthy: 200 OK", healthy.Output);
            Assert.Single(healthy.Output.Trim().Split('\n'));

            var closed = await RunHealthCheckAsync("--url", $"http://127.0.0.1:{OperatorProcess.FreePort()}/ops/healthcheck");
            Assert.Equal(1, closed.Code);
            Assert.StartsWith("unhealthy:", closed.Output);
            Assert.Equal(2, (await RunHealthCheckAsync("--bogus")).Code);

            // What the image serves besides the API: the browser SDK, when web/sdk was built before the operator
            // (the Dockerfile's first stage does; scripts/test.sh does too), else a 404 saying how.
            using var sdk = await op.Http.GetAsync("/static/js/uid2-sdk.js");
            if (File.Exists(Path.Combine(RepoRoot, "web", "sdk", "dist", "uid2-sdk.js")))
                Assert.Equal(200, (int)sdk.StatusCode);
            else
                Assert.Contains("npm run build", await sdk.Content.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_dockerfile_and_compose_file_use_that_command_as_a_non_root_user()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoRoot, "deploy", "Dockerfile"));
        Assert.Contains("HEALTHCHECK --interval=5s --timeout=6s --retries=20 CMD [\"dotnet\", \"Uid2.Operator.dll\", \"healthcheck\"]", dockerfile);
        Assert.Matches(@"(?m)^USER app$", dockerfile);
        Assert.Contains("RUN npm run build", dockerfile);
        Assert.Contains("test -f /app/wwwroot/static/js/uid2-sdk.js", dockerfile);

        var compose = File.ReadAllText(Path.Combine(RepoRoot, "docker-compose.yml"));
        Assert.Contains("test: [\"CMD\", \"dotnet\", \"Uid2.Operator.dll\", \"healthcheck\"]", compose);
        Assert.DoesNotContain("/dev/tcp", compose);

        var ignored = File.ReadAllLines(Path.Combine(RepoRoot, ".dockerignore"));
        Assert.DoesNotContain("web/", ignored); // the SDK sources reach the build
        Assert.Contains("web/sdk/dist/", ignored);
    }
}
