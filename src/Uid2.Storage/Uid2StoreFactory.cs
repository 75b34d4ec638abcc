using System.Data.Common;

namespace Uid2.Storage;

/// <summary>Picks the store implementation from a connection string.</summary>
public static class Uid2StoreFactory
{
    /// <summary>The embedded default: a SQLite file under <c>data/</c>, relative to the current directory.</summary>
    public const string DefaultConnectionString = "Data Source=data/uid2.db";

    /// <summary>
    /// <c>Data Source=</c> (or <c>DataSource=</c>, <c>Filename=</c>) → <see cref="SqliteUid2Store"/>;
    /// <c>Host=</c> (or <c>Server=</c>) → <see cref="PostgresUid2Store"/> (an Npgsql connection string).
    /// The store is not initialized: call <see cref="IUid2Store.InitializeAsync"/>.
    /// </summary>
    public static IUid2Store Create(string connectionString) => Create(connectionString, null);

    /// <summary>
    /// As <see cref="Create(string)"/>, with the key-encryption keys that seal the store's secrets; null: found by
    /// <see cref="Secrets.KeyEncryptionKeys.Resolve"/> on first use (and created beside a SQLite database if missing).
    /// </summary>
    public static IUid2Store Create(string connectionString, Secrets.KeyEncryptionKeyRing? keyEncryptionKeys)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("A store connection string is required, e.g. 'Data Source=data/uid2.db'.", nameof(connectionString));

        var keys = ParseKeys(connectionString);
        if (keys.Contains("data source") || keys.Contains("datasource") || keys.Contains("filename"))
            return new SqliteUid2Store(connectionString, keyEncryptionKeys);
        if (keys.Contains("host") || keys.Contains("server"))
            return new PostgresUid2Store(connectionString, keyEncryptionKeys);
        throw new ArgumentException(
            "Unrecognized store connection string: expected a SQLite 'Data Source=<file path>' (e.g. 'Data Source=data/uid2.db') " +
            "or a PostgreSQL 'Host=<server>;Database=<name>;Username=<user>;Password=<password>'.",
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
