using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Operate it for real": the commands and code of README.md run as written, against a real operator — every
/// admin CLI command of the Administration section in order, the key-encryption-key commands, the curl commands of
/// "Try it" and the admin API, and the .NET SDK snippet (compiled from <see cref="ReadmeSdkSnippet"/>, which must hold
/// the README block line for line). What differs from a reader's shell is only where things are: the operator's URL,
/// the store (<c>--connection-string</c>), a key file of the test's own for <c>kek</c>, a backup path under the test's
/// temporary folder, and the two example ids the reader copies from an earlier output (<c>UID2-C-L-1234-abcde</c>: the
/// key <c>apikey issue</c> printed; key <c>42</c>: the key <c>key rotate</c> added).
/// Not run here: <c>scripts/*.sh</c>, <c>fuzz/run.sh</c>, <c>docker compose</c> and <c>dotnet run</c> of the operator
/// (CI runs the test script itself; the others start long-lived services).
/// </summary>
public sealed class ReadmeSnippetTests : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "uid2-readme-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _host = await OperatorHost.StartAsync(environment: "Development");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static readonly string Readme = File.ReadAllText(FindRepoFile("README.md"));

    private static string FindRepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Uid2.slnx"))) return Path.Combine([dir.FullName, .. parts]);
        throw new InvalidOperationException("Repository root not found.");
    }

    /// <summary>The fenced blocks of <paramref name="language"/> in a section (from its heading to the next one of the same or a higher level).</summary>
    private static IReadOnlyList<string> Blocks(string heading, string language)
    {
        var level = heading.TakeWhile(c => c == '#').Count();
        var blocks = new List<string>();
        StringBuilder? block = null;
        bool inSection = false, inFence = false, found = false;
        foreach (var line in Readme.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (!inFence && inSection && line == "```" + language) block = new StringBuilder();
                else if (inFence && block is not null) { blocks.Add(block.ToString()); block = null; }
                inFence = !inFence;
                continue;
            }
            if (inFence) { block?.Append(line).Append('\n'); continue; }
            if (line == heading) { inSection = found = true; continue; }
            var hashes = line.TakeWhile(c => c == '#').Count();
            if (inSection && hashes > 0 && hashes <= level && line.Length > hashes && line[hashes] == ' ') inSection = false;
        }
        Assert.True(found, $"README has no '{heading}' section");
        return blocks;
    }

    private const string CliPrefix = "dotnet run --project src/Uid2.Admin -- ";

    private static IEnumerable<string> CliLines(string heading) =>
        Blocks(heading, "bash").SelectMany(b => b.Split('\n')).Where(l => l.StartsWith(CliPrefix, StringComparison.Ordinal));

    /// <summary>Splits a shell command line: words, "double-quoted" words, and a trailing # comment dropped.</summary>
    private static List<string> ShellWords(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool quoted = false, inWord = false;
        foreach (var c in line)
        {
            if (c == '"') { quoted = !quoted; inWord = true; continue; }
            if (!quoted && c == '#' && !inWord) break;
            if (!quoted && char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(current.ToString());
                current.Clear();
                inWord = false;
                continue;
            }
            current.Append(c);
            inWord = true;
        }
        if (inWord) words.Add(current.ToString());
        return words;
    }

    private async Task<(int Exit, string Out, string Err)> CliAsync(IEnumerable<string> args, string connectionString, params string[] extra)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await Uid2.Admin.Program.RunAsync(["--connection-string", connectionString, .. extra, .. args], output, error, _host.Time);
        return (exit, output.ToString(), error.ToString());
    }

    private Task ReloadAsync() => _host.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);

    [Fact]
    public async Task Every_admin_cli_command_of_the_readme_runs_as_written_in_order()
    {
        var lines = CliLines("## Administration").ToList();
        Assert.True(lines.Count >= 30, $"only {lines.Count} CLI commands found in the README's Administration section");
        string? issuedKeyId = null, rotatedKeyId = null;
        TestParticipant? issued = null;
        foreach (var line in lines)
        {
            var command = line[CliPrefix.Length..]
                .Replace("UID2-C-L-1234-abcde", issuedKeyId ?? "UID2-C-L-1234-abcde", StringComparison.Ordinal)
                .Replace("--key-id 42", "--key-id " + (rotatedKeyId ?? "42"), StringComparison.Ordinal)
                .Replace("uid2-backup.bak", Path.Combine(_dir, "uid2-backup.bak"), StringComparison.Ordinal);
            var (exit, output, error) = await CliAsync(ShellWords(command), _host.ConnectionString);
            Assert.True(exit == 0, $"README: {line}\nexit {exit}: {error}");
            Assert.Empty(error);
            foreach (var secret in Regex.Matches(output, @"(?:API key|Client secret|New client secret|Admin key):\s+(\S+)").Select(m => m.Groups[1].Value))
                _host.AddKnownSecrets(secret);

            if (command.StartsWith("participant create", StringComparison.Ordinal))
            {
                // The README shows the JSON's shape: same properties, in order.
                var shown = Regex.Match(Readme, @"# (\{""siteId"":1234.*\})").Groups[1].Value;
                var names = JsonDocument.Parse(output).RootElement.EnumerateObject().Select(p => p.Name).ToList();
                Assert.Equal(Regex.Matches(shown, "\"(\\w+)\":").Select(m => m.Groups[1].Value).ToList(), names);
                _host.AddKnownSecrets(JsonDocument.Parse(output).RootElement.GetProperty("apiKey").GetString()!,
                    JsonDocument.Parse(output).RootElement.GetProperty("secret").GetString()!);
            }
            if (command.StartsWith("apikey issue", StringComparison.Ordinal))
            {
                issuedKeyId = Regex.Match(output, @"Issued API key (\S+) for site").Groups[1].Value;
                issued = new TestParticipant(1234, Regex.Match(output, @"API key:\s+(\S+)").Groups[1].Value, Regex.Match(output, @"Client secret:\s+(\S+)").Groups[1].Value);
                await ReloadAsync();
                Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", issued, new { email = "readme@example.com" })).Status);
            }
            if (command.StartsWith("key rotate", StringComparison.Ordinal))
                rotatedKeyId = Regex.Match(output, @"Added key (\d+) for").Groups[1].Value;
            if (command.StartsWith("apikey revoke", StringComparison.Ordinal))
            {
                await ReloadAsync();
                Assert.Equal(401, (await _host.PostV2Async("/v2/token/generate", issued!, new { email = "readme@example.com" })).Status);
            }
            if (command.StartsWith("cstg create", StringComparison.Ordinal))
                Assert.StartsWith("UID2-X-", JsonDocument.Parse(output).RootElement.GetProperty("serverPublicKey").GetString());
        }
        Assert.NotNull(issuedKeyId);
        Assert.NotNull(rotatedKeyId);
        await ReloadAsync();
        var audit = (await CliAsync(["audit", "list", "--limit", "100", "--json"], _host.ConnectionString)).Out;
        foreach (var action in new[] { "participant.create", "apikey.issue", "secret.rotate", "apikey.revoke", "key.rotate", "key.retire", "key.revoke",
                     "salt.rotate", "optout.add", "cstg.create", "site.domains", "admin.create", "backup.create", "participant.set-types", "keyset.allow",
                     "keyset.disallow", "webhook.set", "webhook.remove" })
            Assert.Contains($"\"action\":\"{action}\"", audit);
    }

    [Fact]
    public async Task The_key_encryption_key_commands_of_the_readme_run_as_written()
    {
        var lines = CliLines("## Secrets at rest").ToList();
        Assert.Equal(3, lines.Count);
        var keyFile = Path.Combine(_dir, "kek.keys");
        var store = $"Data Source={Path.Combine(_dir, "kek-store.db")}";
        Assert.Equal(0, (await CliAsync(["kek", "new", "--file", keyFile], store)).Exit);
        Assert.Equal(0, (await CliAsync(["init"], store, "--kek-file", keyFile, "--salt-buckets", "64")).Exit);
        foreach (var line in lines)
        {
            var (exit, _, error) = await CliAsync(ShellWords(line[CliPrefix.Length..]), store, "--kek-file", keyFile);
            Assert.True(exit == 0, $"README: {line}\nexit {exit}: {error}");
        }
        Assert.Single(File.ReadAllLines(keyFile), l => !l.StartsWith('#') && l.Contains(':')); // pruned to the new key
    }

    [SkippableFact]
    public async Task The_curl_commands_of_the_readme_run_as_written()
    {
        var url = _host.BaseAddress.ToString().TrimEnd('/');
        var tryIt = Blocks("## Try it", "bash");
        Assert.Equal(2, tryIt.Count);

        var generated = await BashAsync(tryIt[0].Replace("http://localhost:8080", url, StringComparison.Ordinal));
        var body = JsonDocument.Parse(generated).RootElement;
        Assert.Equal("success", body.GetProperty("status").GetString());
        var refreshToken = body.GetProperty("body").GetProperty("refresh_token").GetString()!;

        var refreshScript = Regex.Replace(tryIt[1].Replace("http://localhost:8080", url, StringComparison.Ordinal),
            "REFRESH_TOKEN='[^']*'", $"REFRESH_TOKEN='{refreshToken}'");
        var refreshed = JsonDocument.Parse(await BashAsync(refreshScript)).RootElement;
        Assert.Equal("success", refreshed.GetProperty("status").GetString());
        Assert.NotEqual(body.GetProperty("body").GetProperty("advertising_token").GetString(),
            refreshed.GetProperty("body").GetProperty("advertising_token").GetString());

        var output = new StringWriter();
        Assert.Equal(0, await Uid2.Admin.Program.RunAsync(["--connection-string", _host.ConnectionString, "--json", "admin", "create", "--name", "readme"],
            output, new StringWriter(), _host.Time));
        var adminKey = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("adminKey").GetString()!;
        _host.AddKnownSecrets(adminKey);
        await ReloadAsync();
        var api = Blocks("### Admin page", "bash").Single();
        var participants = JsonDocument.Parse(await BashAsync(api.Replace("http://localhost:8080", url, StringComparison.Ordinal), ("ADMIN_KEY", adminKey)))
            .RootElement;
        Assert.Equal("success", participants.GetProperty("status").GetString());
        Assert.Contains(participants.GetProperty("body").GetProperty("participants").EnumerateArray(), p => p.GetProperty("site_id").GetInt32() == 999);
    }

    private static async Task<string> BashAsync(string script, params (string Name, string Value)[] environment)
    {
        Skip.If(!File.Exists("/usr/bin/curl") && Environment.GetEnvironmentVariable("CI") != "true", "curl is not installed");
        var start = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"bash exited {process.ExitCode}: {await stderr}");
        return (await stdout).Trim();
    }

    /// <summary>The trimmed, non-empty lines of <paramref name="source"/> between two marker comments.</summary>
    private static List<string> LinesBetween(string source, string begin, string end)
    {
        var from = source.IndexOf(begin, StringComparison.Ordinal) + begin.Length;
        return source[from..source.IndexOf(end, StringComparison.Ordinal)].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
    }

    [Fact]
    public async Task The_client_readme_snippet_is_the_compiled_one_and_decrypts_a_real_token()
    {
        var readme = File.ReadAllText(FindRepoFile("src", "Uid2.Client", "README.md"));
        var block = Regex.Match(readme, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        var source = File.ReadAllText(FindRepoFile("tests", "Uid2.Operator.Tests", "ReadmeSdkSnippet.cs"));
        Assert.Equal(block.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList(),
            LinesBetween(source, "// ---- client README begins", "// ---- client README ends"));

        var who = await _host.AddParticipantAsync(4322, Role.Generator | Role.IdReader);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
        var token = (await _host.PostV2Async("/v2/token/generate", who, new { email = "client.readme@example.com" }))
            .Json.GetProperty("body").GetProperty("advertising_token").GetString()!;
        await ReadmeSdkSnippet.ClientReadmeAsync(_host.BaseAddress, who.ApiKey, who.Secret, token);
        Assert.Equal(2, ReadmeSdkSnippet.ClientReadmeUids.Count);
        Assert.Equal(ReadmeSdkSnippet.ClientReadmeUids[0], ReadmeSdkSnippet.ClientReadmeUids[1]);
    }

    [Fact]
    public async Task The_dotnet_sdk_snippet_of_the_readme_is_the_compiled_one_and_works_against_an_operator()
    {
        var block = Blocks("## .NET SDK (`src/Uid2.Client`)", "csharp").Single();
        var readmeLines = block.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("using ", StringComparison.Ordinal)).ToList();
        var source = File.ReadAllText(FindRepoFile("tests", "Uid2.Operator.Tests", "ReadmeSdkSnippet.cs"));
        var between = source[(source.IndexOf("// ---- README begins", StringComparison.Ordinal) + 21)..source.IndexOf("// ---- README ends", StringComparison.Ordinal)];
        var compiledLines = between.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        Assert.Equal(readmeLines, compiledLines);

        var who = await _host.AddParticipantAsync(4321, Role.Generator | Role.IdReader | Role.Sharer | Role.Mapper);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
        await ReadmeSdkSnippet.RunAsync(_host.BaseAddress, who.ApiKey, who.Secret);
        var observed = ReadmeSdkSnippet.Observed;
        Assert.NotNull(observed);
        Assert.True(observed.Value.Seen.Success, observed.Value.Seen.Status.ToString());
        Assert.Equal(4321, observed.Value.Seen.SiteId);
        Assert.Equal(2, observed.Value.Mapped.Mapped.Count);
    }
}
