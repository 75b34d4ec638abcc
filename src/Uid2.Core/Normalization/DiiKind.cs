namespace Uid2.Core.Normalization;

/// <summary>The four ways a request can carry DII.</summary>
public enum DiiKind
{
    Email,
    EmailHash,
    Phone,
    PhoneHash,
}

public static class DiiKindExtensions
{
    /// <summary>All kinds in the order the API lists them (email, email_hash, phone, phone_hash).</summary>
    public static ReadOnlySpan<DiiKind> All => [DiiKind.Email, DiiKind.EmailHash, DiiKind.Phone, DiiKind.PhoneHash];

    /// <summary>The request/response parameter name: <c>email</c>, <c>email_hash</c>, <c>phone</c>, <c>phone_hash</c>.</summary>
    public static string ParameterName(this DiiKind kind) => kind switch
    {
        DiiKind.Email => "email",
        DiiKind.EmailHash => "email_hash",
        DiiKind.Phone => "phone",
        DiiKind.PhoneHash => "phone_hash",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Maps a parameter name (exact, case-sensitive) back to its kind.</summary>
    public static bool TryParseParameterName(string? name, out DiiKind kind)
    {
        switch (name)
        {
            case "email": kind = DiiKind.Email; return true;
            case "email_hash": kind = DiiKind.EmailHash; return true;
            case "phone": kind = DiiKind.Phone; return true;
            case "phone_hash": kind = DiiKind.PhoneHash; return true;
            default: kind = default; return false;
        }
    }

    /// <summary><see cref="IdentityType.Email"/> for email/email_hash, <see cref="IdentityType.Phone"/> for phone/phone_hash.</summary>
    public static IdentityType ToIdentityType(this DiiKind kind) =>
        kind is DiiKind.Phone or DiiKind.PhoneHash ? IdentityType.Phone : IdentityType.Email;

    /// <summary>True for the pre-hashed kinds (email_hash, phone_hash).</summary>
    public static bool IsHash(this DiiKind kind) => kind is DiiKind.EmailHash or DiiKind.PhoneHash;
}
