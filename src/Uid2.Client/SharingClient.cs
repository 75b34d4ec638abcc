namespace Uid2.Client;

/// <summary>
/// For sharing participants: encrypts raw UIDs into v4 tokens and decrypts tokens shared by others. Keys come from
/// <c>POST /v2/key/sharing</c> (SHARER or ID_READER role) via <see cref="RefreshAsync"/> or <see cref="RefreshJson"/>.
/// Thread-safe; never throws for bad tokens.
/// </summary>
public sealed class SharingClient
{
    /// <summary>Path of the key endpoint.</summary>
    public const string KeyPath = "/v2/key/sharing";

    private readonly TokenClientCore _core;

    /// <summary>Creates a sharing client.</summary>
    /// <param name="baseUrl">Operator base URL.</param>
    /// <param name="apiKey">The API key (SHARER role to encrypt).</param>
    /// <param name="clientSecret">The base64 client secret (32 bytes).</param>
    /// <param name="http">Optional <see cref="HttpClient"/>; a shared one is used otherwise.</param>
    /// <param name="time">Optional clock for the overloads without <c>now</c>, envelopes and retry delays.</param>
    /// <exception cref="ArgumentException">The base URL is relative or the client secret is not base64 of 32 bytes.</exception>
    public SharingClient(Uri baseUrl, string apiKey, string clientSecret, HttpClient? http = null, TimeProvider? time = null)
    {
        _core = new TokenClientCore(new Transport(baseUrl, apiKey, clientSecret, http, time), KeyPath, ClientKind.Sharing);
    }

    /// <summary>How many HTTP attempts a refresh makes on network errors, 5xx, 408 and 429 (default 3).</summary>
    public int RefreshAttempts { get => _core.RefreshAttempts; set => _core.RefreshAttempts = value; }

    /// <summary>Delay before the second attempt, doubled for each further one (default 1 s).</summary>
    public TimeSpan RefreshBackoff { get => _core.RefreshBackoff; set => _core.RefreshBackoff = value; }

    /// <summary>The keys in use, or null before the first successful refresh.</summary>
    public KeyContainer? Keys => _core.Keys;

    /// <summary>Fetches <c>/v2/key/sharing</c>, retrying transient failures; keeps the previous keys on failure.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public Task<RefreshResult> RefreshAsync(CancellationToken ct = default) => _core.RefreshAsync(ct);

    /// <summary>Loads a key response (with or without the <c>{"status","body"}</c> wrapper). Keeps the previous keys on failure.</summary>
    public RefreshResult RefreshJson(string json) => _core.RefreshJson(json);

    /// <summary>Decrypts a shared token (v2, v3 or v4), checking its lifetime against <c>max_sharing_lifetime_seconds</c>.</summary>
    public DecryptionResponse Decrypt(string token, DateTimeOffset now) => _core.Decrypt(token, now, null);

    /// <summary>As <see cref="Decrypt(string, DateTimeOffset)"/> at the client's current time.</summary>
    public DecryptionResponse Decrypt(string token) => _core.Decrypt(token, _core.Time.GetUtcNow(), null);

    /// <summary>
    /// As <see cref="Decrypt(string, DateTimeOffset)"/>, allocating nothing: the raw UID's base64 (44 chars) goes to
    /// <paramref name="uid"/> (at least <see cref="BidstreamClient.UidChars"/> long); <paramref name="uidLength"/> says how many chars.
    /// </summary>
    public DecryptionResponse Decrypt(ReadOnlySpan<char> token, DateTimeOffset now, Span<char> uid, out int uidLength) =>
        _core.Decrypt(token, now, null, uid, out uidLength);

    /// <summary>
    /// Encrypts a raw UID (base64, 32 or 33 bytes) into a v4 token: master key = active key of <c>master_keyset_id</c>, site key =
    /// active key of <c>default_keyset_id</c>, site id = <c>caller_site_id</c>, expiry = now + <c>token_expiry_seconds</c>, privacy bits 0.
    /// </summary>
    public EncryptionResponse Encrypt(string rawUid, DateTimeOffset now) => _core.Encrypt(rawUid, now);

    /// <summary>As <see cref="Encrypt(string, DateTimeOffset)"/> at the client's current time.</summary>
    public EncryptionResponse Encrypt(string rawUid) => _core.Encrypt(rawUid, _core.Time.GetUtcNow());
}
