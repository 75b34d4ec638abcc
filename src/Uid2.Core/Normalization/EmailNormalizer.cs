using System.Buffers;

namespace Uid2.Core.Normalization;

/// <summary>
/// Email normalization with the exact rules of the reference operator (<c>InputUtil.normalizeEmailString</c>):
/// <list type="bullet">
/// <item>Only ASCII <c>A</c>–<c>Z</c> are lower-cased; every other character is kept as is.</item>
/// <item>Every space (U+0020) before the first <c>@</c> is dropped (not only leading ones); other whitespace is kept.</item>
/// <item>A second <c>@</c>, an empty local part or an empty domain makes the address invalid.</item>
/// <item>Trailing spaces of the domain are dropped; leading/inner domain spaces are kept.</item>
/// <item>Only for the domain exactly <c>gmail.com</c> (after lower-casing): all <c>.</c> are removed from the local part and
/// <c>+</c> and everything after it is dropped. <c>googlemail.com</c> is <b>not</b> special.</item>
/// </list>
/// Never throws for any input; output is never longer than the input.
/// </summary>
public static class EmailNormalizer
{
    private const int StackLimit = 256;

    /// <summary>Normalizes <paramref name="input"/>; on failure <paramref name="normalized"/> is <see cref="string.Empty"/>.</summary>
    public static bool TryNormalize(string? input, out string normalized)
    {
        normalized = string.Empty;
        if (string.IsNullOrEmpty(input)) return false;

        char[]? rented = null;
        Span<char> buffer = input.Length <= StackLimit
            ? stackalloc char[StackLimit]
            : (rented = ArrayPool<char>.Shared.Rent(input.Length));
        try
        {
            if (!TryNormalize(input.AsSpan(), buffer, out var written)) return false;
            var result = buffer[..written];
            // Avoid allocating when the input is already normalized.
            normalized = result.SequenceEqual(input.AsSpan()) ? input : new string(result);
            return true;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Allocation-free normalization into <paramref name="destination"/>, which must be at least <c>input.Length</c> long
    /// (the normalized form is never longer than the input).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <paramref name="input"/>.</exception>
    public static bool TryNormalize(ReadOnlySpan<char> input, Span<char> destination, out int charsWritten)
    {
        if (destination.Length < input.Length)
            throw new ArgumentException("Destination must be at least as long as the input.", nameof(destination));
        charsWritten = 0;

        var at = input.IndexOf('@');
        if (at < 0) return false; // no domain at all
        var local = input[..at];
        var domain = input[(at + 1)..];
        if (domain.Contains('@')) return false;
        domain = domain.TrimEnd(' ');
        if (domain.IsEmpty) return false;

        var gmail = IsGmail(domain);
        var n = 0;
        for (var i = 0; i < local.Length; i++)
        {
            var c = local[i];
            if (c == ' ') continue;
            if (gmail)
            {
                if (c == '+') break; // the extension and everything after it is dropped
                if (c == '.') continue;
            }
            destination[n++] = ToLowerAscii(c);
        }
        if (n == 0) return false;

        destination[n++] = '@';
        for (var i = 0; i < domain.Length; i++) destination[n++] = ToLowerAscii(domain[i]);
        charsWritten = n;
        return true;
    }

    private static char ToLowerAscii(char c) => c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;

    private static bool IsGmail(ReadOnlySpan<char> domain)
    {
        const string Gmail = "gmail.com";
        if (domain.Length != Gmail.Length) return false;
        for (var i = 0; i < Gmail.Length; i++)
            if (ToLowerAscii(domain[i]) != Gmail[i]) return false;
        return true;
    }
}
