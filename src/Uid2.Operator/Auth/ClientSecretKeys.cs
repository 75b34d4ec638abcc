using System.Runtime.CompilerServices;
using Uid2.Core.Keys;

namespace Uid2.Operator.Auth;

/// <summary>
/// A v2 client's secret (base64 in its API key record) as a reusable AES-GCM key: decoded and imported once, then shared by
/// every envelope the client sends and every reply sealed for it, instead of a fresh key copy and cipher context per
/// request. Entries hang off the secret string of the loaded record (a weak table): when a snapshot reload replaces the
/// record, or a rotation the secret, the old entry goes with it.
/// </summary>
public static class ClientSecretKeys
{
    private static readonly ConditionalWeakTable<string, Entry> Keys = new();

    /// <summary>The key for a stored secret, or null when it is not 32 bytes of base64 (the caller answers "not configured").</summary>
    public static GcmKey? For(string clientSecret) =>
        Keys.GetValue(clientSecret, static secret => new Entry(Decode(secret))).Key;

    private static GcmKey? Decode(string secret)
    {
        var bytes = new byte[32];
        return Convert.TryFromBase64String(secret, bytes, out var written) && written == 32 ? new GcmKey(bytes) : null;
    }

    private sealed record Entry(GcmKey? Key);
}
