using System.Buffers;
using Uid2.Core.Identity;

namespace Uid2.Core.Normalization;

/// <summary>
/// Normalizes a DII value of one kind and writes the SHA-256 of its normalized form into <paramref name="hash32"/>
/// (for the hashed kinds: decodes the given SHA-256). False for an invalid value; never throws for bad input.
/// </summary>
public delegate bool DiiNormalizer(ReadOnlySpan<char> value, Span<byte> hash32);

/// <summary>The protocol's built-in test identities of one identity type, in normalized form.</summary>
/// <param name="Validate">Never opted out; the only identity <c>/token/validate</c> compares.</param>
/// <param name="OptOut">Always opted out: generate answers <c>optout</c>.</param>
/// <param name="RefreshOptOut">Generates normally; every refresh answers <c>optout</c>.</param>
public sealed record TestIdentityValues(string Validate, string OptOut, string RefreshOptOut);

/// <summary>One identity type (the 2-bit type field of the identity byte): email or phone.</summary>
public sealed class IdentityTypeDescriptor
{
    internal IdentityTypeDescriptor(IdentityType type, string name, DiiKind rawKind, DiiKind hashKind, TestIdentityValues testIdentities)
    {
        Type = type;
        Name = name;
        RawKind = rawKind;
        HashKind = hashKind;
        TestIdentities = testIdentities;
    }

    public IdentityType Type { get; }
    /// <summary><c>email</c> or <c>phone</c>: how the admin CLI, the audit log and documentation name it.</summary>
    public string Name { get; }
    /// <summary>The kind carrying the DII itself (<c>email</c>, <c>phone</c>).</summary>
    public DiiKind RawKind { get; }
    /// <summary>The kind carrying its SHA-256 (<c>email_hash</c>, <c>phone_hash</c>): what SDKs send.</summary>
    public DiiKind HashKind { get; }
    public TestIdentityValues TestIdentities { get; }
}

/// <summary>One of the four ways a request carries DII.</summary>
public sealed class DiiKindDescriptor
{
    internal DiiKindDescriptor(DiiKind kind, string parameterName, IdentityType type, bool isHash, DiiNormalizer normalize,
        string cliDescription, string invalidValueMessage)
    {
        Kind = kind;
        ParameterName = parameterName;
        Type = type;
        IsHash = isHash;
        Normalize = normalize;
        CliOption = "--" + parameterName.Replace('_', '-');
        CliDescription = cliDescription;
        InvalidValueMessage = invalidValueMessage;
    }

    public DiiKind Kind { get; }
    /// <summary>The request parameter (query or JSON field) and identity-map array name: <c>email</c>, <c>email_hash</c>, <c>phone</c>, <c>phone_hash</c>.</summary>
    public string ParameterName { get; }
    /// <summary>The identity type its tokens and raw UIDs carry.</summary>
    public IdentityType Type { get; }
    /// <summary>True for the pre-hashed kinds (the only ones client-side generation takes).</summary>
    public bool IsHash { get; }
    /// <summary>Validates and normalizes a value into the 32-byte DII hash.</summary>
    public DiiNormalizer Normalize { get; }
    /// <summary>The admin CLI option: <c>--email</c>, <c>--email-hash</c>, <c>--phone</c>, <c>--phone-hash</c>.</summary>
    public string CliOption { get; }
    public string CliDescription { get; }
    /// <summary>What an operator-facing tool (admin CLI, admin API) says of an invalid value of this kind.</summary>
    public string InvalidValueMessage { get; }
}

/// <summary>
/// The identity kinds of the protocol, one table: each DII kind's request parameter, normalizer and identity type, and
/// each identity type's DII kinds and test identities. Endpoints, identity map, the SDK and the admin tools read it; a
/// kind or type outside it is an error, never taken for email.
/// </summary>
public static class IdentityKinds
{
    private const int StackLimit = 256;

    private static readonly DiiKindDescriptor[] Kinds =
    [
        // indexed by (int)DiiKind
        new(DiiKind.Email, "email", IdentityType.Email, isHash: false, NormalizeEmail,
            "Email address (normalized before hashing).", "Invalid email address."),
        new(DiiKind.EmailHash, "email_hash", IdentityType.Email, isHash: true, DecodeHash,
            "SHA-256 of a normalized email, base64 or hex.",
            "Invalid email hash: expected the SHA-256 of a normalized email as base64 (44 chars) or hex (64 chars)."),
        new(DiiKind.Phone, "phone", IdentityType.Phone, isHash: false, NormalizePhone,
            "Phone number in E.164 form (+15551234567).", "Invalid phone number: expected E.164, '+' followed by 10 to 15 digits."),
        new(DiiKind.PhoneHash, "phone_hash", IdentityType.Phone, isHash: true, DecodeHash,
            "SHA-256 of an E.164 phone number, base64 or hex.",
            "Invalid phone hash: expected the SHA-256 of an E.164 phone number as base64 (44 chars) or hex (64 chars)."),
    ];

    private static readonly IdentityTypeDescriptor[] Types =
    [
        // indexed by (int)IdentityType
        new(IdentityType.Email, "email", DiiKind.Email, DiiKind.EmailHash,
            new TestIdentityValues("validate@example.com", "optout@example.com", "refresh-optout@example.com")),
        new(IdentityType.Phone, "phone", DiiKind.Phone, DiiKind.PhoneHash,
            new TestIdentityValues("+12345678901", "+00000000000", "+00000000002")),
    ];

    /// <summary>Every DII kind, in the order the API lists them (email, email_hash, phone, phone_hash).</summary>
    public static ReadOnlySpan<DiiKind> All => [DiiKind.Email, DiiKind.EmailHash, DiiKind.Phone, DiiKind.PhoneHash];

    /// <summary>Every identity type (email, phone).</summary>
    public static IReadOnlyList<IdentityTypeDescriptor> IdentityTypes => Types;

    /// <summary>The descriptor of a DII kind; <see cref="ArgumentOutOfRangeException"/> for a value outside the enum.</summary>
    public static DiiKindDescriptor Of(DiiKind kind) =>
        TryGet(kind, out var descriptor) ? descriptor : throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown DII kind.");

    /// <summary>The descriptor of an identity type; <see cref="ArgumentOutOfRangeException"/> for a value outside the protocol.</summary>
    public static IdentityTypeDescriptor Of(IdentityType type) =>
        TryGet(type, out var descriptor) ? descriptor : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown identity type.");

    public static bool TryGet(DiiKind kind, out DiiKindDescriptor descriptor)
    {
        if ((uint)kind < (uint)Kinds.Length)
        {
            descriptor = Kinds[(int)kind];
            return true;
        }
        descriptor = null!;
        return false;
    }

    public static bool TryGet(IdentityType type, out IdentityTypeDescriptor descriptor)
    {
        if ((uint)type < (uint)Types.Length)
        {
            descriptor = Types[(int)type];
            return true;
        }
        descriptor = null!;
        return false;
    }

    /// <summary>Maps a parameter name (exact, case-sensitive) back to its kind.</summary>
    public static bool TryParseParameterName(ReadOnlySpan<char> name, out DiiKind kind)
    {
        foreach (var descriptor in Kinds)
        {
            if (name.SequenceEqual(descriptor.ParameterName))
            {
                kind = descriptor.Kind;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>
    /// Decodes the 2-bit identity-type field (bits 2–3 of the identity byte). False for a value the protocol does not
    /// define (2, 3): such a token or raw UID is malformed.
    /// </summary>
    public static bool TryDecodeType(int typeBits, out IdentityType type)
    {
        type = (IdentityType)typeBits;
        return (uint)typeBits < (uint)Types.Length;
    }

    private static bool NormalizeEmail(ReadOnlySpan<char> value, Span<byte> hash32)
    {
        char[]? rented = null;
        Span<char> buffer = value.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(value.Length));
        try
        {
            if (!EmailNormalizer.TryNormalize(value, buffer, out var written)) return false;
            IdentityHasher.HashDii(buffer[..written], hash32);
            return true;
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static bool NormalizePhone(ReadOnlySpan<char> value, Span<byte> hash32)
    {
        if (!PhoneNormalizer.IsValid(value)) return false;
        IdentityHasher.HashDii(value, hash32);
        return true;
    }

    private static bool DecodeHash(ReadOnlySpan<char> value, Span<byte> hash32) => HashInput.TryParse(value, hash32);
}
