using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Uid2.Operator.Protocol;

/// <summary>
/// Parses a request's JSON so that every value handlers read from it is well-formed: after
/// <see cref="TryParse"/> succeeds, <see cref="JsonElement.GetString"/> never throws on any string or property name.
/// <para>
/// <see cref="JsonDocument"/> refuses bad syntax and nesting deeper than <see cref="MaxDepth"/>, but it accepts strings
/// holding invalid UTF-8 or escapes that decode to a lone UTF-16 surrogate (<c>"\ud800"</c>), and
/// <see cref="JsonElement.GetString"/> then throws <see cref="InvalidOperationException"/>. So one reader pass
/// first checks every string and property name: raw ones must be valid UTF-8 (the reader does not check inside strings,
/// <see cref="JsonElement.GetString"/> does and throws), escaped ones must unescape to valid UTF-16. Any failure is a
/// malformed payload, answered 400 like any other.
/// </para>
/// </summary>
public static class JsonPayload
{
    /// <summary>The deepest nesting accepted; no request of the protocol nests more than three levels.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>
    /// Parses <paramref name="json"/> into a detached element (no document to dispose). False, with
    /// <paramref name="root"/> undefined, for anything that is not one well-formed JSON value.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<byte> json, out JsonElement root)
    {
        root = default;
        if (!HasWellFormedStrings(json.Span)) return false;
        try
        {
            using var document = JsonDocument.Parse(json, DocumentOptions);
            root = document.RootElement.Clone();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// As <see cref="TryParse"/>, without the copy: the document reads <paramref name="json"/> in place, so both must
    /// live as long as any element is used; the caller disposes the document (its metadata goes back to the pool).
    /// </summary>
    public static bool TryParseDocument(ReadOnlyMemory<byte> json, out JsonDocument? document)
    {
        document = null;
        if (!HasWellFormedStrings(json.Span)) return false;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsValidUtf8(ReadOnlySequence<byte> sequence) => Utf8.IsValid(sequence.ToArray());

    /// <summary>True when the input is well-formed JSON whose strings (escaped or not) all decode to valid UTF-16.</summary>
    internal static bool HasWellFormedStrings(ReadOnlySpan<byte> json)
    {
        char[]? rented = null;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)) continue;
                if (!reader.ValueIsEscaped)
                {
                    // The reader does not validate UTF-8 inside strings; GetString would throw later.
                    if (reader.HasValueSequence ? !IsValidUtf8(reader.ValueSequence) : !Utf8.IsValid(reader.ValueSpan)) return false;
                    continue;
                }
                // An unescaped value is never longer than its escaped form.
                var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
                if (rented is null || rented.Length < length)
                {
                    if (rented is not null) ArrayPool<char>.Shared.Return(rented);
                    rented = ArrayPool<char>.Shared.Rent(Math.Max(length, 64));
                }
                reader.CopyString(rented); // throws InvalidOperationException for a lone surrogate
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }
}
