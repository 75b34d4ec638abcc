using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Uid2.Core;
using Uid2.Core.ClientSide;
using Uid2.Core.Consent;
using Uid2.Core.Envelope;
using Uid2.Core.Normalization;
using Uid2.Core.Tokens;
using Uid2.Operator.Configuration;
using Uid2.Operator.Observability;
using Uid2.Operator.Protocol;
using Uid2.Operator.State;

namespace Uid2.Operator.Services;

public enum TokenOutcome
{
    /// <summary>An identity was issued; <see cref="TokenReply.Body"/> holds it.</summary>
    Success,
    /// <summary>The user opted out; <see cref="TokenReply.Body"/> is <c>{"status":"optout"}</c>.</summary>
    OptOut,
    /// <summary>EUID: the consent string does not allow the vendor; <see cref="TokenReply.Body"/> says so.</summary>
    InsufficientUserConsent,
    /// <summary>EUID: the consent string is not a valid TCF string.</summary>
    InvalidUserConsent,
    /// <summary>The refresh token does not decode (or is empty, or of another scope).</summary>
    InvalidToken,
    ExpiredToken,
    /// <summary>A 388-char refresh token that does not open; <see cref="TokenReply.Detail"/> says why.</summary>
    MalformedRefreshToken,
    /// <summary>No salts or no active key yet; <see cref="TokenReply.Detail"/> says which.</summary>
    NotReady,
}

/// <summary>
/// What a generate or refresh answers. <see cref="Body"/>, for the outcomes that answer 200, is ready for the wire: JSON,
/// or (<see cref="Sealed"/>) that JSON already sealed under the key the caller holds (a refresh's response key, the
/// client-generate shared secret). Nothing secret is in it beyond what the wire carries.
/// </summary>
public readonly record struct TokenReply(TokenOutcome Outcome, byte[]? Body = null, bool Sealed = false, string? Detail = null)
{
    public bool HasBody => Body is not null;
}

public enum ValidateOutcome { Match, NoMatch, InvalidToken, OtherSite }

/// <summary>A parsed generate: the identity, the caller's site, the API it is answered in, and EUID's consent field.</summary>
/// <param name="ConsentPresent">The request carried <c>tcf_consent_string</c> (<paramref name="ConsentString"/> null when not a string).</param>
public readonly record struct GenerateInput(IdentityInput Identity, int SiteId, TokenApi Api, bool ConsentPresent = false, string? ConsentString = null);

/// <summary>A parsed refresh: the token as sent (trimmed; inner or 388-char wrapper) and the API it is answered in.</summary>
public readonly record struct RefreshInput(string RefreshToken, TokenApi Api);

/// <summary>A parsed client-generate request and the page's origin.</summary>
public readonly record struct ClientGenerateInput(ClientGenerateRequest Request, string Origin);

/// <summary>A client-generate answer: refused (<see cref="Error"/>) or a token reply sealed under the shared secret.</summary>
public readonly record struct ClientGenerateReply(ClientGenerateError Error, TokenReply Token = default);

public enum LogoutOutcome { Recorded, StoreUnavailable }

/// <summary>
/// The token lifecycle: generate, refresh, validate, logout and client-side generate. Takes parsed input and answers a
/// result, doing every protocol step between: consent, opt-out, derivation, token encoding with keys from the in-memory
/// key ring, lifetimes from <see cref="ITokenLifetimePolicy"/>, and (through <see cref="TokenWireCodec"/>) wrapping and
/// unwrapping refresh tokens and sealing refresh replies. Endpoints only map HTTP to input and results to HTTP.
/// Serves generate and refresh from the in-memory state only; never touches the store (logout records through
/// <see cref="OptOutService"/>).
/// </summary>
public sealed class TokenLifecycleService(
    OperatorStateProvider stateProvider,
    TimeProvider time,
    IOptions<OperatorOptions> options,
    ITokenLifetimePolicy lifetimes,
    OperatorMetrics metrics,
    ReplayGuard replayGuard,
    OptOutService optOuts)
{
    /// <summary>Tokens established before this instant are treated as opted out on refresh (protocol §6).</summary>
    public static readonly DateTimeOffset OptOutEpoch = new(2021, 3, 8, 17, 0, 0, TimeSpan.Zero);

    /// <summary>CSTG tokens: legacy bit + client-side generated (3).</summary>
    public const int ClientSidePrivacyBits = (int)(PrivacyBits.Legacy | PrivacyBits.ClientSideGenerated);

    private readonly OperatorOptions _options = options.Value;

    // ------------------------------------------------------------------ generate

    public TokenReply Generate(in GenerateInput input)
    {
        // EUID: tcf_consent_string, when present, is checked after the identity and before anything is derived.
        switch (CheckConsent(input.ConsentPresent, input.ConsentString))
        {
            case UserConsentStatus.Invalid: return new TokenReply(TokenOutcome.InvalidUserConsent);
            case UserConsentStatus.Insufficient: return new TokenReply(TokenOutcome.InsufficientUserConsent, TokenWireCodec.InsufficientUserConsentJson);
        }
        var reply = GenerateCore(input.Identity, input.SiteId, (int)PrivacyBits.Legacy, input.Api);
        metrics.Token("generate", OutcomeName(reply.Outcome));
        return reply;
    }

    /// <summary>
    /// EUID's consent rule for generate (<see cref="UserConsent"/>): checked only when this operator runs as EUID and the
    /// request carries <c>tcf_consent_string</c>. A UID2 operator ignores the field, as the reference does.
    /// </summary>
    private UserConsentStatus CheckConsent(bool present, string? value)
    {
        if (!present || stateProvider.Current.Scope != IdentityScope.Euid) return UserConsentStatus.Sufficient;
        var status = UserConsent.Evaluate(value, _options.TcfVendorId);
        if (status != UserConsentStatus.Sufficient)
            metrics.Token("generate", status == UserConsentStatus.Insufficient ? "insufficient_user_consent" : "invalid_user_consent");
        return status;
    }

    private TokenReply GenerateCore(in IdentityInput input, int siteId, int privacyBits, TokenApi api)
    {
        var state = stateProvider.Current;
        var now = Now();
        if (state.Deriver is null || state.TestIdentities is null) return NotReady("salts not loaded");

        var flh = state.Deriver.FirstLevelHash(input);
        if (stateProvider.IsOptedOut(state, flh)) return new TokenReply(TokenOutcome.OptOut, TokenWireCodec.OptOutJson);

        var derived = state.Deriver.DeriveFromFirstLevelHash(input.Type, flh, now);
        return Issue(state, now, input.Type, flh, derived.RawUid, siteId, privacyBits, established: now, api);
    }

    // ------------------------------------------------------------------ refresh

    /// <summary>
    /// Refreshes a refresh token: the inner (v2/v3) token, or the 388-char wrapper, which is opened here; a v2 reply to a
    /// wrapper is sealed under the response key it carried.
    /// </summary>
    public TokenReply Refresh(in RefreshInput input)
    {
        var token = input.RefreshToken;
        // As the reference: an empty token is an invalid one.
        if (token.Length == 0) return new TokenReply(TokenOutcome.InvalidToken);

        var state = stateProvider.Current;
        byte[]? responseKey = null;
        if (token.Length == RefreshTokenWrapper.WrappedLength)
        {
            if (!TokenWireCodec.TryUnwrap(token, state.Keys, out var inner, out responseKey, out var failure))
                return new TokenReply(TokenOutcome.MalformedRefreshToken, Detail: failure);
            token = inner!;
        }

        var reply = RefreshCore(state, token, input.Api);
        metrics.Token("refresh", OutcomeName(reply.Outcome));
        if (input.Api == TokenApi.V2 && responseKey is not null && reply.Body is { } json)
        {
            reply = reply with { Body = TokenWireCodec.SealRefreshReply(json, responseKey), Sealed = true };
            CryptographicOperations.ZeroMemory(responseKey);
        }
        return reply;
    }

    private TokenReply RefreshCore(OperatorState state, string refreshToken, TokenApi api)
    {
        var now = Now();
        if (state.Deriver is null || state.TestIdentities is null) return NotReady("salts not loaded");

        if (RefreshTokenCodec.TryDecode(refreshToken, state.Keys, out var token) != TokenDecodeStatus.Success || token is null)
            return new TokenReply(TokenOutcome.InvalidToken);
        if (token.Scope != state.Scope) return new TokenReply(TokenOutcome.InvalidToken);
        if (token.Expires < now) return new TokenReply(TokenOutcome.ExpiredToken);
        if (token.Established < OptOutEpoch) return new TokenReply(TokenOutcome.OptOut, TokenWireCodec.OptOutJson);

        var flh = token.FirstLevelHash;
        if (state.TestIdentities.IsRefreshOptOut(flh) || stateProvider.IsOptedOut(state, flh))
            return new TokenReply(TokenOutcome.OptOut, TokenWireCodec.OptOutJson);

        var derived = state.Deriver.DeriveFromFirstLevelHash(token.Type, flh, now);
        return Issue(state, now, token.Type, flh, derived.RawUid, token.SiteId, token.PrivacyBits, token.Established, api);
    }

    // ------------------------------------------------------------------ validate

    /// <summary>
    /// Does the advertising token carry the raw UID of this identity? As in the reference operator, only the validate
    /// test identities (<c>validate@example.com</c>, <c>+12345678901</c>) are compared; any other identity answers
    /// <see cref="ValidateOutcome.NoMatch"/>, so validate never tells whose token it is.
    /// <paramref name="callerSiteId"/> null = no site check (v1, as the reference).
    /// </summary>
    public ValidateOutcome Validate(ReadOnlySpan<char> advertisingToken, in IdentityInput input, int? callerSiteId)
    {
        var state = stateProvider.Current;
        if (state.Deriver is null || state.TestIdentities is null) return ValidateOutcome.InvalidToken;
        if (AdvertisingTokenCodec.TryDecode(advertisingToken, state.Keys, out var token) != TokenDecodeStatus.Success || token is null)
            return ValidateOutcome.InvalidToken;
        if (callerSiteId is { } site && token.SiteId != site) return ValidateOutcome.OtherSite;

        var flh = state.Deriver.FirstLevelHash(input);
        if (!state.TestIdentities.IsValidateIdentity(input.Type, flh)) return ValidateOutcome.NoMatch;
        var derived = state.Deriver.DeriveFromFirstLevelHash(input.Type, flh, Now());
        ReadOnlySpan<byte> expected = derived.RawUid;
        ReadOnlySpan<byte> actual = token.RawUid;
        if (actual.Length == 32 && expected.Length == 33) expected = expected[1..];
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? ValidateOutcome.Match : ValidateOutcome.NoMatch;
    }

    // ------------------------------------------------------------------ logout

    /// <summary>Records the user's opt-out durably before answering; <see cref="LogoutOutcome.StoreUnavailable"/> when it could not be.</summary>
    public async Task<LogoutOutcome> LogoutAsync(IdentityInput input, CancellationToken ct) =>
        await optOuts.OptOutAsync(input, ct) ? LogoutOutcome.Recorded : LogoutOutcome.StoreUnavailable;

    // ------------------------------------------------------------------ client-side generate

    /// <summary>
    /// Client-side generation (protocol §7), in the reference's order: subscription, disabled, app name or origin, the
    /// payload (public key, IV, decryption), then — not in the reference — a fresh timestamp and a first sight of the
    /// request, then the identity; the identity reply is sealed under the ECDH shared secret.
    /// </summary>
    public ClientGenerateReply ClientGenerate(in ClientGenerateInput input)
    {
        var request = input.Request;
        var state = stateProvider.Current;
        var keypair = request.SubscriptionId is null ? null : state.ClientSide.GetKeypair(request.SubscriptionId);
        if (keypair is null) return new(ClientGenerateError.BadSubscriptionId);
        if (keypair.Disabled) return new(ClientGenerateError.Disabled);

        if (request.AppName is not null)
        {
            if (!state.ClientSide.IsAppNameAllowed(keypair.SiteId, request.AppName)) return new(ClientGenerateError.UnexpectedAppName);
        }
        else if (!SiteDomainNames.IsOriginAllowed(input.Origin, state.ClientSide.DomainNames(keypair.SiteId)))
        {
            return new(ClientGenerateError.UnexpectedOrigin);
        }

        if (request.Payload is null || request.Iv is null || request.PublicKey is null) return new(ClientGenerateError.MissingParameters);

        if (!TryFromBase64(request.PublicKey, out var clientPublicKey)
            || !ClientSideKeys.TryDeriveSharedSecret(keypair.PrivateKeyPkcs8, clientPublicKey, out var sharedSecret))
            return new(ClientGenerateError.BadPublicKey);

        if (!TryFromBase64(request.Iv, out var iv) || iv.Length != 12) return new(ClientGenerateError.BadIv);

        var aad = ClientSideKeys.AdditionalData(request.Timestamp, request.AppName);
        if (!TryFromBase64(request.Payload, out var payload)
            || !ClientSideKeys.TryDecryptPayload(sharedSecret, iv, payload, aad, out var plaintext))
            return new(ClientGenerateError.DecryptionFailed);

        // The timestamp (authenticated as AAD above) must be recent, so a captured request cannot be replayed for long.
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var toleranceMs = _options.ClientSideTokenGenerateMaxTimestampSkewSeconds * 1000L;
        if (request.Timestamp < now - toleranceMs || request.Timestamp > now + toleranceMs) return new(ClientGenerateError.BadTimestamp);

        // Nor once within that window: each authentic request (its IV) is accepted once.
        var replay = replayGuard.TryAccept(ReplayGuard.ClientSideId(keypair.SubscriptionId, iv), request.Timestamp + toleranceMs);
        if (replay != ReplayVerdict.Accepted)
            return new(replay == ReplayVerdict.Full ? ClientGenerateError.ReplayCacheFull : ClientGenerateError.Replayed);

        if (!ClientGenerateRequest.TryReadIdentity(plaintext!, out var identity, out var identityError)) return new(identityError);

        var reply = GenerateCore(identity, keypair.SiteId, ClientSidePrivacyBits, TokenApi.V2);
        metrics.Token("client_generate", OutcomeName(reply.Outcome));
        if (reply.Body is { } json) reply = reply with { Body = V2Envelope.EncryptNoNonce(json, sharedSecret), Sealed = true };
        return new(ClientGenerateError.None, reply);
    }

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        var buffer = new byte[(text.Length + 3) / 4 * 3];
        if (Convert.TryFromBase64String(text, buffer, out var written))
        {
            bytes = buffer.AsSpan(0, written).ToArray();
            return true;
        }
        bytes = [];
        return false;
    }

    // ------------------------------------------------------------------ issuing

    private TokenReply Issue(OperatorState state, DateTimeOffset now, IdentityType type, byte[] flh, byte[] rawUid,
        int siteId, int privacyBits, DateTimeOffset established, TokenApi api)
    {
        var master = state.Keys.ActiveMasterKey(now);
        var siteKey = state.Keys.ActivePublisherKey(siteId, now);
        var refreshKey = state.Keys.ActiveRefreshKey(now);
        if (master is null || siteKey is null || refreshKey is null) return NotReady("no active key");

        var lifetime = lifetimes.For(siteId);
        var identityExpires = now.AddSeconds(lifetime.IdentityExpiresAfterSeconds);
        var refreshExpires = now.AddSeconds(lifetime.RefreshExpiresAfterSeconds);
        var refreshFrom = now.AddSeconds(lifetime.RefreshFromAfterSeconds);

        var advertising = AdvertisingTokenCodec.EncodeV4(new AdvertisingToken
        {
            Version = TokenVersion.V4,
            Scope = state.Scope,
            Type = type,
            RawUid = rawUid,
            SiteId = siteId,
            PrivacyBits = privacyBits,
            Expires = identityExpires,
            Created = now,
            Established = established,
            Refreshed = now,
            Operator = OperatorIdentity.Default,
            MasterKeyId = master.Id,
            SiteKeyId = siteKey.Id,
        }, master, siteKey);

        var refresh = RefreshTokenCodec.EncodeV3(new RefreshToken
        {
            Version = 3,
            Scope = state.Scope,
            Type = type,
            FirstLevelHash = flh,
            SiteId = siteId,
            PrivacyBits = privacyBits,
            Created = now,
            Expires = refreshExpires,
            Established = established,
            Operator = OperatorIdentity.Default,
            KeyId = refreshKey.Id,
        }, refreshKey);

        var issued = new IssuedTokens(advertising, refresh, identityExpires, refreshExpires, refreshFrom, refreshKey, state.Scope);
        return new TokenReply(TokenOutcome.Success, TokenWireCodec.IdentityJson(issued, api));
    }

    private static TokenReply NotReady(string reason) => new(TokenOutcome.NotReady, Detail: reason);

    private static string OutcomeName(TokenOutcome outcome) => outcome switch
    {
        TokenOutcome.Success => "success",
        TokenOutcome.OptOut => "optout",
        TokenOutcome.InvalidToken => "invalid_token",
        TokenOutcome.ExpiredToken => "expired_token",
        _ => "not_ready",
    };

    private DateTimeOffset Now()
    {
        // Tokens carry whole milliseconds.
        var now = time.GetUtcNow();
        return DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
    }
}
