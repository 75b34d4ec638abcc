using Uid2.Core.Auth;
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
/// </summary>
public static class ApiKeyAuthenticator
{
    public static AuthOutcome Authenticate(HttpRequest request, OperatorState state, out AuthenticatedClient? client)
    {
        client = null;
        var header = request.Headers.Authorization;
        if (header.Count == 0) return AuthOutcome.Missing;
        var value = header[0];
        if (string.IsNullOrEmpty(value)) return AuthOutcome.Missing;
        const string bearer = "bearer ";
        if (value.Length <= bearer.Length || !value.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return AuthOutcome.Invalid;
        var key = value.AsSpan(bearer.Length).Trim().ToString();
        if (key.Length == 0) return AuthOutcome.Invalid;

        foreach (var candidate in state.ApiKeysWithId(ApiKeys.KeyIdOf(key)))
        {
            if (candidate.Disabled) continue;
            if (!ApiKeys.Verify(key, candidate.KeyHash, candidate.KeySalt)) continue;
            var participant = state.GetParticipant(candidate.SiteId);
            if (participant is { Enabled: false }) return AuthOutcome.Invalid;
            client = new AuthenticatedClient(candidate);
            return AuthOutcome.Authenticated;
        }
        return AuthOutcome.Invalid;
    }
}
