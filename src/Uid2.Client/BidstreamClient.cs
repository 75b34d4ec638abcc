namespace Uid2.Client;

/// <summary>
/// For DSPs: decrypts advertising tokens from bid requests. Keys come from <c>POST /v2/key/bidstream</c> (ID_READER role)
/// via <see cref="RefreshAsync"/> (call it at start-up and then periodically, e.g. hourly) or <see cref="RefreshJson"/>.
/// Thread-safe: keys are an immutable snapshot swapped atomically. <see cref="Decrypt(string, DateTimeOffset, string?)"/>
/// never throws for bad tokens.
/// </summary>
public sealed class BidstreamClient
{
    /// <summary>Path of the key endpoint.</summary>
    public const string KeyPath = "/v2/key/bidstream";

    private readonly TokenClientCore _core;

    /// <summary>Creates a bidstream client.</summary>
    /// <param name="baseUrl">Operator base URL, e.g. <c>https://prod.uidapi.com</c>.</param>
    /// <param name="apiKey">The API key (ID_READER role).</param>
    /// <param name="clientSecret">The base64 client secret (32 bytes).</param>
    /// <param name="http">Optional <see cref="HttpClient"/>; a shared one is used otherwise.</param>
    /// <param name="time">Optional clock for <see cref="Decrypt(string, string?)"/>, envelopes and retry delays.</param>
    /// <exception cref="ArgumentException">The base URL is relative or the client secret is not base64 of 32 bytes.</exception>
    public BidstreamClient(Uri baseUrl, string apiKey, string clientSecret, HttpClient? http = null, TimeProvider? time = null)
    {
        _core = new TokenClientCore(new Transport(baseUrl, apiKey, clientSecret, http, time), KeyPath, ClientKind.Bidstream);
    }

    /// <summary>How many HTTP attempts a refresh makes on network errors, 5xx, 408 and 429 (default 3).</summary>
    public int RefreshAttempts { get => _core.RefreshAttempts; set => _core.RefreshAttempts = value; }

    /// <summary>Delay before the second attempt, doubled for each further one (default 1 s).</summary>
    public TimeSpan RefreshBackoff { get => _core.RefreshBackoff; set => _core.RefreshBackoff = value; }

    /// <summary>The keys in use, or null before the first successful refresh.</summary>
    public KeyContainer? Keys => _core.Keys;

    /// <summary>
    /// Fetches <c>/v2/key/bidstream</c> (envelope with no payload), retrying transient failures. On success the new keys replace
    /// the old ones atomically; on failure the previous keys stay in use and the result says why.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public Task<RefreshResult> RefreshAsync(CancellationToken ct = default) => _core.RefreshAsync(ct);

    /// <summary>Loads a key response (the decrypted JSON, with or without the <c>{"status","body"}</c> wrapper). Keeps the previous keys on failure.</summary>
    public RefreshResult RefreshJson(string json) => _core.RefreshJson(json);

    /// <summary>
    /// Decrypts an advertising token (v2, v3 or v4) into a raw UID. <paramref name="domainOrAppName"/> is the domain or app name
    /// from the bid request; it is checked only for client-side generated tokens.
    /// </summary>
    public DecryptionResponse Decrypt(string token, DateTimeOffset now, string? domainOrAppName = null) =>
        _core.Decrypt(token, now, domainOrAppName);

    /// <summary>As <see cref="Decrypt(string, DateTimeOffset, string?)"/> at the client's current time.</summary>
    public DecryptionResponse Decrypt(string token, string? domainOrAppName) =>
        _core.Decrypt(token, _core.Time.GetUtcNow(), domainOrAppName);

    /// <summary>The least room <see cref="Decrypt(ReadOnlySpan{char}, DateTimeOffset, Span{char}, out int, string?)"/> needs for a UID.</summary>
    public const int UidChars = TokenClientCore.UidChars;

    /// <summary>
    /// As <see cref="Decrypt(string, DateTimeOffset, string?)"/>, allocating nothing: on success the raw UID (standard
    /// base64, 44 chars) is written to <paramref name="uid"/> (at least <see cref="UidChars"/> long) and
    /// <paramref name="uidLength"/> says how many chars; the response's <see cref="DecryptionResponse.Uid"/> stays null.
    /// </summary>
    public DecryptionResponse Decrypt(ReadOnlySpan<char> token, DateTimeOffset now, Span<char> uid, out int uidLength, string? domainOrAppName = null) =>
        _core.Decrypt(token, now, domainOrAppName, uid, out uidLength);
}
