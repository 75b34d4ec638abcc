using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Uid2.Core.Tokens;

/// <summary>Inline storage for a raw UID (up to 33 bytes), so a decoded token needs no heap allocation.</summary>
[InlineArray(33)]
public struct RawUidBuffer
{
    private byte _element0;
}

/// <summary>
/// The fields of a decoded advertising token as a value: what <see cref="AdvertisingTokenCodec.TryDecodeFields"/>
/// returns without allocating. <see cref="ToAdvertisingToken"/> gives the class form.
/// </summary>
public struct DecodedAdvertisingToken
{
    public TokenVersion Version;
    public IdentityScope Scope;
    public IdentityType Type;
    public int SiteId;
    public long PublisherId;
    public int ClientKeyId;
    public int PrivacyBits;
    public DateTimeOffset Expires;
    public DateTimeOffset Created;
    public DateTimeOffset Established;
    public DateTimeOffset Refreshed;
    public OperatorIdentity Operator;
    public int MasterKeyId;
    public int SiteKeyId;
    public int RawUidLength;
    public RawUidBuffer RawUidBytes;

    /// <summary>The raw UID (32 or 33 bytes). Valid while this value is alive; copy it to keep it.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> RawUid => ((ReadOnlySpan<byte>)RawUidBytes)[..RawUidLength];

    /// <summary>Writes the standard base64 of the raw UID; returns the number of chars (44).</summary>
    public readonly int WriteRawUidBase64(Span<char> destination)
    {
        var copy = RawUidBytes;
        return Convert.TryToBase64Chars(((ReadOnlySpan<byte>)copy)[..RawUidLength], destination, out var written) ? written : 0;
    }

    public readonly AdvertisingToken ToAdvertisingToken()
    {
        var copy = RawUidBytes;
        return new AdvertisingToken
        {
            Version = Version,
            Scope = Scope,
            Type = Type,
            RawUid = ((ReadOnlySpan<byte>)copy)[..RawUidLength].ToArray(),
            SiteId = SiteId,
            PublisherId = PublisherId,
            ClientKeyId = ClientKeyId,
            PrivacyBits = PrivacyBits,
            Expires = Expires,
            Created = Created,
            Established = Established,
            Refreshed = Refreshed,
            Operator = Operator,
            MasterKeyId = MasterKeyId,
            SiteKeyId = SiteKeyId,
        };
    }
}
