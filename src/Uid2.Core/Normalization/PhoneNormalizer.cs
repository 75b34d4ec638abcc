namespace Uid2.Core.Normalization;

/// <summary>
/// Phone numbers are not normalized by the operator: they must already be E.164, i.e. <c>+</c> followed by
/// 10 to 15 ASCII digits and nothing else (reference: <c>InputUtil.isPhoneNumberNormalized</c>).
/// </summary>
public static class PhoneNormalizer
{
    public const int MinDigits = 10;
    public const int MaxDigits = 15;

    /// <summary>True when <paramref name="phone"/> is <c>+</c> followed by 10–15 ASCII digits.</summary>
    public static bool IsValid(string? phone) => phone is not null && IsValid(phone.AsSpan());

    /// <inheritdoc cref="IsValid(string?)"/>
    public static bool IsValid(ReadOnlySpan<char> phone)
    {
        if (phone.Length < MinDigits + 1 || phone.Length > MaxDigits + 1 || phone[0] != '+') return false;
        for (var i = 1; i < phone.Length; i++)
            if (!char.IsAsciiDigit(phone[i])) return false;
        return true;
    }

    /// <summary>Validates; the normalized form is the input itself. On failure <paramref name="normalized"/> is empty.</summary>
    public static bool TryNormalize(string? phone, out string normalized)
    {
        normalized = IsValid(phone) ? phone! : string.Empty;
        return normalized.Length != 0;
    }
}
