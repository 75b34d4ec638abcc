namespace Uid2.Client;

/// <summary>Result of a token generate call. Never thrown: protocol errors are reported in <see cref="Status"/>.</summary>
public sealed class TokenGenerateResponse
{
    internal TokenGenerateResponse(ResponseStatus status, IdentityTokens? identity, string? message, string? statusText)
    {
        Status = status;
        Identity = identity;
        Message = message;
        StatusText = statusText;
    }

    /// <summary>The outcome.</summary>
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
}

/// <summary>Result of a token refresh call. Never thrown: protocol errors are reported in <see cref="Status"/>.</summary>
public sealed class TokenRefreshResponse
{
    internal TokenRefreshResponse(ResponseStatus status, IdentityTokens? identity, string? message, string? statusText)
    {
        Status = status;
        Identity = identity;
        Message = message;
        StatusText = statusText;
    }

    /// <summary>The outcome. <see cref="ResponseStatus.OptOut"/>: forget the identity; <see cref="ResponseStatus.ExpiredToken"/>: a new generate is needed.</summary>
    public ResponseStatus Status { get; }
    /// <summary>The refreshed identity when <see cref="Status"/> is <see cref="ResponseStatus.Success"/>; otherwise null.</summary>
    public IdentityTokens? Identity { get; }
    /// <summary>The operator's (or the SDK's) error message, if any.</summary>
    public string? Message { get; }
    /// <summary>The raw <c>status</c> string of the response, when there was one.</summary>
    public string? StatusText { get; }
    /// <summary>True when a refreshed identity was issued.</summary>
    public bool IsSuccess => Status == ResponseStatus.Success && Identity is not null;
    /// <summary>True when the user opted out.</summary>
    public bool IsOptOut => Status == ResponseStatus.OptOut;
}
