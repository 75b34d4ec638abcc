using System.Security.Cryptography;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

/// <summary>A string biased towards email-like shapes (spaces, dots, pluses, '@', gmail.com, case, unicode).</summary>
public sealed record EmailLike(string Value)
{
    public override string ToString() => $"\"{Value}\"";
}

public sealed record PhoneLike(string Value)
{
    public override string ToString() => $"\"{Value}\"";
}

public static class NormalizationArbitraries
{
    private static readonly string[] Pieces =
    [
        " ", "  ", ".", "+", "@", "a", "B", "z", "Q", "0", "9", "-", "_", "\t", "é", "Ä", "ı", "\uD83D\uDE0A", "\uD800",
        "gmail.com", "GMail.Com", "googlemail.com", "example.com", "test", "TEst.TEst", "+ext", "\u0000",
    ];

    public static Arbitrary<EmailLike> EmailLike() =>
        Gen.Elements(Pieces).ArrayOf().Select(parts => new EmailLike(string.Concat(parts))).ToArbitrary();

    public static Arbitrary<PhoneLike> PhoneLike() =>
        Gen.Elements("+", "0", "1", "5", "9", " ", "-", "A", "٣", "(", ")").ArrayOf()
            .Select(parts => new PhoneLike(string.Concat(parts))).ToArbitrary();
}

public class NormalizationPropertyTests
{
    private static readonly Regex E164 = new("^\\+[0-9]{10,15}\\z", RegexOptions.CultureInvariant);

    [Property(Arbitrary = [typeof(NormalizationArbitraries)], MaxTest = 2000)]
    public bool Email_normalization_is_idempotent(EmailLike email)
    {
        if (!EmailNormalizer.TryNormalize(email.Value, out var once)) return true;
        return EmailNormalizer.TryNormalize(once, out var twice) && twice == once;
    }

    [Property(Arbitrary = [typeof(NormalizationArbitraries)], MaxTest = 2000)]
    public bool Normalized_email_shape(EmailLike email)
    {
        if (!EmailNormalizer.TryNormalize(email.Value, out var n)) return true;
        var at = n.IndexOf('@');
        var local = n[..at];
        var domain = n[(at + 1)..];
        var gmailOk = domain != "gmail.com" || (!local.Contains('.') && !local.Contains('+'));
        return n.Length <= email.Value.Length
               && at > 0 && domain.Length > 0 && !domain.Contains('@')
               && !local.Contains(' ') && !domain.EndsWith(' ')
               && !n.Any(c => c is >= 'A' and <= 'Z')
               && gmailOk;
    }

    [Property(Arbitrary = [typeof(NormalizationArbitraries)], MaxTest = 1000)]
    public bool Email_parse_never_throws_and_matches_normalizer(EmailLike email)
    {
        var ok = IdentityInputParser.TryParse(DiiKind.Email, email.Value, out var input);
        return ok == EmailNormalizer.TryNormalize(email.Value, out _) && (!ok || input.DiiHash.Length == 32);
    }

    [Property(MaxTest = 1000)]
    public bool Nothing_throws_for_arbitrary_strings(string? s)
    {
        EmailNormalizer.TryNormalize(s, out _);
        PhoneNormalizer.IsValid(s);
        Span<byte> dest = stackalloc byte[32];
        HashInput.TryParse(s, dest);
        foreach (var kind in DiiKindExtensions.All) IdentityInputParser.TryParse(kind, s, out _);
        return true;
    }

    [Property(Arbitrary = [typeof(NormalizationArbitraries)], MaxTest = 2000)]
    public bool Phone_validity_matches_e164_regex(PhoneLike phone)
        => PhoneNormalizer.IsValid(phone.Value) == E164.IsMatch(phone.Value);

    [Property(MaxTest = 500)]
    public bool Any_sha256_round_trips_through_base64_and_hex(byte[] seed)
    {
        var hash = SHA256.HashData(seed ?? []);
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        Span<byte> c = stackalloc byte[32];
        return HashInput.TryParse(Convert.ToBase64String(hash), a) && a.SequenceEqual(hash)
               && HashInput.TryParse(Convert.ToHexString(hash), b) && b.SequenceEqual(hash)
               && HashInput.TryParse(Convert.ToHexStringLower(hash), c) && c.SequenceEqual(hash);
    }
}
