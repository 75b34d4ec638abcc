using System.Data.Common;
using System.Security.Cryptography;
using System.Text;

namespace Uid2.Storage.Secrets;

/// <summary>
/// Where the key-encryption keys come from, in this order:
/// <list type="number">
/// <item>keys given inline: setting <c>Uid2:KeyEncryptionKey</c> or environment <c>UID2_KEK</c>, as <c>id:base64[,id:base64…]</c>;</item>
/// <item>a key file: setting <c>Uid2:KeyEncryptionKeyFile</c> or environment <c>UID2_KEK_FILE</c>;</item>
/// <item>for a SQLite store, the file <c>&lt;database&gt;.kek</c> beside the database — created (mode 0600) only when the
/// caller allows it (the operator in Development, the admin CLI);</item>
/// <item>otherwise there is none, and opening the store fails with a message saying what to set.</item>
/// </list>
/// A key file has one key a line, <c>id:base64 of 32 bytes</c>, the sealing key first; blank lines and <c>#</c> comments
/// are ignored. It is written with mode 0600 and replaced atomically (temporary file, then rename).
/// </summary>
public static class KeyEncryptionKeys
{
    public const string InlineVariable = "UID2_KEK";
    public const string FileVariable = "UID2_KEK_FILE";

    /// <summary>The default key file of a SQLite database: beside it, named <c>&lt;database file&gt;.kek</c>.</summary>
    public static string DefaultFileFor(string databasePath) => databasePath + ".kek";

    /// <summary>
    /// Finds the ring for the store named by <paramref name="connectionString"/>. <paramref name="inline"/> and
    /// <paramref name="file"/> are the settings (null: fall back to the environment variables).
    /// </summary>
    /// <param name="createIfMissing">For SQLite: create the default key file beside the database when nothing else is configured.</param>
    /// <exception cref="KeyEncryptionKeyException">No key is configured (and may not be created), or the configuration is malformed.</exception>
    /// <param name="environment">Reads an environment variable (default: the process environment).</param>
    public static KeyEncryptionKeyRing Resolve(string connectionString, string? inline, string? file, bool createIfMissing,
        Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        inline = NullIfBlank(inline) ?? NullIfBlank(environment(InlineVariable));
        if (inline is not null) return new KeyEncryptionKeyRing(ParseInline(inline));

        file = NullIfBlank(file) ?? NullIfBlank(environment(FileVariable));
        if (file is not null)
        {
            file = Path.GetFullPath(file);
            if (!File.Exists(file))
            {
                if (!createIfMissing) throw new KeyEncryptionKeyException($"The key-encryption key file {file} does not exist.");
                WriteKeyFile(file, [(KeyEncryptionKeyRing.NewId(), RandomNumberGenerator.GetBytes(32))], createOnly: true);
            }
            return new KeyEncryptionKeyRing(ReadKeyFile(file), file);
        }

        var sqlitePath = SqlitePath(connectionString);
        if (sqlitePath == ":memory:") return KeyEncryptionKeyRing.Ephemeral();
        if (sqlitePath is not null)
        {
            var beside = DefaultFileFor(sqlitePath);
            if (!File.Exists(beside))
            {
                if (!createIfMissing)
                    throw new KeyEncryptionKeyException(
                        $"No key-encryption key: set {FileVariable} (or Uid2:KeyEncryptionKeyFile) to a key file, or {InlineVariable}; " +
                        $"only Development and the admin CLI create one beside the database ({beside}).");
                WriteKeyFile(beside, [(KeyEncryptionKeyRing.NewId(), RandomNumberGenerator.GetBytes(32))], createOnly: true);
            }
            return new KeyEncryptionKeyRing(ReadKeyFile(beside), beside);
        }
        throw new KeyEncryptionKeyException(
            $"No key-encryption key for PostgreSQL: set {FileVariable} (or Uid2:KeyEncryptionKeyFile) to a key file every instance can read, " +
            $"or {InlineVariable} (or Uid2:KeyEncryptionKey) to 'id:base64'. Create a key file with: uid2-admin kek new --file <path>.");
    }

    /// <summary>Reads a key file (see the class summary).</summary>
    public static IReadOnlyList<(string Id, byte[] Key)> ReadKeyFile(string path)
    {
        var keys = new List<(string, byte[])>();
        var lineNumber = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            keys.Add(ParseEntry(line, $"{path} line {lineNumber}"));
        }
        if (keys.Count == 0) throw new KeyEncryptionKeyException($"The key-encryption key file {path} holds no key.");
        return keys;
    }

    /// <summary>
    /// Writes a key file with mode 0600: atomically (a temporary file beside it, then a rename), or, with
    /// <paramref name="createOnly"/>, only if none exists yet (another process may create it at the same moment).
    /// </summary>
    public static void WriteKeyFile(string path, IReadOnlyList<(string Id, byte[] Key)> keys, bool createOnly = false)
    {
        var text = new StringBuilder("# UID2 key-encryption keys: the first line seals, the others only open. Keep this file secret (mode 0600).\n");
        foreach (var (id, key) in keys)
        {
            if (!IsValidId(id) || key.Length != 32) throw new KeyEncryptionKeyException("Invalid key-encryption key entry.");
            text.Append(id).Append(':').Append(Convert.ToBase64String(key)).Append('\n');
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            writer.Write(text.ToString());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        try
        {
            if (createOnly)
            {
                try
                {
                    File.Move(temp, path, overwrite: false);
                }
                catch (IOException) when (File.Exists(path))
                {
                    // created by another process at the same moment: theirs wins
                }
            }
            else
            {
                File.Move(temp, path, overwrite: true);
            }
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Ids are 1–32 ASCII letters, digits or '-' (no SQL LIKE wildcard, no separator).</summary>
    public static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 32 && id.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-');

    private static IReadOnlyList<(string Id, byte[] Key)> ParseInline(string inline) =>
        inline.Split([',', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select((entry, i) => ParseEntry(entry, $"{InlineVariable} entry {i + 1}"))
            .ToArray();

    private static (string Id, byte[] Key) ParseEntry(string entry, string where)
    {
        var colon = entry.IndexOf(':');
        var id = colon > 0 ? entry[..colon] : "";
        byte[]? key = null;
        if (colon > 0)
        {
            var buffer = new byte[48];
            if (Convert.TryFromBase64String(entry[(colon + 1)..], buffer, out var written) && written == 32) key = buffer[..32];
        }
        if (key is null || !IsValidId(id))
            throw new KeyEncryptionKeyException($"Malformed key-encryption key at {where}: expected 'id:base64 of 32 bytes'.");
        return (id, key);
    }

    /// <summary>The database file of a SQLite connection string (":memory:" for an in-memory one), or null when it is not SQLite.</summary>
    private static string? SqlitePath(string connectionString)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return null;
        }
        foreach (var name in new[] { "Data Source", "DataSource", "Filename" })
        {
            if (!builder.TryGetValue(name, out var value) || value is not string path || string.IsNullOrWhiteSpace(path)) continue;
            if (path == ":memory:" || (builder.TryGetValue("Mode", out var mode) && string.Equals(mode as string, "Memory", StringComparison.OrdinalIgnoreCase)))
                return ":memory:";
            return Path.GetFullPath(path);
        }
        return null;
    }

    private static string? NullIfBlank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
