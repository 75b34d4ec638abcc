using System.Net;
using System.Text.Json;
using Uid2.Core.Normalization;

namespace Uid2.Client;

/// <summary>
/// The identities to map. Emails and phones are validated, normalized and hashed locally; only the SHA-256 values
/// (<c>email_hash</c> / <c>phone_hash</c>) are sent. Results are keyed by the caller's original strings.
/// </summary>
public sealed class IdentityMapInput
{
    private readonly List<(DiiKind Kind, string Value)> _items = [];

    /// <summary>An empty input; add identities with the <c>With*</c> methods.</summary>
    public IdentityMapInput() { }

    /// <summary>An input of emails.</summary>
    public static IdentityMapInput FromEmails(IEnumerable<string> emails) => new IdentityMapInput().WithEmails(emails);
    /// <summary>An input of email hashes (base64 or hex SHA-256 of normalized emails).</summary>
    public static IdentityMapInput FromEmailHashes(IEnumerable<string> hashes) => new IdentityMapInput().WithEmailHashes(hashes);
    /// <summary>An input of E.164 phone numbers.</summary>
    public static IdentityMapInput FromPhones(IEnumerable<string> phones) => new IdentityMapInput().WithPhones(phones);
    /// <summary>An input of phone hashes (base64 or hex SHA-256 of E.164 numbers).</summary>
    public static IdentityMapInput FromPhoneHashes(IEnumerable<string> hashes) => new IdentityMapInput().WithPhoneHashes(hashes);

    /// <summary>Adds emails.</summary>
    public IdentityMapInput WithEmails(IEnumerable<string> emails) => Add(DiiKind.Email, emails);
    /// <summary>Adds email hashes.</summary>
    public IdentityMapInput WithEmailHashes(IEnumerable<string> hashes) => Add(DiiKind.EmailHash, hashes);
    /// <summary>Adds phone numbers.</summary>
    public IdentityMapInput WithPhones(IEnumerable<string> phones) => Add(DiiKind.Phone, phones);
    /// <summary>Adds phone hashes.</summary>
    public IdentityMapInput WithPhoneHashes(IEnumerable<string> hashes) => Add(DiiKind.PhoneHash, hashes);

    /// <summary>Number of identities added.</summary>
    public int Count => _items.Count;

    internal IReadOnlyList<(DiiKind Kind, string Value)> Items => _items;

    private IdentityMapInput Add(DiiKind kind, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var v in values) _items.Add((kind, v));
        return this;
    }
}

/// <summary>The outcome for one input identity.</summary>
/// <param name="Kind">How the caller supplied it.</param>
/// <param name="Input">The caller's original string.</param>
public abstract record IdentityMapOutcome(DiiKind Kind, string Input);

/// <summary>A mapped identity.</summary>
/// <param name="Kind">How the caller supplied it.</param>
/// <param name="Input">The caller's original string.</param>
/// <param name="CurrentRawUid">The current raw UID (base64), <c>u</c>.</param>
/// <param name="PreviousRawUid">The raw UID before the last salt rotation if that was under 90 days ago, <c>p</c>; else null.</param>
/// <param name="RefreshFrom">When to map the identity again, <c>r</c>.</param>
public sealed record MappedIdentity(DiiKind Kind, string Input, string CurrentRawUid, string? PreviousRawUid, DateTimeOffset RefreshFrom)
    : IdentityMapOutcome(Kind, Input);

/// <summary>Why an identity was not mapped.</summary>
public enum UnmappedReason
{
    /// <summary>The user opted out (<c>optout</c>).</summary>
    OptOut,
    /// <summary>The identifier is invalid (detected locally, or <c>invalid identifier</c> from the operator).</summary>
    InvalidIdentifier,
    /// <summary>The request carrying it failed; see <see cref="IdentityMapResult.Status"/>. Retry later.</summary>
    RequestFailed,
    /// <summary>Another reason reported by the operator (see <see cref="UnmappedIdentity.ReasonText"/>).</summary>
    Unknown,
}

/// <summary>An identity that was not mapped.</summary>
/// <param name="Kind">How the caller supplied it.</param>
/// <param name="Input">The caller's original string.</param>
/// <param name="Reason">Why.</param>
/// <param name="ReasonText">The operator's reason string (or the SDK's).</param>
public sealed record UnmappedIdentity(DiiKind Kind, string Input, UnmappedReason Reason, string ReasonText)
    : IdentityMapOutcome(Kind, Input);

/// <summary>Result of <see cref="IdentityMapClient.MapAsync"/>: one outcome per input, in input order.</summary>
public sealed class IdentityMapResult
{
    internal IdentityMapResult(IReadOnlyList<IdentityMapOutcome> results, ResponseStatus status, string? message)
    {
        Results = results;
        Status = status;
        Message = message;
        var mapped = new Dictionary<string, MappedIdentity>();
        var unmapped = new Dictionary<string, UnmappedIdentity>();
        foreach (var r in results)
        {
            if (r is MappedIdentity m) mapped.TryAdd(m.Input, m);
            else if (r is UnmappedIdentity u) unmapped.TryAdd(u.Input, u);
        }
        Mapped = mapped;
        Unmapped = unmapped;
    }

    /// <summary>Every input's outcome, in input order.</summary>
    public IReadOnlyList<IdentityMapOutcome> Results { get; }
    /// <summary>Mapped identities keyed by the caller's original string (first occurrence wins).</summary>
    public IReadOnlyDictionary<string, MappedIdentity> Mapped { get; }
    /// <summary>Unmapped identities keyed by the caller's original string (first occurrence wins).</summary>
    public IReadOnlyDictionary<string, UnmappedIdentity> Unmapped { get; }
    /// <summary><see cref="ResponseStatus.Success"/> when every request succeeded; otherwise the first failure's status.</summary>
    public ResponseStatus Status { get; }
    /// <summary>The first failure's message, if any.</summary>
    public string? Message { get; }
}

/// <summary>
/// Maps DII to raw UIDs with <c>POST /v3/identity/map</c> (MAPPER role). Inputs of any size are split into requests of at most
/// <see cref="MaxBatchSize"/> identities, sent with at most <c>maxConcurrency</c> in flight. Invalid inputs are reported
/// unmapped without being sent. Protocol errors are reported, not thrown; network failures surface as <see cref="HttpRequestException"/>.
/// </summary>
public sealed class IdentityMapClient
{
    /// <summary>Path of the endpoint.</summary>
    public const string MapPath = "/v3/identity/map";
    /// <summary>Most identities in one request.</summary>
    public const int MaxBatchSize = 5000;

    private readonly Transport _transport;
    private readonly int _maxConcurrency;

    /// <summary>Creates an identity map client.</summary>
    /// <param name="baseUrl">Operator base URL.</param>
    /// <param name="apiKey">The API key (MAPPER role).</param>
    /// <param name="clientSecret">The base64 client secret (32 bytes).</param>
    /// <param name="http">Optional <see cref="HttpClient"/>; a shared one is used otherwise.</param>
    /// <param name="time">Optional clock for envelope timestamps.</param>
    /// <param name="maxConcurrency">Most requests in flight at once (≥ 1).</param>
    /// <exception cref="ArgumentException">Bad base URL or client secret.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> is below 1.</exception>
    public IdentityMapClient(Uri baseUrl, string apiKey, string clientSecret, HttpClient? http = null, TimeProvider? time = null, int maxConcurrency = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        _transport = new Transport(baseUrl, apiKey, clientSecret, http, time);
        _maxConcurrency = maxConcurrency;
    }

    private readonly record struct Prepared(int Index, Uid2.Core.IdentityType Type, string Hash);

    /// <summary>Maps every identity of <paramref name="input"/>; results come back in input order.</summary>
    /// <exception cref="HttpRequestException">A request could not be sent.</exception>
    public async Task<IdentityMapResult> MapAsync(IdentityMapInput input, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var items = input.Items;
        var results = new IdentityMapOutcome?[items.Count];
        var valid = new List<Prepared>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var (kind, value) = items[i];
            if (value is not null && IdentityInputParser.TryParse(kind, value, out var identity))
                valid.Add(new Prepared(i, identity.Type, identity.DiiHashBase64));
            else
                results[i] = new UnmappedIdentity(kind, value ?? string.Empty, UnmappedReason.InvalidIdentifier, "invalid identifier");
        }

        var batches = valid.Chunk(MaxBatchSize).ToList();
        var failures = new (ResponseStatus Status, string? Message)?[batches.Count];
        using var gate = new SemaphoreSlim(_maxConcurrency);
        var tasks = batches.Select(async (batch, bi) =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                failures[bi] = await MapBatchAsync(batch, items, results, ct).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(tasks).ConfigureAwait(false);

        var firstFailure = failures.FirstOrDefault(f => f is not null);
        return new IdentityMapResult(results!, firstFailure?.Status ?? ResponseStatus.Success, firstFailure?.Message);
    }

    private async Task<(ResponseStatus, string?)?> MapBatchAsync(Prepared[] batch, IReadOnlyList<(DiiKind Kind, string Value)> items,
        IdentityMapOutcome?[] results, CancellationToken ct)
    {
        // One array per identity type, named by its hashed kind (email_hash, phone_hash): only hashes leave the caller.
        var types = IdentityKinds.IdentityTypes;
        var sent = new Prepared[types.Count][];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(batch.Length * 52 + 64);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            for (var t = 0; t < types.Count; t++)
            {
                var type = types[t].Type;
                sent[t] = batch.Where(p => p.Type == type).ToArray();
                w.WriteStartArray(IdentityKinds.Of(types[t].HashKind).ParameterName);
                foreach (var p in sent[t]) w.WriteStringValue(p.Hash);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }

        var request = _transport.CreateEnvelope(buffer.WrittenSpan);
        var (http, body) = await _transport.PostAsync(MapPath, request.Body, authenticate: true, ct).ConfigureAwait(false);
        var parsed = _transport.ReadEnvelopeResponse(body, request.Nonce, http);

        string? error = null;
        if (parsed.Status != ResponseStatus.Success) error = parsed.Message ?? parsed.StatusText;
        else if (parsed.Body is not { ValueKind: JsonValueKind.Object } b) error = "The response has no body object.";
        else
        {
            for (var t = 0; t < types.Count && error is null; t++)
                if (!TryFill(b, IdentityKinds.Of(types[t].HashKind).ParameterName, sent[t], items, results))
                    error = "The response does not match the request (missing array or wrong item count).";
        }
        if (error is null) return null;

        var status = parsed.Status == ResponseStatus.Success ? ResponseStatus.Error : parsed.Status;
        foreach (var p in batch)
        {
            var (kind, value) = items[p.Index];
            results[p.Index] = new UnmappedIdentity(kind, value, UnmappedReason.RequestFailed, error);
        }
        return (status, http == HttpStatusCode.OK ? error : $"HTTP {(int)http}: {error}");
    }

    private static bool TryFill(JsonElement body, string name, Prepared[] sent, IReadOnlyList<(DiiKind Kind, string Value)> items,
        IdentityMapOutcome?[] results)
    {
        if (!body.TryGetProperty(name, out var array))
            return sent.Length == 0;
        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() != sent.Length) return false;
        var outcomes = new IdentityMapOutcome[sent.Length];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var (kind, value) = items[sent[i].Index];
            if (item.ValueKind != JsonValueKind.Object) return false;
            if (item.TryGetProperty("u", out var u) && u.ValueKind == JsonValueKind.String)
            {
                string? prev = item.TryGetProperty("p", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                var refresh = item.TryGetProperty("r", out var r) && r.ValueKind == JsonValueKind.Number && r.TryGetInt64(out var rs)
                    ? DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(rs, 0, 253402300799L))
                    : DateTimeOffset.MinValue;
                outcomes[i] = new MappedIdentity(kind, value, u.GetString()!, prev, refresh);
            }
            else
            {
                var reasonText = item.TryGetProperty("e", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "unknown";
                var reason = reasonText switch
                {
                    "optout" => UnmappedReason.OptOut,
                    "invalid identifier" => UnmappedReason.InvalidIdentifier,
                    _ => UnmappedReason.Unknown,
                };
                outcomes[i] = new UnmappedIdentity(kind, value, reason, reasonText);
            }
            i++;
        }
        for (var j = 0; j < sent.Length; j++) results[sent[j].Index] = outcomes[j];
        return true;
    }
}
