using System.Buffers.Text;
using System.Net;
using Uid2.Core;
using Uid2.Core.Tokens;

namespace Uid2.Client;

internal enum ClientKind
{
    Bidstream,
    Sharing,
}

/// <summary>Key refresh (retry, keep-last-good, atomic swap) and token decrypt/encrypt shared by the bidstream and sharing clients.</summary>
internal sealed class TokenClientCore
{
    private readonly Transport _transport;
    private readonly string _keyPath;
    private readonly ClientKind _kind;
    private KeyContainer? _keys;

    public TokenClientCore(Transport transport, string keyPath, ClientKind kind)
    {
        _transport = transport;
        _keyPath = keyPath;
        _kind = kind;
    }

    public TimeProvider Time => _transport.Time;
    public KeyContainer? Keys => Volatile.Read(ref _keys);
    public int RefreshAttempts { get; set; } = 3;
    public TimeSpan RefreshBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public RefreshResult RefreshJson(string json)
    {
        if (!KeyContainer.TryParse(json, out var container, out var error)) return RefreshResult.Fail(error!, 0);
        Volatile.Write(ref _keys, container);
        return RefreshResult.Ok(0);
    }

    public async Task<RefreshResult> RefreshAsync(CancellationToken ct)
    {
        var attempts = Math.Max(1, RefreshAttempts);
        var reason = string.Empty;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            if (attempt > 1 && RefreshBackoff > TimeSpan.Zero)
                await Task.Delay(RefreshBackoff * (1 << Math.Min(attempt - 2, 10)), _transport.Time, ct).ConfigureAwait(false);

            bool transient;
            try
            {
                var request = _transport.CreateEnvelope(ReadOnlySpan<byte>.Empty);
                var (status, body) = await _transport.PostAsync(_keyPath, request.Body, authenticate: true, ct).ConfigureAwait(false);
                if (status == HttpStatusCode.OK)
                {
                    var parsed = _transport.ReadEnvelopeResponse(body, request.Nonce, status);
                    if (parsed.Status == ResponseStatus.Success && parsed.Body is { } keysBody)
                    {
                        if (KeyContainer.TryParse(keysBody.GetRawText(), out var container, out var error))
                        {
                            Volatile.Write(ref _keys, container);
                            return RefreshResult.Ok(attempt);
                        }
                        return RefreshResult.Fail(error!, attempt);
                    }
                    return RefreshResult.Fail($"Key response: {parsed.StatusText} {parsed.Message}".TrimEnd(), attempt);
                }
                reason = $"HTTP {(int)status}: {Transport.ParseJson(System.Text.Encoding.UTF8.GetBytes(body), status).Message ?? body}";
                transient = (int)status >= 500 || status == HttpStatusCode.TooManyRequests || status == HttpStatusCode.RequestTimeout;
            }
            catch (HttpRequestException e)
            {
                reason = "Web error: " + e.Message;
                transient = true;
            }
            catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
            {
                reason = "Timeout: " + e.Message;
                transient = true;
            }
            if (!transient) return RefreshResult.Fail(reason, attempt);
        }
        return RefreshResult.Fail(reason, attempts);
    }

    public DecryptionResponse Decrypt(string? token, DateTimeOffset now, string? domainOrAppName)
    {
        return Decrypt(token.AsSpan(), now, domainOrAppName, [], out _, asString: true); // null reads as empty: InvalidPayload
    }

    /// <summary>
    /// Decrypts without allocating: on success the raw UID's standard base64 (44 chars) is written to
    /// <paramref name="uid"/> and <paramref name="uidLength"/> says how many chars; the response's <c>Uid</c> is null.
    /// <paramref name="uid"/> too short for the UID (<see cref="UidChars"/>) answers <see cref="DecryptionStatus.InvalidPayload"/>.
    /// </summary>
    public DecryptionResponse Decrypt(ReadOnlySpan<char> token, DateTimeOffset now, string? domainOrAppName, Span<char> uid, out int uidLength) =>
        Decrypt(token, now, domainOrAppName, uid, out uidLength, asString: false);

    /// <summary>The chars a raw UID takes as base64 (33 bytes → 44 chars): the least a span destination needs.</summary>
    public const int UidChars = 44;

    private DecryptionResponse Decrypt(ReadOnlySpan<char> token, DateTimeOffset now, string? domainOrAppName, Span<char> uid, out int uidLength,
        bool asString)
    {
        uidLength = 0;
        var keys = Volatile.Read(ref _keys);
        if (keys is null) return new(DecryptionStatus.NotInitialized);
        if (!keys.IsValid(now)) return new(DecryptionStatus.KeysNotSynced);
        if (token.IsEmpty) return new(DecryptionStatus.InvalidPayload);
        try
        {
            return DecryptCore(token, keys, now, domainOrAppName, asString, uid, out uidLength);
        }
        catch (Exception) // a bug in a codec must not take a bidder down: report it like the reference SDK does
        {
            return new(DecryptionStatus.InvalidPayload);
        }
    }

    private DecryptionResponse DecryptCore(ReadOnlySpan<char> token, KeyContainer keys, DateTimeOffset now, string? domainOrAppName,
        bool asString, Span<char> uid, out int uidLength)
    {
        uidLength = 0;
        // Header peek (§3.2): needed to reject a foreign scope before any key lookup, as the reference SDKs do.
        scoped ReadOnlySpan<char> text = token;
        var header = AdvertisingTokenCodec.TryReadHeader(text, out var version, out var firstByte);
        if (header == TokenDecodeStatus.VersionNotSupported) return new(DecryptionStatus.VersionNotSupported);
        if (header != TokenDecodeStatus.Success) return new(DecryptionStatus.InvalidPayload);

        if (version != TokenVersion.V2 && IdentityByte.ScopeOf(firstByte) != keys.IdentityScope)
            return new(DecryptionStatus.InvalidIdentityScope);

        // v4 is base64url; accept a v4 token re-encoded as standard base64 too (as the reference SDK does).
        Span<char> converted = stackalloc char[0];
        if (version == TokenVersion.V4 && text.IndexOfAny('+', '/', '=') >= 0)
        {
            if (text.Length > 256) return new(DecryptionStatus.InvalidPayload);
            converted = stackalloc char[text.Length];
            var len = 0;
            foreach (var c in text)
            {
                if (c == '=') continue;
                converted[len++] = c switch { '+' => '-', '/' => '_', _ => c };
            }
            text = converted[..len];
        }

        var status = AdvertisingTokenCodec.TryDecodeFields(text, keys, out var t);
        if (status != TokenDecodeStatus.Success)
        {
            return new(status switch
            {
                TokenDecodeStatus.UnknownMasterKey => DecryptionStatus.NotAuthorizedForMasterKey,
                TokenDecodeStatus.UnknownSiteKey => DecryptionStatus.NotAuthorizedForKey,
                TokenDecodeStatus.VersionNotSupported => DecryptionStatus.VersionNotSupported,
                TokenDecodeStatus.InvalidIdentityScope => DecryptionStatus.InvalidIdentityScope,
                _ => DecryptionStatus.InvalidPayload,
            });
        }

        var tokenVersion = (int)t.Version;
        IdentityType? type = t.Version == TokenVersion.V2 ? null : t.Type;
        var siteKeyKeyset = keys.KeysetIdOf(t.SiteKeyId);
        var cstg = (t.PrivacyBits & (int)PrivacyBits.ClientSideGenerated) != 0;

        DecryptionResponse Fail(DecryptionStatus s) =>
            new(s, null, t.Established, t.SiteId, siteKeyKeyset, type, tokenVersion, cstg, t.Expires);

        if (t.Expires < now) return Fail(DecryptionStatus.ExpiredToken);
        if ((t.PrivacyBits & (int)PrivacyBits.OptedOut) != 0) return Fail(DecryptionStatus.UserOptedOut);
        if (cstg && _kind == ClientKind.Bidstream && !keys.IsDomainOrAppNameAllowed(t.SiteId, domainOrAppName))
            return Fail(DecryptionStatus.DomainOrAppNameCheckFailed);

        // v2 tokens carry no generation time: "now" stands in, so v2 checks the remaining lifetime.
        var generated = t.Version == TokenVersion.V2 ? now : t.Created;
        var maxLifetime = _kind == ClientKind.Bidstream ? keys.MaxBidstreamLifetimeSeconds : keys.MaxSharingLifetimeSeconds;
        if ((t.Expires - generated).TotalSeconds > maxLifetime || (generated - now).TotalSeconds > keys.AllowClockSkewSeconds)
            return Fail(DecryptionStatus.InvalidTokenLifetime);

        string? uidText = null;
        if (asString) uidText = Convert.ToBase64String(t.RawUid);
        else if ((uidLength = t.WriteRawUidBase64(uid)) == 0) return Fail(DecryptionStatus.InvalidPayload);
        return new(DecryptionStatus.Success, uidText, t.Established, t.SiteId, siteKeyKeyset, type, tokenVersion, cstg, t.Expires);
    }

    public EncryptionResponse Encrypt(string? rawUid, DateTimeOffset now)
    {
        var keys = Volatile.Read(ref _keys);
        if (keys is null) return new(EncryptionStatus.NotInitialized);
        if (!keys.IsValid(now)) return new(EncryptionStatus.KeysNotSynced);

        var master = keys.MasterKeysetId is { } mk ? keys.ActiveKeyOfKeyset(mk, now) : null;
        if (master is null) return new(EncryptionStatus.NotAuthorizedForMasterKey);
        var site = keys.DefaultKeysetId is { } dk ? keys.ActiveKeyOfKeyset(dk, now) : null;
        if (site is null) return new(EncryptionStatus.NotAuthorizedForKey);

        Span<byte> buffer = stackalloc byte[36];
        if (rawUid is null || !Convert.TryFromBase64String(rawUid, buffer, out var len) || len is not (32 or 33))
            return new(EncryptionStatus.EncryptionFailure);
        var raw = buffer[..len].ToArray();
        var scope = keys.IdentityScope;
        // A 33-byte (v3/v4) raw UID states its type (and scope) in its first byte, which must be a type the protocol
        // defines; a 32-byte (v2) raw UID is email by definition.
        var type = IdentityType.Email;
        if (len == 33 && (!IdentityByte.TryTypeOf(raw[0], out type) || IdentityByte.ScopeOf(raw[0]) != scope))
            return new(EncryptionStatus.EncryptionFailure);

        try
        {
            var token = new AdvertisingToken
            {
                Version = TokenVersion.V4,
                Scope = scope,
                Type = type,
                RawUid = raw,
                SiteId = keys.CallerSiteId,
                PrivacyBits = 0,
                Expires = now.AddSeconds(keys.TokenExpirySeconds),
                Created = now,
                Established = now,
                Refreshed = now,
            };
            return new(EncryptionStatus.Success, AdvertisingTokenCodec.EncodeV4(token, master, site));
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException or ArgumentOutOfRangeException)
        {
            return new(EncryptionStatus.EncryptionFailure);
        }
    }
}
