namespace Uid2.PublisherSample;

/// <summary>Where the sample keeps the user's UID2 (or EUID) identity.</summary>
public enum StorageMode
{
    /// <summary>In the server-side ASP.NET Core session; the server refreshes it (guide step 5-1/5-2, server side).</summary>
    Session,
    /// <summary>In the first-party cookie <c>__uid_2</c> (identity JSON); the browser SDK refreshes it against the operator.</summary>
    Cookie,
}

/// <summary>Settings of the sample (configuration section <c>Sample</c>). The defaults are the operator's Development demo publisher.</summary>
public sealed class SampleOptions
{
    public const string Section = "Sample";

    /// <summary>Operator base URL the sample's server calls (generate, refresh, logout, bidstream keys).</summary>
    public string OperatorUrl { get; set; } = "http://localhost:8080";

    /// <summary>Operator base URL the browser SDK calls (refresh); defaults to <see cref="OperatorUrl"/>.</summary>
    public string? PublicOperatorUrl { get; set; }

    /// <summary>API key of the publisher (GENERATOR, OPTOUT and, for the demo SSP, ID_READER roles).</summary>
    public string ApiKey { get; set; } = "UID2-C-L-999-demoKY.localDevelopmentOnlyKeyDoNotUseInProd0";

    /// <summary>Base64 client secret matching <see cref="ApiKey"/>.</summary>
    public string ClientSecret { get; set; } = "ZGVtby1jbGllbnQtc2VjcmV0LWxvY2FsLW9ubHkhISE=";

    /// <summary>Storage mode of a new visitor; the page switches it per browser.</summary>
    public StorageMode DefaultStorageMode { get; set; } = StorageMode.Session;

    /// <summary>
    /// <c>UID2</c> (default) or <c>EUID</c>: the product of the operator at <see cref="OperatorUrl"/>. EUID uses the EUID browser
    /// SDK (<c>window.__euid</c>, cookie <c>__euid</c>, localStorage <c>EUID-sdk-identity</c>) and sends
    /// <see cref="TcfConsentString"/> with every generate.
    /// </summary>
    public string IdentityScope { get; set; } = "UID2";

    /// <summary>
    /// EUID only: the user's IAB TCF consent string sent as <c>tcf_consent_string</c>. A real site takes it from its consent
    /// management platform; the default is the reference operator's test string that gives vendor 21 every purpose EUID needs.
    /// </summary>
    public string TcfConsentString { get; set; } = "CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA";

    /// <summary>The browser SDK bundle (built by <c>npm run build</c> in web/sdk), relative to the content root; by default
    /// <c>../sdk/dist/uid2-sdk.js</c>, or <c>../sdk/dist/euid-sdk.js</c> for EUID.</summary>
    public string? SdkPath { get; set; }

    public bool IsEuid => string.Equals(IdentityScope, "EUID", StringComparison.OrdinalIgnoreCase);

    /// <summary>What the page needs to know about the product: the SDK's global, file, cookie and localStorage key.</summary>
    public string ProductName => IsEuid ? "EUID" : "UID2";
    public string SdkGlobal => IsEuid ? "__euid" : "__uid2";
    public string SdkFileName => IsEuid ? "euid-sdk.js" : "uid2-sdk.js";
    public string SdkCookie => IsEuid ? "__euid" : "__uid_2";
    public string SdkLocalStorageKey => IsEuid ? "EUID-sdk-identity" : "UID2-sdk-identity";
    public string EffectiveSdkPath => SdkPath ?? "../sdk/dist/" + SdkFileName;

    /// <summary>How often the demo SSP refreshes its bidstream decryption keys.</summary>
    public int KeyRefreshSeconds { get; set; } = 300;

    public string BrowserOperatorUrl => (PublicOperatorUrl ?? OperatorUrl).TrimEnd('/');
}
