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

    /// <summary>
    /// The key endpoints' <c>site_data</c> lists a site's mobile app names among its <c>domain_names</c>, so SDKs accept
    /// tokens generated client-side in its apps (the reference's <c>key_sharing_endpoint_provide_app_names</c>, off by
    /// default there; on here, since without it such tokens fail every SDK's check).
    /// </summary>
    public bool KeySharingEndpointProvideAppNames { get; set; } = true;

    /// <summary>Number of rotating salt buckets created on an empty store.</summary>
    public int SaltBucketCount { get; set; } = 65_536;

    /// <summary>How often the operator checks the store for changes made elsewhere (admin CLI, other instances).</summary>
    public int StorePollIntervalMilliseconds { get; set; } = 1_000;

    /// <summary>How often the operator checks that every site has an active key and a successor before expiry.</summary>
    public int KeyMaintenanceIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// <c>UID2</c> (default) or <c>EUID</c> (case-insensitive), the reference's <c>identity_scope</c>: the scope bit of every
    /// token and raw UID this operator issues, the <c>identity_scope</c> of the key endpoints, and EUID's consent check on
    /// token generate. Tokens of the other scope do not refresh here. Fixed for the life of a deployment: raw UIDs differ.
    /// </summary>
    public IdentityScope IdentityScope { get; set; } = IdentityScope.Uid2;

    /// <summary>EUID only: the TCF vendor whose consent <c>tcf_consent_string</c> must carry (reference <c>tcf_vendor_id</c>, 21).</summary>
    public int TcfVendorId { get; set; } = Uid2.Core.Consent.UserConsent.DefaultVendorId;

    /// <summary>The browser SDK bundle served at /static/js/uid2-sdk.js; empty = the copy built into the app's wwwroot.
    /// Its EUID build is served at /static/js/euid-sdk.js from the same folder (file <c>euid-sdk.js</c>).</summary>
    public string? BrowserSdkFile { get; set; }

    /// <summary>
    /// Client-side token generation refuses requests whose (authenticated) timestamp is further than this from the
    /// operator's clock, so a captured request cannot be replayed for long. The reference operator has no such check.
    /// </summary>
    public int ClientSideTokenGenerateMaxTimestampSkewSeconds { get; set; } = 300;

    /// <summary>
    /// How many requests (v2 envelopes and CSTG requests) this instance remembers to refuse replays: each is kept while
    /// its timestamp is acceptable (about 2 minutes for an envelope), at ~30–60 bytes each. The default covers
    /// ~16,000 requests a second, above this operator's measured peak on 2 cores; when full, new requests get 429.
    /// </summary>
    public int ReplayCacheMaxEntries { get; set; } = 2_000_000;

    /// <summary>How often the operator proves it can still write durably (a tiny write to the store); 0 = never.</summary>
    public int WriteProbeIntervalSeconds { get; set; } = 10;

    /// <summary>
    /// The port on which <c>/metrics</c> (Prometheus text format) is answered; 0 = no metrics endpoint. The operator
    /// also listens on this port (all interfaces), and answers <c>/metrics</c> only there, so the public port never
    /// exposes it: firewall the metrics port to your Prometheus.
    /// </summary>
    public int MetricsPort { get; set; }

    /// <summary>Logs as one JSON object a line (with the request id and trace id) instead of plain text.</summary>
    public bool JsonLogs { get; set; }

    /// <summary>Seeds a demo publisher (Development only).</summary>
    public DemoParticipantOptions Demo { get; set; } = new();

    /// <summary>Scheduled salt rotation, run with key maintenance by the one instance holding the rotation lock.</summary>
    public SaltRotationOptions SaltRotation { get; set; } = new();

    /// <summary>The opt-out snapshot file this instance starts from and keeps up to date.</summary>
    public OptOutSnapshotOptions OptOutSnapshot { get; set; } = new();

    public void Validate()
    {
        if (RefreshIdentityTokenAfterSeconds <= 0 || IdentityTokenExpiresAfterSeconds <= 0 || RefreshTokenExpiresAfterSeconds <= 0)
            throw new InvalidOperationException("Uid2 token lifetimes must be positive.");
        if (!(RefreshIdentityTokenAfterSeconds <= IdentityTokenExpiresAfterSeconds && IdentityTokenExpiresAfterSeconds <= RefreshTokenExpiresAfterSeconds))
            throw new InvalidOperationException("Uid2 token lifetimes must satisfy refresh_from <= identity_expires <= refresh_expires.");
        if (!Enum.IsDefined(IdentityScope))
            throw new InvalidOperationException("Uid2:IdentityScope must be UID2 or EUID.");
        if (TcfVendorId is < 1 or > 65535)
            throw new InvalidOperationException("Uid2:TcfVendorId must be a TCF vendor id (1-65535).");
        if (SaltBucketCount <= 0 || SaltBucketCount > 1 << 20)
            throw new InvalidOperationException("Uid2:SaltBucketCount must be between 1 and 1048576.");
        if (StorePollIntervalMilliseconds < 50)
            throw new InvalidOperationException("Uid2:StorePollIntervalMilliseconds must be at least 50.");
        if (MetricsPort is < 0 or > 65535)
            throw new InvalidOperationException("Uid2:MetricsPort must be a TCP port (1-65535), or 0 for none.");
        if (ReplayCacheMaxEntries < 1)
            throw new InvalidOperationException("Uid2:ReplayCacheMaxEntries must be positive.");
        if (WriteProbeIntervalSeconds < 0)
            throw new InvalidOperationException("Uid2:WriteProbeIntervalSeconds must not be negative.");
        if (ClientSideTokenGenerateMaxTimestampSkewSeconds <= 0)
            throw new InvalidOperationException("Uid2:ClientSideTokenGenerateMaxTimestampSkewSeconds must be positive.");
        if (OptOutSnapshot.MinOptOuts < 0 || !(OptOutSnapshot.IntervalMinutes > 0))
            throw new InvalidOperationException("Uid2:OptOutSnapshot: MinOptOuts must not be negative and IntervalMinutes must be positive.");
        try
        {
            SaltRotation.ToSchedule().Validate();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException("Uid2:SaltRotation: " + ex.Message);
        }
    }
}

/// <summary>
/// <c>Uid2:OptOutSnapshot</c>: the opt-out index in a file (sealed under the key-encryption key), read at start-up
/// instead of every opt-out row, and rewritten every <see cref="IntervalMinutes"/> when new opt-outs arrived.
/// <see cref="Path"/> defaults, for a SQLite store, to <c>&lt;database&gt;.optouts</c> beside the database; for
/// PostgreSQL there is no default (set a path on the instance's disk or on a volume instances share).
/// </summary>
public sealed class OptOutSnapshotOptions
{
    public bool Enabled { get; set; } = true;
    public string? Path { get; set; }

    /// <summary>Below this many opt-outs no snapshot is written: the store's rows load in well under a second.</summary>
    public long MinOptOuts { get; set; } = 100_000;

    public double IntervalMinutes { get; set; } = 60;
}

/// <summary>
/// <c>Uid2:SaltRotation</c>: every <see cref="IntervalHours"/> the <see cref="Fraction"/> of salt buckets salted longest
/// ago get new salts. The defaults (daily, 1/365) re-salt every bucket about once a year, as the reference does.
/// </summary>
public sealed class SaltRotationOptions
{
    public bool Enabled { get; set; } = true;
    public double IntervalHours { get; set; } = 24;
    public double Fraction { get; set; } = 1.0 / 365;

    public Storage.SaltSchedule ToSchedule() => new() { Interval = TimeSpan.FromHours(IntervalHours), Fraction = Fraction };
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

    // Client-side token generation (CSTG) for the demo site. LOCAL DEVELOPMENT ONLY: this key pair is fixed and public
    // (its private key is in this source file), like the demo API key above. Production never seeds it; create real
    // key pairs with `uid2-admin cstg create`.

    /// <summary>The demo CSTG subscription id (public; goes into the page).</summary>
    public string SubscriptionId { get; set; } = "demoCstg01";

    /// <summary>The demo CSTG server public key (public; goes into the page).</summary>
    public string ServerPublicKey { get; set; } =
        "UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbO+OfuOGtx2Tpzyae7DAviEjdE69lZL80HB0Teg+7XiD5CvPXh0UpQvyXKGT3ZzaEtM0TCrkSNbDP//wmj/xAQ==";

    /// <summary>The demo CSTG server private key. Public by design, local only: never reuse it anywhere else.</summary>
    public string ServerPrivateKey { get; set; } =
        "UID2-Y-L-MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbCvpH3rQUynrif2H+M5egChrqWyeSRRJl0tzjBKFKXyhRANCAARs745+44a3HZOnPJp7sMC+ISN0Tr2VkvzQcHRN6D7teIPkK89eHRSlC/JcoZPdnNoS0zRMKuRI1sM///CaP/EB";

    /// <summary>The origins the demo site accepts CSTG requests from.</summary>
    public string[] DomainNames { get; set; } = ["localhost", "127.0.0.1"];
}
