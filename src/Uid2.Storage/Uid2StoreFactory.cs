using System.Data.Common;

namespace Uid2.Storage;

/// <summary>
/// Picks the store: by an explicit provider (<c>Uid2:StoreProvider</c>: <c>sqlite</c> or <c>postgres</c>), or, when
/// none is given, from keys only one provider uses — <c>Data Source=</c> / <c>DataSource=</c> / <c>Filename=</c> (SQLite)
/// or <c>Host=</c> (PostgreSQL). An ambiguous string (<c>Server=</c> alone, as MySQL and SQL Server write theirs) is
/// refused with a message asking for the provider, rather than opened with the wrong store.
/// </summary>
public static class Uid2StoreFactory
{
    /// <summary>The embedded default: a SQLite file under <c>data/</c>, relative to the current directory.</summary>
    public const string DefaultConnectionString = "Data Source=data/uid2.db";

    /// <summary>The setting (configuration key) that names the provider explicitly.</summary>
    public const string ProviderSetting = "Uid2:StoreProvider";

    /// <summary>The providers <see cref="ProviderSetting"/> accepts.</summary>
    public static IReadOnlyList<string> Providers { get; } = ["sqlite", "postgres"];

    /// <summary>As <see cref="Create(string, Secrets.KeyEncryptionKeyRing?, string?)"/>, the provider inferred.</summary>
    public static IUid2Store Create(string connectionString) => Create(connectionString, null);

    /// <summary>
    /// Creates the store for <paramref name="connectionString"/> (not initialized: call <see cref="IUid2Store.InitializeAsync"/>),
    /// with the key-encryption keys that seal its secrets (null: found by <see cref="Secrets.KeyEncryptionKeys.Resolve"/> on
    /// first use). <paramref name="provider"/>: <c>sqlite</c>, <c>postgres</c> (or <c>postgresql</c>), or null to infer it.
    /// </summary>
    public static IUid2Store Create(string connectionString, Secrets.KeyEncryptionKeyRing? keyEncryptionKeys, string? provider = null)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("A store connection string is required, e.g. 'Data Source=data/uid2.db'.", nameof(connectionString));

        switch (provider?.Trim().ToLowerInvariant())
        {
            case null or "":
                break;
            case "sqlite":
                return new SqliteUid2Store(connectionString, keyEncryptionKeys);
            case "postgres" or "postgresql":
                return new PostgresUid2Store(connectionString, keyEncryptionKeys);
            default:
                throw new ArgumentException($"Unknown store provider '{provider}': use {string.Join(" or ", Providers)} ({ProviderSetting}).", nameof(provider));
        }

        var keys = ParseKeys(connectionString);
        if (keys.Contains("data source") || keys.Contains("datasource") || keys.Contains("filename"))
            return new SqliteUid2Store(connectionString, keyEncryptionKeys);
        if (keys.Contains("host"))
            return new PostgresUid2Store(connectionString, keyEncryptionKeys);
        if (keys.Contains("server"))
            throw new ArgumentException(
                $"Ambiguous store connection string: 'Server=' does not say which database it is. For PostgreSQL write 'Host=' " +
                $"instead, or set {ProviderSetting}=postgres.", nameof(connectionString));
        throw new ArgumentException(
            "Unrecognized store connection string: expected a SQLite 'Data Source=<file path>' (e.g. 'Data Source=data/uid2.db') " +
            $"or a PostgreSQL 'Host=<server>;Database=<name>;Username=<user>;Password=<password>' (or set {ProviderSetting}).",
            nameof(connectionString));
    }

    private static HashSet<string> ParseKeys(string connectionString)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            throw new ArgumentException(
                "Malformed store connection string: expected 'key=value;...' such as 'Data Source=data/uid2.db'.", nameof(connectionString));
        }
        return builder.Keys.Cast<string>().Select(k => k.Trim().ToLowerInvariant()).ToHashSet();
    }
}
