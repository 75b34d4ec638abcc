using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;

namespace Uid2.Operator.Services;

/// <summary>
/// How long what <see cref="TokenLifecycleService"/> issues for one site lives: the advertising token
/// (<c>identity_expires</c>), the refresh token (<c>refresh_expires</c>) and when clients should refresh (<c>refresh_from</c>),
/// each in seconds after issue.
/// </summary>
public readonly record struct TokenLifetimes(int IdentityExpiresAfterSeconds, int RefreshExpiresAfterSeconds, int RefreshFromAfterSeconds);

/// <summary>
/// The lifetimes of the tokens issued for a site. The lifecycle service asks it on every generate and refresh (for the
/// token's site), so a per-participant lifetime is a change of this policy alone. Called on the hot path: answer from
/// memory, without allocating.
/// </summary>
public interface ITokenLifetimePolicy
{
    TokenLifetimes For(int siteId);
}

/// <summary>The default policy: the same lifetimes for every site, from <see cref="OperatorOptions"/>.</summary>
public sealed class OptionsTokenLifetimePolicy(IOptions<OperatorOptions> options) : ITokenLifetimePolicy
{
    private readonly TokenLifetimes _lifetimes = new(
        options.Value.IdentityTokenExpiresAfterSeconds,
        options.Value.RefreshTokenExpiresAfterSeconds,
        options.Value.RefreshIdentityTokenAfterSeconds);

    public TokenLifetimes For(int siteId) => _lifetimes;
}
