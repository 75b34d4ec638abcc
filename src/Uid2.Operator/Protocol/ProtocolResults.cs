using Uid2.Core.Envelope;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Uid2.Core.Keys;

namespace Uid2.Operator.Protocol;

/// <summary>Protocol status strings.</summary>
public static class Statuses
{
    public const string Success = "success";
    public const string OptOut = "optout";
    /// <summary>EUID: the TCF string does not allow the vendor every required purpose (HTTP 200, no body).</summary>
    public const string InsufficientUserConsent = "insufficient_user_consent";
    public const string ClientError = "client_error";
    public const string InvalidToken = "invalid_token";
    public const string ExpiredToken = "expired_token";
    public const string Error = "error";
    public const string Unauthorized = "unauthorized";
    public const string Unknown = "unknown";
    public const string InvalidHttpOrigin = "invalid_http_origin";
    public const string InvalidAppName = "invalid_app_name";
}

/// <summary>Writes the protocol's JSON shapes. Errors are never encrypted.</summary>
public static class ProtocolResults
{
    /// <summary>Plain JSON, not HTML: base64 '+' and '/' are written as is, as the reference operator does.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// This thread's JSON writer over a reused buffer (the hot path writes its replies without a new writer or buffer
    /// per request). Write one value, then call <see cref="ToArray(Utf8JsonWriter)"/>; no await in between.
    /// </summary>
    internal static Utf8JsonWriter RentWriter()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (t_writer is { } writer) writer.Reset(buffer);
        else t_writer = writer = new Utf8JsonWriter(buffer, WriterOptions);
        return writer;
    }

    /// <summary>The bytes written to a writer from <see cref="RentWriter"/>.</summary>
    internal static byte[] ToArray(Utf8JsonWriter writer)
    {
        writer.Flush();
        return t_buffer!.WrittenSpan.ToArray();
    }

    public static IResult Error(int httpStatus, string status, string message) =>
        new BytesResult(ErrorJson(status, message), "application/json", httpStatus);

    public static IResult ClientError(string message) => Error(StatusCodes.Status400BadRequest, Statuses.ClientError, message);

    public const string BodyTooLargeMessage = "Request body too large";

    /// <summary>413 for a body over <see cref="RequestBody.MaxBytes"/>, in the protocol's shape.</summary>
    public static IResult BodyTooLarge() => Error(StatusCodes.Status413PayloadTooLarge, Statuses.ClientError, BodyTooLargeMessage);

    private static readonly byte[] UnauthorizedJson = "{\"status\":\"unauthorized\"}"u8.ToArray();

    public static IResult Unauthorized() => new BytesResult(UnauthorizedJson, "application/json", StatusCodes.Status401Unauthorized);

    /// <summary>A request refused by the <see cref="ReplayGuard"/>: 400 for a replay, 429 when the cache is full.</summary>
    public static IResult Replay(ReplayVerdict verdict) => verdict == ReplayVerdict.Full
        ? Error(StatusCodes.Status429TooManyRequests, Statuses.ClientError, "Too many requests; retry later")
        : ClientError("Duplicate request: this request was already received");

    public static byte[] ErrorJson(string status, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("status", status);
            w.WriteString("message", message);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>{"status":"&lt;status&gt;"}</c> (e.g. optout).</summary>
    public static byte[] StatusOnlyJson(string status) => Encoding.UTF8.GetBytes($"{{\"status\":\"{status}\"}}");

    /// <summary><c>{"status":"success","body":&lt;body&gt;}</c>, the body written by <paramref name="writeBody"/>.</summary>
    public static byte[] SuccessJson(Action<Utf8JsonWriter> writeBody)
    {
        var buffer = WriteSuccess(writeBody);
        try
        {
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            Release(buffer);
        }
    }

    /// <summary>
    /// The success JSON sealed for the caller (<see cref="SealedReply"/>) straight from the thread's JSON buffer: a large
    /// reply (an identity map) is never copied into an array of its own.
    /// </summary>
    public static SealedReply SealSuccess(Action<Utf8JsonWriter> writeBody, ReadOnlySpan<byte> nonce, GcmKey secret,
        DateTimeOffset now, bool binary)
    {
        var buffer = WriteSuccess(writeBody);
        try
        {
            return SealedReply.Create(buffer.WrittenSpan, nonce, secret, now, binary);
        }
        finally
        {
            Release(buffer);
        }
    }

    private static ArrayBufferWriter<byte> WriteSuccess(Action<Utf8JsonWriter> writeBody)
    {
        // A per-thread buffer that keeps its size: a large reply (an identity map) grows it once per thread instead of
        // doubling through fresh large arrays on every request.
        var buffer = t_successBuffer ??= new ArrayBufferWriter<byte>(1024);
        t_successBuffer = null; // taken: a reply written while this one is (never, but safely) gets its own
        buffer.ResetWrittenCount();
        try
        {
            using var w = new Utf8JsonWriter(buffer, WriterOptions);
            w.WriteStartObject();
            w.WriteString("status", Statuses.Success);
            w.WritePropertyName("body");
            writeBody(w);
            w.WriteEndObject();
        }
        catch
        {
            Release(buffer);
            throw;
        }
        return buffer;
    }

    private static void Release(ArrayBufferWriter<byte> buffer)
    {
        buffer.Clear(); // the JSON may hold identifiers: nothing stays in the kept buffer
        if (buffer.Capacity <= MaxKeptBuffer) t_successBuffer = buffer;
    }

    /// <summary>What a thread keeps for <see cref="SuccessJson"/> at most (the largest identity map reply is about this).</summary>
    private const int MaxKeptBuffer = 4 << 20;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_successBuffer;

    public static IResult Json(byte[] json) => Results.Bytes(json, "application/json");

    /// <summary>Sealed bytes answered as base64 text (<c>text/plain</c>), encoded straight to UTF-8 (no string between).</summary>
    public static IResult Base64Text(ReadOnlySpan<byte> sealedBytes)
    {
        var text = new byte[System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(sealedBytes.Length)];
        System.Buffers.Text.Base64.EncodeToUtf8(sealedBytes, text, out _, out var written);
        return new BytesResult(written == text.Length ? text : text[..written], "text/plain");
    }
}

/// <summary>
/// A 200 with a sealed v2 response, built in pooled buffers (sealed bytes, then their base64 for a text reply) and
/// written straight to the response: a large reply (an identity map of thousands) allocates no large arrays or strings
/// for the copies between the JSON and the wire. The buffers go back to the pool once written.
/// </summary>
public sealed class SealedReply : IResult
{
    private byte[]? _buffer;
    private readonly int _length;
    private readonly string _contentType;

    private SealedReply(byte[] buffer, int length, string contentType)
    {
        _buffer = buffer;
        _length = length;
        _contentType = contentType;
    }

    public static SealedReply Create(ReadOnlySpan<byte> json, ReadOnlySpan<byte> nonce, GcmKey secret, DateTimeOffset now, bool binary)
    {
        var sealedLength = V2Envelope.ResponseLength(json.Length);
        var sealedBuffer = ArrayPool<byte>.Shared.Rent(sealedLength);
        try
        {
            V2Envelope.EncryptResponse(json, nonce, secret, now, sealedBuffer);
            if (binary)
            {
                var result = new SealedReply(sealedBuffer, sealedLength, "application/octet-stream");
                sealedBuffer = null; // the result returns it
                return result;
            }
            var textLength = System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(sealedLength);
            var text = ArrayPool<byte>.Shared.Rent(textLength);
            System.Buffers.Text.Base64.EncodeToUtf8(sealedBuffer.AsSpan(0, sealedLength), text, out _, out var written);
            return new SealedReply(text, written, "text/plain");
        }
        finally
        {
            if (sealedBuffer is not null) ArrayPool<byte>.Shared.Return(sealedBuffer);
        }
    }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var buffer = Interlocked.Exchange(ref _buffer, null) ?? throw new InvalidOperationException("A reply is written once.");
        try
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = _contentType;
            httpContext.Response.ContentLength = _length;
            await httpContext.Response.Body.WriteAsync(buffer.AsMemory(0, _length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>A byte body with a content type and any status code.</summary>
public sealed class BytesResult(byte[] body, string contentType, int statusCode = StatusCodes.Status200OK) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = contentType;
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body).AsTask();
    }
}
