using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using Uid2.Core.Auth;
using Uid2.Operator.Auth;
using Uid2.Operator.Configuration;
using Uid2.Operator.Protocol;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Benchmarks;

/// <summary>
/// What the operator's defences cost per request: the replay cache, the JSON string check before parsing, and
/// API-key authentication for an unknown key id versus a known key id with a wrong secret (these two must cost the same).
/// </summary>
[MemoryDiagnoser]
public class TrustBenchmarks
{
    private ReplayGuard _guard = null!;
    private ulong _nonce;
    private byte[] _generateJson = null!;
    private byte[] _map5000Json = null!;
    private OperatorState _state = null!;
    private string _unknownKeyHeader = null!;
    private string _wrongSecretHeader = null!;

    [GlobalSetup]
    public void Setup()
    {
        _guard = new ReplayGuard(Options.Create(new OperatorOptions { ReplayCacheMaxEntries = int.MaxValue }), TimeProvider.System);
        _generateJson = Encoding.UTF8.GetBytes(EnvelopeBenchmarks.RequestJson);
        _map5000Json = JsonSerializer.SerializeToUtf8Bytes(new { email = Enumerable.Range(0, 5000).Select(i => $"user.{i}@example.com").ToArray() });
        var key = ApiKeys.Generate(1);
        _state = new OperatorState(new StoreSnapshot(1, [new Participant(1, "p", Role.Generator, true, DateTimeOffset.UtcNow)],
            [new ApiKeyRecord(key.KeyId, key.KeyHash, key.KeySalt, 1, "k", Role.Generator, ApiKeys.GenerateClientSecret(), false, DateTimeOffset.UtcNow)],
            [], null, []), Core.IdentityScope.Uid2);
        _unknownKeyHeader = "Bearer " + ApiKeys.Generate(1).Key;
        _wrongSecretHeader = "Bearer " + key.Key[..^1] + (key.Key[^1] == 'A' ? 'B' : 'A');
    }

    [Benchmark(Description = "ReplayGuard.TryAccept (new nonce)")]
    public ReplayVerdict ReplayAccept()
    {
        Span<byte> nonce = stackalloc byte[8];
        BitConverter.TryWriteBytes(nonce, ++_nonce);
        return _guard.TryAccept(ReplayGuard.EnvelopeId("UID2-C-L-1-abcde", nonce), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 120_000);
    }

    [Benchmark(Description = "JsonDocument.Parse (generate, 60 B)")]
    public JsonElement ParseGeneratePlain()
    {
        using var doc = JsonDocument.Parse(_generateJson);
        return doc.RootElement.Clone();
    }

    [Benchmark(Description = "JsonPayload.TryParse (generate, 60 B)")]
    public JsonElement ParseGenerateChecked()
    {
        JsonPayload.TryParse(_generateJson, out var root);
        return root;
    }

    [Benchmark(Description = "JsonDocument.Parse (map, 5,000 emails)")]
    public JsonElement ParseMapPlain()
    {
        using var doc = JsonDocument.Parse(_map5000Json);
        return doc.RootElement.Clone();
    }

    [Benchmark(Description = "JsonPayload.TryParse (map, 5,000 emails)")]
    public JsonElement ParseMapChecked()
    {
        JsonPayload.TryParse(_map5000Json, out var root);
        return root;
    }

    [Benchmark(Description = "Authenticate: unknown key id")]
    public AuthOutcome AuthUnknown() => ApiKeyAuthenticator.Authenticate(_unknownKeyHeader, _state, ApiKeys.Verify, out _);

    [Benchmark(Description = "Authenticate: known key id, wrong secret")]
    public AuthOutcome AuthWrongSecret() => ApiKeyAuthenticator.Authenticate(_wrongSecretHeader, _state, ApiKeys.Verify, out _);

    /// <summary>
    /// <c>dotnet run -c Release -- replay-sizing [entries]</c>: fills a replay cache and prints the managed memory per
    /// live entry, the figure <see cref="OperatorOptions.ReplayCacheMaxEntries"/> is sized with.
    /// </summary>
    public static void PrintReplaySizing(int entries)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var guard = new ReplayGuard(Options.Create(new OperatorOptions { ReplayCacheMaxEntries = entries }), TimeProvider.System);
        var expires = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 120_000;
        Span<byte> nonce = stackalloc byte[8];
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < entries; i++)
        {
            BitConverter.TryWriteBytes(nonce, (ulong)i * 0x9E3779B97F4A7C15UL);
            // Spread over the 120 s a real load spreads them over: one bucket per second of expiry.
            if (guard.TryAccept(ReplayGuard.EnvelopeId("UID2-C-L-1-abcde", nonce), expires + i % 120 * 1000) != ReplayVerdict.Accepted)
                throw new InvalidOperationException($"entry {i} refused");
        }
        var elapsed = started.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(guard);
        Console.WriteLine($"replay cache: {entries:N0} live entries, {(after - before) / (1 << 20):N0} MiB managed, " +
                          $"{(double)(after - before) / entries:F1} B/entry; filled in {elapsed.TotalMilliseconds:N0} ms " +
                          $"({entries / elapsed.TotalSeconds:N0} inserts/s on one thread)");
    }
}
