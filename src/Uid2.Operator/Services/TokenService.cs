using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Uid2.Core;
using Uid2.Core.Consent;
using Uid2.Core.Keys;
using Uid2.Core.Normalization;
using Uid2.Core.Tokens;
using Uid2.Operator.Configuration;
using Uid2.Operator.Observability;
using Uid2.Operator.State;

namespace Uid2.Operator.Services;

/// <summary>A freshly issued token pair. <see cref="RefreshToken"/> is the inner (v3) refresh token.</summary>
public sealed record IssuedIdentity(
    string AdvertisingToken,
    string RefreshToken,
    DateTimeOffset IdentityExpires,
    DateTimeOffset RefreshExpires,
    DateTimeOffset RefreshFrom,
    EncryptionKey RefreshKey,
    IdentityScope Scope);

public enum TokenOutcome { Success, OptOut, InvalidToken, ExpiredToken, NotReady }

public readonly record struct TokenResult(TokenOutcome Outcome, IssuedIdentity? Identity = null, string? Detail = null)
{
    public static TokenResult Of(IssuedIdentity identity) => new(TokenOutcome.Success, identity);
    public static readonly TokenResult OptOut = new(TokenOutcome.OptOut);
    public static readonly TokenResult Invalid = new(TokenOutcome.InvalidToken);
    public static readonly TokenResult Expired = new(TokenOutcome.ExpiredToken);
    public static TokenResult NotReady(string reason) => new(TokenOutcome.NotReady, Detail: reason);
}

public enum ValidateOutcome { Match, NoMatch, InvalidToken, OtherSite }

/// <summary>
/// Generate, refresh and validate: the protocol logic between the HTTP edge and the codecs.
/// Serves from the in-memory state only; never touches the store.
/// </summary>
public sealed class TokenService(OperatorStateProvider stateProvider, TimeProvider time, IOptions<OperatorOptions> options, OperatorMetrics metrics)
{
    /// <summary>Tokens established before this instant are treated as opted out on refresh (protocol §6).</summary>
    public static readonly DateTimeOffset OptOutEpoch = new(2021, 3, 8, 17, 0, 0, TimeSpan.Zero);

    private readonly OperatorOptions _options = options.Value;

    public TokenResult Generate(in IdentityInput input, int siteId, int privacyBits)
    {
        var result = GenerateCore(input, siteId, privacyBits);
        metrics.Token((privacyBits & (int)PrivacyBits.ClientSideGenerated) != 0 ? "client_generate" : "generate", OutcomeName(result.Outcome));
        return result;
    }

    /// <summary>
    /// EUID's consent rule for generate (<see cref="UserConsent"/>): checked only when this operator runs as EUID and the
    /// request carries <c>tcf_consent_string</c> (<paramref name="present"/>; <paramref name="value"/> null when that field is
    /// JSON null or not a string). A UID2 operator ignores the field, as the reference does.
    /// </summary>
    public UserConsentStatus CheckConsent(bool present, string? value)
    {
        if (!present || stateProvider.Current.Scope != IdentityScope.Euid) return UserConsentStatus.Sufficient;
        var status = UserConsent.Evaluate(value, _options.TcfVendorId);
        if (status != UserConsentStatus.Sufficient)
            metrics.Token("generate", status == UserConsentStatus.Insufficient ? "insufficient_user_consent" : "invalid_user_consent");
        return status;
    }

    /// <summary>Refreshes an inner refresh token (v2 or v3, not the 388-char wrapper).</summary>
    public TokenResult Refresh(ReadOnlySpan<char> refreshToken)
    {
        var result = RefreshCore(refreshToken);
        metrics.Token("refresh", OutcomeName(result.Outcome));
        return result;
    }

    private static string OutcomeName(TokenOutcome outcome) => outcome switch
    {
        TokenOutcome.Success => "success",
        TokenOutcome.OptOut => "optout",
        TokenOutcome.InvalidToken => "invalid_token",
        TokenOutcome.ExpiredToken => "expired_token",
        _ => "not_ready",
    };

    private TokenResult GenerateCore(in IdentityInput input, int siteId, int privacyBits)
    {
        var state = stateProvider.Current;
        var now = Now();
        if (state.Deriver is null || state.TestIdentities is null) return TokenResult.NotReady("salts not loaded");

        var flh = state.Deriver.FirstLevelHash(input);
        if (stateProvider.IsOptedOut(state, flh)) return TokenResult.OptOut;

        var derived = state.Deriver.DeriveFromFirstLevelHash(input.Type, flh, now);
        return Issue(state, now, input.Type, flh, derived.RawUid, siteId, privacyBits, established: now);
    }

    private TokenResult RefreshCore(ReadOnlySpan<char> refreshToken)
    {
        var state = stateProvider.Current;
        var now = Now();
        if (state.Deriver is null || state.TestIdentities is null) return TokenResult.NotReady("salts not loaded");

        if (RefreshTokenCodec.TryDecode(refreshToken, state.Keys, out var token) != TokenDecodeStatus.Success || token is null)
            return TokenResult.Invalid;
        if (token.Scope != state.Scope) return TokenResult.Invalid;
        if (token.Expires < now) return TokenResult.Expired;
        if (token.Established < OptOutEpoch) return TokenResult.OptOut;

        var flh = token.FirstLevelHash;
        if (state.TestIdentities.IsRefreshOptOut(flh) || stateProvider.IsOptedOut(state, flh)) return TokenResult.OptOut;

        var derived = state.Deriver.DeriveFromFirstLevelHash(token.Type, flh, now);
        return Issue(state, now, token.Type, flh, derived.RawUid, token.SiteId, token.PrivacyBits, token.Established);
    }

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

    private TokenResult Issue(OperatorState state, DateTimeOffset now, IdentityType type, byte[] flh, byte[] rawUid,
        int siteId, int privacyBits, DateTimeOffset established)
    {
        var master = state.Keys.ActiveMasterKey(now);
        var siteKey = state.Keys.ActivePublisherKey(siteId, now);
        var refreshKey = state.Keys.ActiveRefreshKey(now);
        if (master is null || siteKey is null || refreshKey is null) return TokenResult.NotReady("no active key");

        var identityExpires = now.AddSeconds(_options.IdentityTokenExpiresAfterSeconds);
        var refreshExpires = now.AddSeconds(_options.RefreshTokenExpiresAfterSeconds);
        var refreshFrom = now.AddSeconds(_options.RefreshIdentityTokenAfterSeconds);

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

        return TokenResult.Of(new IssuedIdentity(advertising, refresh, identityExpires, refreshExpires, refreshFrom, refreshKey, state.Scope));
    }

    private DateTimeOffset Now()
    {
        // Tokens carry whole milliseconds.
        var now = time.GetUtcNow();
        return DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
    }
}
