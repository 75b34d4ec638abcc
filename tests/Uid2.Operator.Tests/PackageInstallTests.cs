using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Operator.State;
using Xunit.Abstractions;

namespace Uid2.Operator.Tests;

/// <summary>
/// The .NET SDK as a DSP gets it: <c>dotnet pack src/Uid2.Client</c> into a local folder, then fresh net8.0 and net10.0
/// console apps outside the repository (no Directory.*.props, no central package management) install the package from
/// that folder with <c>dotnet add package</c> and decrypt, through the package's public API only, a token a real
/// operator issued to a publisher, with keys they fetch from it as a DSP. The raw UID2 they print must be the operator's
/// identity map answer for the same email. The net8.0 app runs on whatever runtime is installed (rolled forward to a
/// newer major one when 8.0 is missing).
/// </summary>
public sealed class PackageInstallTests(ITestOutputHelper log) : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5); // a hang guard only, never asserted

    private readonly string _dir = Directory.CreateTempSubdirectory("uid2-package-").FullName;
    private OperatorHost _host = null!;

    public async Task InitializeAsync() => _host = await OperatorHost.StartAsync(environment: "Development");

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_fresh_net8_and_net10_app_install_the_packed_sdk_and_decrypt_an_operator_token()
    {
        var publisher = await _host.AddParticipantAsync(6001, Role.Generator);
        var dsp = await _host.AddParticipantAsync(6002, Role.IdReader);
        var advertiser = await _host.AddParticipantAsync(6003, Role.Mapper);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);

        const string email = "package.user@example.com";
        var (status, generated) = await _host.PostV2Async("/v2/token/generate", publisher, new { email });
        Assert.Equal(200, status);
        var token = generated.GetProperty("body").GetProperty("advertising_token").GetString()!;
        var (mapStatus, mapped) = await _host.PostV2Async("/v3/identity/map", advertiser, new { email = new[] { email } });
        Assert.Equal(200, mapStatus);
        var rawUid = mapped.GetProperty("body").GetProperty("email")[0].GetProperty("u").GetString()!;

        var (feed, version) = await PackAsync();
        WriteNuGetConfig(feed);
        foreach (var (tfm, expectedSdk, cryptoAssembly) in new[]
                 {
                     ("net8.0", ".NETCoreApp,Version=v8.0", "Microsoft.Bcl.Memory.dll"),
                     ("net10.0", ".NETCoreApp,Version=v10.0", "NSec.Cryptography.dll"),
                 })
        {
            var bin = await CreateAndBuildConsumerAsync(tfm, version);
            var printed = await RunConsumerAsync(tfm, bin, _host.BaseAddress.ToString(), dsp.ApiKey, dsp.Secret, token);
            log.WriteLine($"{tfm} app: {string.Join(", ", printed.Select(p => $"{p.Key}={p.Value}"))}");
            Assert.Equal("Success", printed["status"]);
            Assert.Equal(rawUid, printed["uid"]);
            Assert.Equal("Success", printed["span_status"]);
            Assert.Equal(rawUid, printed["span_uid"]);
            Assert.Equal("6001", printed["site_id"]);
            Assert.Equal(expectedSdk, printed["sdk_target"]);   // NuGet picked the package's lib/<tfm> for this app
            Assert.Equal(expectedSdk, printed["core_target"]);  // and the Uid2.Core.dll carried beside it
            // Each build brings its own dependencies: libsodium's AES-GCM (NSec) on net10.0, Base64Url's package on net8.0.
            Assert.True(File.Exists(Path.Combine(bin, cryptoAssembly)), $"{tfm}: {cryptoAssembly} not in {bin}");
        }
        Assert.False(File.Exists(Path.Combine(_dir, "net8.0", "bin", "NSec.Cryptography.dll")));
    }

    /// <summary>Packs src/Uid2.Client (Release, its own output folders) into a local feed; returns the feed and the version.</summary>
    private async Task<(string Feed, string Version)> PackAsync()
    {
        var project = FindRepoFile("src", "Uid2.Client", "Uid2.Client.csproj");
        var declared = XDocument.Load(project).Descendants("Version").Single().Value;
        // A version no earlier run used: the consumers restore into a folder of their own but read the machine's NuGet
        // cache as a fallback (the SDK's other dependencies, offline), where a Uid2.Client of the declared version
        // someone installed by hand would otherwise win over this build.
        var version = $"{declared}-packtest.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        var feed = Path.Combine(_dir, "feed");
        await DotnetAsync(Path.GetDirectoryName(project)!, null,
            "pack", "-c", "Release", "-o", feed, $"-p:Version={version}", "-nodeReuse:false", "-nologo",
            "--no-restore"); // restored by the build that runs this test; a restore here would rewrite the repo's obj/ for this version
        var package = Path.Combine(feed, $"OpenUid2.Client.{version}.nupkg");
        Assert.True(File.Exists(package), $"no {package}");
        return (feed, version);
    }

    /// <summary>A nuget.config for the consumers: the local feed for Uid2.Client only, nuget.org for the rest.</summary>
    private void WriteNuGetConfig(string feed)
    {
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        new XDocument(new XElement("configuration",
            new XElement("config", Add("globalPackagesFolder", Path.Combine(_dir, "packages"))),
            new XElement("packageSources", new XElement("clear"), Add("local", feed), Add("nuget.org", "https://api.nuget.org/v3/index.json")),
            new XElement("packageSourceMapping",
                new XElement("packageSource", new XAttribute("key", "local"), new XElement("package", new XAttribute("pattern", "OpenUid2.Client"))),
                new XElement("packageSource", new XAttribute("key", "nuget.org"), new XElement("package", new XAttribute("pattern", "*")))),
            new XElement("fallbackPackageFolders", new XElement("clear"), Add("machine", machineCache))))
            .Save(Path.Combine(_dir, "nuget.config"));

        static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));
    }

    /// <summary>A console app as <c>dotnet new console</c> makes it, plus the consumer's Program.cs; installs the package, builds.</summary>
    private async Task<string> CreateAndBuildConsumerAsync(string tfm, string version)
    {
        var app = Path.Combine(_dir, tfm);
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>{tfm}</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <!-- run as 'dotnet Consumer.dll': no apphost to download for a runtime this machine may not have -->
                <UseAppHost>false</UseAppHost>
                <OutputPath>bin/</OutputPath>
                <AppendTargetFrameworkToOutputPath>false</AppendTargetFrameworkToOutputPath>
              </PropertyGroup>
            </Project>
            """);
        File.Copy(FindRepoFile("tests", "PackageConsumer", "Program.cs"), Path.Combine(app, "Program.cs"));
        await DotnetAsync(app, null, "add", "package", "OpenUid2.Client", "--version", version);
        await DotnetAsync(app, null, "build", "-nodeReuse:false", "-nologo");
        return Path.Combine(app, "bin");
    }

    private async Task<Dictionary<string, string>> RunConsumerAsync(string tfm, string bin, params string[] args)
    {
        // Only .NET 10 may be installed: a net8.0 app then runs on it, as `DOTNET_ROLL_FORWARD=Major` allows.
        var output = await DotnetAsync(bin, tfm == "net8.0" ? ("DOTNET_ROLL_FORWARD", "Major") : null,
            [Path.Combine(bin, "Consumer.dll"), .. args]);
        return Regex.Matches(output, @"^(\w+)=(.*)$", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.TrimEnd('\r'));
    }

    /// <summary>Runs <c>dotnet</c>; fails the test with its output unless it exits 0; returns its standard output.</summary>
    private async Task<string> DotnetAsync(string workingDirectory, (string Name, string Value)? variable, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", args)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // What `dotnet test` set for its own MSBuild must not steer these builds; NUGET_PACKAGES would override the
        // consumers' nuget.config (the machine's cache is their fallback folder instead).
        foreach (var name in start.Environment.Keys.Where(k =>
                     k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && !k.Equals("MSBUILDDISABLENODEREUSE", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) || k == "NUGET_PACKAGES").ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        if (variable is { } set) start.Environment[set.Name] = set.Value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`dotnet {string.Join(' ', args)}` did not finish:\n{await stdout}\n{await stderr}");
        }
        Assert.True(process.ExitCode == 0,
            $"`dotnet {string.Join(' ', args)}` in {workingDirectory} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    private static string FindRepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Uid2.slnx"))) return Path.Combine([dir.FullName, .. parts]);
        throw new InvalidOperationException("Repository root not found.");
    }
}
