using Uid2.Core;

namespace Uid2.Operator.Configuration;

/// <summary>Operator settings, bound from the <c>Uid2</c> configuration section.</summary>
public sealed class OperatorOptions
{
    public const string Section = "Uid2";

    /// <summary>identity_expires: advertising token lifetime (reference prod default 3 days).</summary>
    public int IdentityTokenExpiresAfterSeconds { get; set; } = 259_200;

    /// <summary>refresh_from: when clients should start refreshing (reference prod default 1 hour).</summary>
    public int RefreshIdentityTokenAfterSeconds { get; set; } = 3_600;

    /// <summary>refresh_expires: refresh token lifetime (reference prod default 30 days).</summary>
    public int RefreshTokenExpiresAfterSeconds { get; set; } = 2_592_000;

    /// <summary>token_expiry_seconds published to sharers (reference default 30 days).</summary>
    public int SharingTokenExpirySeconds { get; set; } = 2_592_000;

    /// <summary>Number of rotating salt buckets created on an empty store.</summary>
    public int SaltBucketCount { get; set; } = 65_536;

    /// <summary>How often the operator checks the store for changes made elsewhere (admin CLI, other instances).</summary>
    public int StorePollIntervalMilliseconds { get; set; } = 1_000;

    /// <summary>How often the operator checks that every site has an active key and a successor before expiry.</summary>
    public int KeyMaintenanceIntervalSeconds { get; set; } = 300;

    public IdentityScope IdentityScope { get; set; } = IdentityScope.Uid2;

    /// <summary>Seeds a demo publisher (Development only).</summary>
    public DemoParticipantOptions Demo { get; set; } = new();

    public void Validate()
    {
        if (RefreshIdentityTokenAfterSeconds <= 0 || IdentityTokenExpiresAfterSeconds <= 0 || RefreshTokenExpiresAfterSeconds <= 0)
            throw new InvalidOperationException("Uid2 token lifetimes must be positive.");
        if (!(RefreshIdentityTokenAfterSeconds <= IdentityTokenExpiresAfterSeconds && IdentityTokenExpiresAfterSeconds <= RefreshTokenExpiresAfterSeconds))
            throw new InvalidOperationException("Uid2 token lifetimes must satisfy refresh_from <= identity_expires <= refresh_expires.");
        if (SaltBucketCount <= 0 || SaltBucketCount > 1 << 20)
            throw new InvalidOperationException("Uid2:SaltBucketCount must be between 1 and 1048576.");
        if (StorePollIntervalMilliseconds < 50)
            throw new InvalidOperationException("Uid2:StorePollIntervalMilliseconds must be at least 50.");
    }
}

/// <summary>
/// The demo publisher seeded in Development. The key and secret are fixed, public and only for a local laptop;
/// Production never seeds them.
/// </summary>
public sealed class DemoParticipantOptions
{
    public bool Enabled { get; set; } = true;
    public int SiteId { get; set; } = 999;
    public string Name { get; set; } = "Demo publisher";
    public string ApiKey { get; set; } = "UID2-C-L-999-demoKY.localDevelopmentOnlyKeyDoNotUseInProd0";
    public string ClientSecret { get; set; } = "ZGVtby1jbGllbnQtc2VjcmV0LWxvY2FsLW9ubHkhISE=";
    public string Roles { get; set; } = "GENERATOR,OPTOUT,MAPPER,ID_READER,SHARER";
}
