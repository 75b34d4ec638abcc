namespace Uid2.Client;

/// <summary>What generate and refresh calls answer. Never thrown: protocol errors are reported in <see cref="Status"/>.</summary>
public abstract class TokenResponse
{
    private protected TokenResponse(ResponseStatus status, IdentityTokens? identity, string? message, string? statusText)
    {
        Status = status;
        Identity = identity;
        Message = message;
        StatusText = statusText;
    }

    /// <summary>The outcome. On refresh, <see cref="ResponseStatus.OptOut"/>: forget the identity; <see cref="ResponseStatus.ExpiredToken"/>: a new generate is needed.</summary>
    public ResponseStatus Status { get; }
    /// <summary>The new identity when <see cref="Status"/> is <see cref="ResponseStatus.Success"/>; otherwise null.</summary>
    public IdentityTokens? Identity { get; }
    /// <summary>The operator's (or the SDK's) error message, if any.</summary>
    public string? Message { get; }
    /// <summary>The raw <c>status</c> string of the response, when there was one.</summary>
    public string? StatusText { get; }
    /// <summary>True when an identity was issued.</summary>
    public bool IsSuccess => Status == ResponseStatus.Success && Identity is not null;
    /// <summary>True when the user opted out.</summary>
    public bool IsOptOut => Status == ResponseStatus.OptOut;
    /// <summary>True when an EUID operator found the TCF consent string insufficient (generate only): no identity.</summary>
    public bool IsInsufficientUserConsent => Status == ResponseStatus.InsufficientUserConsent;
}

/// <summary>Result of a token generate call.</summary>
public sealed class TokenGenerateResponse : TokenResponse
{
    internal TokenGenerateResponse(ResponseStatus status, IdentityTokens? identity, string? message, string? statusText)
        : base(status, identity, message, statusText) { }
}

/// <summary>Result of a token refresh call.</summary>
public sealed class TokenRefreshResponse : TokenResponse
{
    internal TokenRefreshResponse(ResponseStatus status, IdentityTokens? identity, string? message, string? statusText)
        : base(status, identity, message, statusText) { }
}
