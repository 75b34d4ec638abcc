using System.Buffers.Binary;
using System.Security.Cryptography;
using Uid2.Core;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using Uid2.Operator.Protocol;

namespace Uid2.Operator.Services;

/// <summary>
/// Which API an identity is issued to, i.e. the form of its refresh token: v1 answers the inner (168-char) refresh token;
/// v2 and client-generate answer the 388-char wrapper and the <c>refresh_response_key</c> that opens the refresh's reply.
/// </summary>
public enum TokenApi { V1, V2 }

/// <summary>A token pair just issued; never leaves <see cref="TokenLifecycleService"/> (it holds the refresh key).</summary>
internal readonly record struct IssuedTokens(
    string AdvertisingToken,
    string RefreshToken,
    DateTimeOffset IdentityExpires,
    DateTimeOffset RefreshExpires,
    DateTimeOffset RefreshFrom,
    EncryptionKey RefreshKey,
    IdentityScope Scope);

/// <summary>
/// The wire forms <see cref="TokenLifecycleService"/> reads and writes: the identity reply of each API (wrapping the
/// refresh token for v2 under the refresh key, with a fresh response key), opening a 388-char refresh token, and sealing
/// a refresh reply under its response key. The refresh key and the response keys stay here and in the service.
/// </summary>
internal static class TokenWireCodec
{
    public static readonly byte[] OptOutJson = ProtocolResults.StatusOnlyJson(Statuses.OptOut);
    public static readonly byte[] InsufficientUserConsentJson = ProtocolResults.StatusOnlyJson(Statuses.InsufficientUserConsent);

    /// <summary>
    /// <c>{"status":"success","body":{advertising_token, refresh_token, identity_expires, refresh_expires, refresh_from[,
    /// refresh_response_key]}}</c>: v1 with the inner refresh token, v2 with the wrapper and its new response key.
    /// </summary>
    public static byte[] IdentityJson(in IssuedTokens issued, TokenApi api)
    {
        var refreshToken = issued.RefreshToken;
        string? responseKeyText = null;
        if (api == TokenApi.V2)
        {
            Span<byte> responseKey = stackalloc byte[RefreshTokenWrapper.ResponseKeyLength];
            PooledRandom.Fill(responseKey);
            refreshToken = RefreshTokenWrapper.Wrap(issued.RefreshToken, responseKey, issued.RefreshKey, issued.Scope);
            responseKeyText = Convert.ToBase64String(responseKey);
            responseKey.Clear();
        }

        var w = ProtocolResults.RentWriter();
        w.WriteStartObject();
        w.WriteString("status", Statuses.Success);
        w.WritePropertyName("body");
        w.WriteStartObject();
        w.WriteString("advertising_token", issued.AdvertisingToken);
        w.WriteString("refresh_token", refreshToken);
        w.WriteNumber("identity_expires", issued.IdentityExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_expires", issued.RefreshExpires.ToUnixTimeMilliseconds());
        w.WriteNumber("refresh_from", issued.RefreshFrom.ToUnixTimeMilliseconds());
        if (responseKeyText is not null) w.WriteString("refresh_response_key", responseKeyText);
        w.WriteEndObject();
        w.WriteEndObject();
        return ProtocolResults.ToArray(w);
    }

    /// <summary>
    /// Opens a 388-char refresh token. On failure, <paramref name="failure"/> says why in the reference's words (no secret in them).
    /// </summary>
    public static bool TryUnwrap(string wrapped, IKeyLookup keys, out string? inner, out byte[]? responseKey, out string? failure)
    {
        if (RefreshTokenWrapper.TryUnwrap(wrapped, keys, out inner, out responseKey) && inner is not null && responseKey is not null)
        {
            failure = null;
            return true;
        }
        failure = WrapperFailure(wrapped, keys);
        return false;
    }

    /// <summary>A refresh reply sealed under the response key that came with the refresh token: <c>IV ‖ GCM(JSON) ‖ tag</c>.</summary>
    public static byte[] SealRefreshReply(byte[] json, byte[] responseKey) => V2Envelope.EncryptNoNonce(json, responseKey);

    private static string WrapperFailure(string token, IKeyLookup keys)
    {
        Span<byte> bytes = stackalloc byte[300];
        if (!Convert.TryFromBase64String(token, bytes, out var length)) return "Invalid body: Body is not valid base64.";
        if (length < 5) return "Invalid data: Check encryption method and encryption key.";
        var keyId = BinaryPrimitives.ReadInt32BigEndian(bytes[1..]);
        if (keys.GetById(keyId) is null) return $"Invalid key: Generator of this token (Key ID: {keyId}) does not exist.";
        return "Invalid data: Check encryption method and encryption key.";
    }
}
