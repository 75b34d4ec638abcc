using Uid2.Core.Identity;

namespace Uid2.Core.Normalization;

/// <summary>A validated DII: its type and the 32-byte SHA-256 of its normalized form.</summary>
public readonly record struct IdentityInput(IdentityType Type, byte[] DiiHash)
{
    /// <summary>The DII hash as standard base64 (what <c>email_hash</c>/<c>phone_hash</c> carry).</summary>
    public string DiiHashBase64 => Convert.ToBase64String(DiiHash);
}

/// <summary>Turns a request DII value into an <see cref="IdentityInput"/>. Never throws for bad input.</summary>
public static class IdentityInputParser
{
    /// <summary>
    /// The kind's normalizer from <see cref="IdentityKinds"/>: Email: normalize (<see cref="EmailNormalizer"/>) then SHA-256;
    /// Phone: must be E.164 (<see cref="PhoneNormalizer"/>), then SHA-256; EmailHash/PhoneHash: <see cref="HashInput"/>.
    /// False (and <c>default</c>) for invalid values and unknown kinds.
    /// </summary>
    public static bool TryParse(DiiKind kind, string? value, out IdentityInput input)
    {
        input = default;
        return value is not null && TryParse(kind, value.AsSpan(), out input);
    }

    /// <inheritdoc cref="TryParse(DiiKind, string?, out IdentityInput)"/>
    public static bool TryParse(DiiKind kind, ReadOnlySpan<char> value, out IdentityInput input)
    {
        input = default;
        if (!IdentityKinds.TryGet(kind, out var descriptor)) return false;
        Span<byte> hash = stackalloc byte[IdentityHasher.HashLength];
        if (!descriptor.Normalize(value, hash)) return false;
        input = new IdentityInput(descriptor.Type, hash.ToArray());
        return true;
    }

    /// <summary>Hashes an already normalized DII (no validation), e.g. the built-in test identities.</summary>
    public static IdentityInput FromNormalized(IdentityType type, string normalizedDii)
        => new(type, IdentityHasher.HashDii(normalizedDii));
}
