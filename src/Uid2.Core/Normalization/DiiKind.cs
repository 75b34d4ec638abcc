namespace Uid2.Core.Normalization;

/// <summary>The four ways a request can carry DII. Everything about each is in <see cref="IdentityKinds"/>.</summary>
public enum DiiKind
{
    Email,
    EmailHash,
    Phone,
    PhoneHash,
}

/// <summary>Shorthands over <see cref="IdentityKinds"/>.</summary>
public static class DiiKindExtensions
{
    /// <summary>All kinds in the order the API lists them (email, email_hash, phone, phone_hash).</summary>
    public static ReadOnlySpan<DiiKind> All => IdentityKinds.All;

    /// <summary>The request/response parameter name: <c>email</c>, <c>email_hash</c>, <c>phone</c>, <c>phone_hash</c>.</summary>
    public static string ParameterName(this DiiKind kind) => IdentityKinds.Of(kind).ParameterName;

    /// <summary>Maps a parameter name (exact, case-sensitive) back to its kind.</summary>
    public static bool TryParseParameterName(string? name, out DiiKind kind)
    {
        kind = default;
        return name is not null && IdentityKinds.TryParseParameterName(name, out kind);
    }

    /// <summary>The identity type of a kind; <see cref="ArgumentOutOfRangeException"/> for a value outside the enum.</summary>
    public static IdentityType ToIdentityType(this DiiKind kind) => IdentityKinds.Of(kind).Type;

    /// <summary>True for the pre-hashed kinds (email_hash, phone_hash).</summary>
    public static bool IsHash(this DiiKind kind) => IdentityKinds.Of(kind).IsHash;
}
