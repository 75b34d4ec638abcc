namespace Uid2.Core;

/// <summary>Which identity system a token or raw UID belongs to. Encoded in the high nibble of the identity byte.</summary>
public enum IdentityScope : byte
{
    Uid2 = 0,
    Euid = 1,
}

/// <summary>The kind of directly identifying information (DII) an identity was derived from.</summary>
public enum IdentityType : byte
{
    Email = 0,
    Phone = 1,
}

/// <summary>Helpers for the one-byte identity prefix used by tokens and v3 raw UIDs.</summary>
public static class IdentityByte
{
    /// <summary>The token identity byte: <c>scope&lt;&lt;4 | type&lt;&lt;2 | 3</c> (0x03, 0x07, 0x13, 0x17).</summary>
    public static byte ForToken(IdentityScope scope, IdentityType type) => (byte)(((int)scope << 4) | ((int)type << 2) | 3);

    /// <summary>The v3 raw UID prefix: <c>scope&lt;&lt;4 | type&lt;&lt;2</c> (0x00, 0x04, 0x10, 0x14).</summary>
    public static byte ForRawUid(IdentityScope scope, IdentityType type) => (byte)(((int)scope << 4) | ((int)type << 2));

    public static IdentityScope ScopeOf(byte identityByte) => (IdentityScope)((identityByte >> 4) & 1);

    /// <summary>The 2-bit identity-type field (bits 2–3), undecoded.</summary>
    public static int TypeBits(byte identityByte) => (identityByte >> 2) & 3;

    /// <summary>
    /// Decodes the 2-bit identity type of an identity byte. False for a type the protocol does not define (2 or 3):
    /// decoders treat that as a malformed token, never as email.
    /// </summary>
    public static bool TryTypeOf(byte identityByte, out IdentityType type) =>
        Normalization.IdentityKinds.TryDecodeType(TypeBits(identityByte), out type);

    /// <summary>The identity type of an identity byte; <see cref="ArgumentException"/> for a type the protocol does not define.</summary>
    public static IdentityType TypeOf(byte identityByte) =>
        TryTypeOf(identityByte, out var type) ? type : throw new ArgumentException($"Unknown identity type {TypeBits(identityByte)} in identity byte 0x{identityByte:x2}.", nameof(identityByte));
}

/// <summary>Privacy bits carried in tokens (int32).</summary>
[Flags]
public enum PrivacyBits
{
    None = 0,
    /// <summary>bit0: set on every server-side generated token.</summary>
    Legacy = 1,
    /// <summary>bit1: client-side generated (CSTG).</summary>
    ClientSideGenerated = 2,
    /// <summary>bit2: legacy opted-out token.</summary>
    OptedOut = 4,
}
