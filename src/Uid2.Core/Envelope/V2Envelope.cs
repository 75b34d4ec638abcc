using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Core.Envelope;

/// <summary>Outcome of opening a v2 request envelope.</summary>
public enum EnvelopeStatus
{
    Success,
    InvalidBase64,
    TooShort,
    UnsupportedVersion,
    DecryptFailed,
    StaleTimestamp,
}

public static class EnvelopeStatusExtensions
{
    /// <summary>The <c>client_error</c> message text for a status (reference wording, without documentation links).</summary>
    public static string Message(this EnvelopeStatus status) => status switch
    {
        EnvelopeStatus.Success => "Success",
        EnvelopeStatus.InvalidBase64 => "Invalid body: Body is not valid base64.",
        EnvelopeStatus.TooShort => "Invalid body: Body too short. Check encryption method.",
        EnvelopeStatus.UnsupportedVersion => "Invalid body: Invalid request envelope format version, must be 1.",
        EnvelopeStatus.DecryptFailed => "Invalid body: Check encryption key (ClientSecret).",
        EnvelopeStatus.StaleTimestamp => "Invalid timestamp: Request too old or client time drift.",
        _ => "Invalid body.",
    };
}

/// <summary>A decrypted v2 request: client timestamp (epoch ms), 8-byte nonce and the UTF-8 JSON payload (may be empty).</summary>
public sealed record V2Request(long TimestampMs, byte[] Nonce, byte[] Payload)
{
    /// <summary>True when the request carried no JSON (e.g. key endpoints).</summary>
    public bool IsEmpty => Payload.Length == 0;
}

/// <summary>
/// A request envelope opened in place
/// (<see cref="V2Envelope.TryOpenRequestInPlace(Span{byte}, ReadOnlySpan{byte}, DateTimeOffset, out OpenedRequest)"/>):
/// client timestamp (epoch ms), the 8-byte nonce, and where the UTF-8 JSON payload lies in the envelope buffer (length 0
/// when the request carried none).
/// </summary>
public readonly record struct OpenedRequest(long TimestampMs, byte[] Nonce, int PayloadOffset, int PayloadLength);

/// <summary>
/// The v2 request/response envelope (§2): AES-256-GCM with the client secret.
/// Request = 0x01 ‖ IV(12) ‖ GCM(timestamp ms (8) ‖ nonce (8) ‖ JSON) ‖ tag(16);
/// response = IV(12) ‖ GCM(timestamp ms ‖ request nonce ‖ JSON) ‖ tag(16).
/// </summary>
public static class V2Envelope
{
    public const byte EnvelopeVersion = 1;
    public const int NonceLength = 8;
    /// <summary>1 + 12 + 16 + 8 + 8.</summary>
    public const int MinRequestLength = 1 + Aes256.GcmOverhead + 8 + NonceLength;
    /// <summary>Requests whose timestamp differs from now by more than this many whole minutes are rejected.</summary>
    public const int TimestampDriftToleranceMinutes = 1;

    private const int StackLimit = 1024;

    /// <summary>
    /// Opens a raw (already base64-decoded) request envelope, leaving it untouched:
    /// <see cref="TryOpenRequestInPlace(Span{byte}, ReadOnlySpan{byte}, DateTimeOffset, out OpenedRequest)"/> on a pooled
    /// copy, with the payload copied out. Never throws for bad input.
    /// </summary>
    public static EnvelopeStatus TryDecryptRequest(ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> clientSecret, DateTimeOffset now, out V2Request? request)
    {
        request = null;
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(envelope.Length, 1));
        var buffer = copy.AsSpan(0, envelope.Length);
        try
        {
            envelope.CopyTo(buffer);
            var status = TryOpenRequestInPlace(buffer, clientSecret, now, out var opened);
            if (status == EnvelopeStatus.Success)
                request = new V2Request(opened.TimestampMs, opened.Nonce, buffer.Slice(opened.PayloadOffset, opened.PayloadLength).ToArray());
            return status;
        }
        finally
        {
            buffer.Clear();
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>
    /// Opens a raw request envelope in place: the JSON payload is decrypted over the envelope's own ciphertext, so a large
    /// request (an identity map of thousands) is never copied. On success <paramref name="request"/> says where the payload
    /// lies in <paramref name="envelope"/>; on a failed decryption the ciphertext is overwritten with zeros (a second
    /// secret must be tried on a copy). Never throws for bad input.
    /// </summary>
    public static EnvelopeStatus TryOpenRequestInPlace(Span<byte> envelope, ReadOnlySpan<byte> clientSecret, DateTimeOffset now, out OpenedRequest request) =>
        OpenRequestInPlace(envelope, clientSecret, null, now, out request);

    /// <summary>
    /// <see cref="TryOpenRequestInPlace(Span{byte}, ReadOnlySpan{byte}, DateTimeOffset, out OpenedRequest)"/> with the
    /// client secret's reusable cipher state (an operator serving the same client many times).
    /// </summary>
    public static EnvelopeStatus TryOpenRequestInPlace(Span<byte> envelope, GcmKey clientSecret, DateTimeOffset now, out OpenedRequest request) =>
        OpenRequestInPlace(envelope, default, clientSecret, now, out request);

    private static EnvelopeStatus OpenRequestInPlace(Span<byte> envelope, ReadOnlySpan<byte> secretBytes, GcmKey? secret, DateTimeOffset now, out OpenedRequest request)
    {
        request = default;
        if (envelope.Length < MinRequestLength) return EnvelopeStatus.TooShort;
        if (envelope[0] != EnvelopeVersion) return EnvelopeStatus.UnsupportedVersion;

        const int plainStart = 1 + Aes256.GcmIvSize;
        var plain = envelope.Slice(plainStart, envelope.Length - 1 - Aes256.GcmOverhead);
        var opened = secret is null ? Aes256.TryGcmDecrypt(secretBytes, envelope[1..], plain) : Aes256.TryGcmDecrypt(secret, envelope[1..], plain);
        if (!opened) return EnvelopeStatus.DecryptFailed;
        var timestamp = Wire.I64(plain, 0);
        if (!IsFresh(timestamp, now)) return EnvelopeStatus.StaleTimestamp;
        request = new OpenedRequest(timestamp, plain.Slice(8, NonceLength).ToArray(), plainStart + 16, plain.Length - 16);
        return EnvelopeStatus.Success;
    }

    /// <summary>
    /// Opens a base64 request body. Standard alphabet; missing padding is tolerated (as Java's decoder does).
    /// </summary>
    public static EnvelopeStatus TryDecryptRequestBase64(ReadOnlySpan<char> body, ReadOnlySpan<byte> clientSecret, DateTimeOffset now, out V2Request? request)
    {
        request = null;
        body = body.Trim();
        if (body.Length % 4 == 1) return EnvelopeStatus.InvalidBase64;
        var padding = (4 - body.Length % 4) % 4;
        var maxBytes = (body.Length + padding) / 4 * 3;
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        try
        {
            var text = body;
            if (padding != 0)
            {
                rentedChars = ArrayPool<char>.Shared.Rent(body.Length + padding);
                body.CopyTo(rentedChars);
                rentedChars.AsSpan(body.Length, padding).Fill('=');
                text = rentedChars.AsSpan(0, body.Length + padding);
            }
            rentedBytes = ArrayPool<byte>.Shared.Rent(Math.Max(maxBytes, 1));
            if (!Convert.TryFromBase64Chars(text, rentedBytes, out var written)) return EnvelopeStatus.InvalidBase64;
            return TryDecryptRequest(rentedBytes.AsSpan(0, written), clientSecret, now, out request);
        }
        finally
        {
            if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
            if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
        }
    }

    /// <summary>
    /// The reference freshness rule: <c>abs(Duration.between(ts, now).toMinutes()) &lt;= 1</c>, i.e. whole seconds floored,
    /// then minutes truncated toward zero (so up to ~119 s either way is accepted).
    /// </summary>
    public static bool IsFresh(long timestampMs, DateTimeOffset now)
    {
        Int128 nowTicks = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var delta = nowTicks - (Int128)timestampMs * TimeSpan.TicksPerMillisecond;
        var seconds = delta >= 0 ? delta / TimeSpan.TicksPerSecond : -((-delta + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);
        var minutes = seconds / 60;
        return Int128.Abs(minutes) <= TimestampDriftToleranceMinutes;
    }

    /// <summary>Seals a response: IV(12) ‖ GCM(timestamp ms ‖ nonce ‖ json) ‖ tag(16). The caller base64-encodes it for text responses.</summary>
    public static byte[] EncryptResponse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key, DateTimeOffset now)
    {
        if (nonce.Length != NonceLength) throw new ArgumentException("The nonce must be 8 bytes.", nameof(nonce));
        return Seal(0, json, nonce, key, now);
    }

    /// <summary>Client side: builds a request envelope 0x01 ‖ IV ‖ GCM(timestamp ‖ random nonce ‖ json) ‖ tag.</summary>
    public static byte[] EncryptRequest(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key, DateTimeOffset now, out byte[] nonce)
    {
        nonce = RandomNumberGenerator.GetBytes(NonceLength);
        return Seal(1, json, nonce, key, now);
    }

    /// <summary>The length of a request envelope for a JSON payload of <paramref name="jsonLength"/> bytes.</summary>
    public static int RequestLength(int jsonLength) => 1 + 8 + NonceLength + jsonLength + Aes256.GcmOverhead;

    /// <summary>
    /// Client side: <see cref="EncryptRequest(ReadOnlySpan{byte}, ReadOnlySpan{byte}, DateTimeOffset, out byte[])"/> into a
    /// caller's buffer (e.g. pooled) of at least <see cref="RequestLength"/> bytes, with a random nonce written to
    /// <paramref name="nonce"/> (8 bytes); returns the bytes written.
    /// </summary>
    public static int EncryptRequest(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key, DateTimeOffset now, Span<byte> nonce, Span<byte> destination) =>
        EncryptRequest(json, key, null, now, nonce, destination);

    /// <summary>
    /// <see cref="EncryptRequest(ReadOnlySpan{byte}, ReadOnlySpan{byte}, DateTimeOffset, Span{byte}, Span{byte})"/> with the
    /// secret's reusable cipher state (a client sending many requests with one secret).
    /// </summary>
    public static int EncryptRequest(ReadOnlySpan<byte> json, GcmKey key, DateTimeOffset now, Span<byte> nonce, Span<byte> destination) =>
        EncryptRequest(json, default, key, now, nonce, destination);

    private static int EncryptRequest(ReadOnlySpan<byte> json, ReadOnlySpan<byte> keyBytes, GcmKey? key, DateTimeOffset now, Span<byte> nonce, Span<byte> destination)
    {
        if (nonce.Length != NonceLength) throw new ArgumentException("The nonce must be 8 bytes.", nameof(nonce));
        var length = RequestLength(json.Length);
        if (destination.Length < length) throw new ArgumentException("The destination is too small.", nameof(destination));
        RandomNumberGenerator.Fill(nonce);
        SealInto(1, json, nonce, keyBytes, key, now, destination[..length]);
        return length;
    }

    /// <summary>
    /// Client side: opens a response in place and checks its nonce; on success <paramref name="json"/> is where the JSON
    /// lies in <paramref name="response"/>. False on any failure (the buffer's content is then unspecified).
    /// </summary>
    public static bool TryOpenResponseInPlace(Span<byte> response, ReadOnlySpan<byte> key, ReadOnlySpan<byte> expectedNonce, out Range json) =>
        OpenResponseInPlace(response, key, null, expectedNonce, out json);

    /// <summary>
    /// <see cref="TryOpenResponseInPlace(Span{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, out Range)"/> with the secret's
    /// reusable cipher state.
    /// </summary>
    public static bool TryOpenResponseInPlace(Span<byte> response, GcmKey key, ReadOnlySpan<byte> expectedNonce, out Range json) =>
        OpenResponseInPlace(response, default, key, expectedNonce, out json);

    private static bool OpenResponseInPlace(Span<byte> response, ReadOnlySpan<byte> keyBytes, GcmKey? key, ReadOnlySpan<byte> expectedNonce, out Range json)
    {
        json = default;
        if (response.Length < Aes256.GcmOverhead + 8 + NonceLength || expectedNonce.Length != NonceLength) return false;
        var plain = response.Slice(Aes256.GcmIvSize, response.Length - Aes256.GcmOverhead);
        var opened = key is null ? Aes256.TryGcmDecrypt(keyBytes, response, plain) : Aes256.TryGcmDecrypt(key, response, plain);
        if (!opened) return false;
        if (!plain.Slice(8, NonceLength).SequenceEqual(expectedNonce)) return false;
        json = new Range(Aes256.GcmIvSize + 16, Aes256.GcmIvSize + plain.Length);
        return true;
    }

    /// <summary>The length of a sealed response for a JSON body of <paramref name="jsonLength"/> bytes.</summary>
    public static int ResponseLength(int jsonLength) => 8 + NonceLength + jsonLength + Aes256.GcmOverhead;

    /// <summary>
    /// <see cref="EncryptResponse(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DateTimeOffset)"/> into a
    /// caller's buffer (e.g. pooled) of at least <see cref="ResponseLength"/> bytes; returns the bytes written.
    /// </summary>
    public static int EncryptResponse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key, DateTimeOffset now, Span<byte> destination) =>
        EncryptResponse(json, nonce, key, null, now, destination);

    /// <summary>
    /// <see cref="EncryptResponse(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DateTimeOffset, Span{byte})"/>
    /// with the client secret's reusable cipher state.
    /// </summary>
    public static int EncryptResponse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, GcmKey key, DateTimeOffset now, Span<byte> destination) =>
        EncryptResponse(json, nonce, default, key, now, destination);

    private static int EncryptResponse(ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> keyBytes, GcmKey? key, DateTimeOffset now, Span<byte> destination)
    {
        if (nonce.Length != NonceLength) throw new ArgumentException("The nonce must be 8 bytes.", nameof(nonce));
        var length = ResponseLength(json.Length);
        if (destination.Length < length) throw new ArgumentException("The destination is too small.", nameof(destination));
        SealInto(0, json, nonce, keyBytes, key, now, destination[..length]);
        return length;
    }

    private static byte[] Seal(int prefix, ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key, DateTimeOffset now)
    {
        var output = new byte[prefix + 8 + NonceLength + json.Length + Aes256.GcmOverhead];
        SealInto(prefix, json, nonce, key, null, now, output);
        return output;
    }

    private static void SealInto(int prefix, ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> keyBytes, GcmKey? key,
        DateTimeOffset now, Span<byte> output)
    {
        var plainLength = 8 + NonceLength + json.Length;
        if (prefix == 1) output[0] = EnvelopeVersion;
        byte[]? rented = null;
        var plain = plainLength <= StackLimit ? stackalloc byte[plainLength] : (rented = ArrayPool<byte>.Shared.Rent(plainLength)).AsSpan(0, plainLength);
        try
        {
            Wire.I64(plain, 0, now.ToUnixTimeMilliseconds());
            nonce.CopyTo(plain[8..]);
            json.CopyTo(plain[16..]);
            if (key is null) Aes256.GcmEncrypt(keyBytes, plain, output[prefix..]);
            else Aes256.GcmEncrypt(key, plain, output[prefix..]);
        }
        finally
        {
            plain.Clear();
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Client side: opens a response and checks its nonce, leaving it untouched
    /// (<see cref="TryOpenResponseInPlace(Span{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, out Range)"/> on a pooled
    /// copy). False on any failure, including nonce mismatch.
    /// </summary>
    public static bool TryDecryptResponse(ReadOnlySpan<byte> response, ReadOnlySpan<byte> key, ReadOnlySpan<byte> expectedNonce, out byte[]? json)
    {
        json = null;
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(response.Length, 1));
        var buffer = copy.AsSpan(0, response.Length);
        try
        {
            response.CopyTo(buffer);
            if (!TryOpenResponseInPlace(buffer, key, expectedNonce, out var range)) return false;
            json = buffer[range].ToArray();
            return true;
        }
        finally
        {
            buffer.Clear();
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>IV(12) ‖ GCM(json) ‖ tag(16), no timestamp or nonce: the 388-wrapper refresh response and CSTG responses.</summary>
    public static byte[] EncryptNoNonce(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key)
    {
        var output = new byte[json.Length + Aes256.GcmOverhead];
        Aes256.GcmEncrypt(key, json, output);
        return output;
    }

    /// <summary>Opens IV ‖ ct ‖ tag. False on any failure.</summary>
    public static bool TryDecryptNoNonce(ReadOnlySpan<byte> data, ReadOnlySpan<byte> key, out byte[]? json)
    {
        json = null;
        if (data.Length < Aes256.GcmOverhead) return false;
        var plain = new byte[data.Length - Aes256.GcmOverhead];
        if (!Aes256.TryGcmDecrypt(key, data, plain)) return false;
        json = plain;
        return true;
    }

    /// <summary>
    /// True when <paramref name="body"/> parses as a JSON object — used to tell callers who skipped encryption
    /// ("The request body is unencrypted JSON") apart from corrupt envelopes.
    /// </summary>
    public static bool IsPlainJsonObject(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
