using Uid2.Core.Auth;
using Uid2.Operator.Observability;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Auth;

/// <summary>The caller behind a valid API key.</summary>
public sealed record AuthenticatedClient(ApiKeyRecord Key)
{
    public int SiteId => Key.SiteId;
    public Role Roles => Key.Roles;
    public bool Has(Role role) => (Key.Roles & role) != 0;
}

public enum AuthOutcome { Missing, Invalid, Authenticated }

/// <summary>
/// Bearer API-key authentication: the key id (prefix + 5 chars) finds the stored candidates, then the salted
/// SHA-512 hash is compared in constant time. The presented key is never logged or kept.
/// <para>
/// Uniform on purpose: every presented key costs the same work whether or not its key id exists — an unknown key id is
/// checked against a dummy hash, and disabled keys are checked like the others — so response times do not tell an
/// attacker which key ids exist. A present but malformed header (another scheme, an empty key, bytes that are not
/// ASCII: Kestrel reads header bytes as Latin-1) is <see cref="AuthOutcome.Invalid"/>, which callers answer with 401.
/// </para>
/// </summary>
public static class ApiKeyAuthenticator
{
    private static readonly GeneratedApiKey Dummy = ApiKeys.Generate(0);

    public static AuthOutcome Authenticate(HttpRequest request, OperatorState state, out AuthenticatedClient? client)
    {
        var header = request.Headers.Authorization;
        var outcome = Authenticate(header.Count == 0 ? null : header[0], state, ApiKeys.Verify, out client);
        if (client is not null) OperatorMetrics.TagSite(request.HttpContext, client.SiteId);
        return outcome;
    }

    /// <summary>Authenticates an <c>Authorization</c> header value; <paramref name="verify"/> is the hash check (tests count it).</summary>
    public static AuthOutcome Authenticate(string? header, OperatorState state, Func<string, string, string, bool> verify,
        out AuthenticatedClient? client)
    {
        client = null;
        if (string.IsNullOrEmpty(header)) return AuthOutcome.Missing;
        const string bearer = "bearer ";
        if (header.Length <= bearer.Length || !header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return AuthOutcome.Invalid;
        var key = header.AsSpan(bearer.Length).Trim().ToString();
        if (key.Length == 0) return AuthOutcome.Invalid;

        var candidates = state.ApiKeysWithId(ApiKeys.KeyIdOf(key));
        if (candidates.IsEmpty)
        {
            _ = verify(key, Dummy.KeyHash, Dummy.KeySalt);
            return AuthOutcome.Invalid;
        }
        ApiKeyRecord? match = null;
        foreach (var candidate in candidates)
        {
            if (verify(key, candidate.KeyHash, candidate.KeySalt) && !candidate.Disabled) match ??= candidate;
        }
        if (match is null || state.GetParticipant(match.SiteId) is { Enabled: false }) return AuthOutcome.Invalid;
        client = new AuthenticatedClient(match);
        return AuthOutcome.Authenticated;
    }
}
