using System.Security.Cryptography;
using System.Text;

namespace Uid2.Core.Auth;

/// <summary>A freshly generated API key. <see cref="Key"/> is shown once to its owner and never stored.</summary>
public sealed record GeneratedApiKey(string Key, string KeyId, string KeyHash, string KeySalt);

/// <summary>
/// API key format, hashing and verification: <c>UID2-C-&lt;env&gt;-&lt;siteId&gt;-&lt;6 chars&gt;.&lt;38 chars&gt;</c>;
/// key id = prefix + first 5 random chars; stored hash = base64(SHA-512(salt ‖ UTF-8 key)) with a 32-byte random salt.
/// </summary>
public static class ApiKeys
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Generates a client API key. <paramref name="environment"/> is L (local), T (test), I (integ) or P (prod).</summary>
    public static GeneratedApiKey Generate(int siteId, char environment = 'L', string scopePrefix = "UID2")
    {
        var prefix = $"{scopePrefix}-C-{environment}-{siteId}-";
        var first = RandomString(6);
        var second = RandomString(38);
        var key = prefix + first + "." + second;
        var salt = RandomNumberGenerator.GetBytes(32);
        return new GeneratedApiKey(key, KeyIdOf(key), Hash(key, salt), Convert.ToBase64String(salt));
    }

    /// <summary>The lookup id of a key: the structured prefix plus the first 5 random characters, or the first 5 characters of a legacy key.</summary>
    public static string KeyIdOf(string key)
    {
        // UID2-C-L-999-fCXrMM.xxxx: prefix ends after the 4th '-'.
        var dashes = 0;
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] != '-') continue;
            if (++dashes == 4) return key.Substring(0, Math.Min(key.Length, i + 1 + 5));
        }
        return key.Substring(0, Math.Min(5, key.Length));
    }

    public static string Hash(string key, ReadOnlySpan<byte> salt)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        sha.AppendData(salt);
        sha.AppendData(keyBytes);
        return Convert.ToBase64String(sha.GetHashAndReset());
    }

    /// <summary>Constant-time check of a presented key against a stored hash and salt.</summary>
    public static bool Verify(string presentedKey, string storedHash, string storedSalt)
    {
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(storedSalt);
            expected = Convert.FromBase64String(storedHash);
        }
        catch (FormatException)
        {
            return false;
        }
        var actual = Convert.FromBase64String(Hash(presentedKey, salt));
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>A new client secret: 32 random bytes, base64.</summary>
    public static string GenerateClientSecret() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static string RandomString(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
