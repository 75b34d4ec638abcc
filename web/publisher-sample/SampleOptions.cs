namespace Uid2.PublisherSample;

/// <summary>Where the sample keeps the user's UID2 identity.</summary>
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

    /// <summary>The browser SDK bundle (built by <c>npm run build</c> in web/sdk), relative to the content root.</summary>
    public string SdkPath { get; set; } = "../sdk/dist/uid2-sdk.js";

    /// <summary>How often the demo SSP refreshes its bidstream decryption keys.</summary>
    public int KeyRefreshSeconds { get; set; } = 300;

    public string BrowserOperatorUrl => (PublicOperatorUrl ?? OperatorUrl).TrimEnd('/');
}
