using System.Text;

namespace Uid2.Core.Identity;

/// <summary>
/// UTF-8 as Java's <c>String.getBytes()</c> produces it: an unpaired surrogate becomes <c>'?'</c> (0x3F) rather than
/// U+FFFD, so hashes of odd inputs match the reference operator byte for byte. Valid text is plain UTF-8.
/// </summary>
internal static class JavaUtf8
{
    internal static readonly Encoding Encoding =
        Encoding.GetEncoding("utf-8", new EncoderReplacementFallback("?"), DecoderFallback.ReplacementFallback);
}
