using System.Buffers.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Uid2.Core;
using Uid2.Core.Tokens;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

/// <summary>Malformed tokens never decrypt and never throw.</summary>
public class DecryptPropertyTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UtcNow;
    private static readonly BidstreamClient Client = CreateClient();
    private static readonly string[] Tokens =
    [
        Token(TokenVersion.V2, generated: At),
        Token(TokenVersion.V3, generated: At, rawUid: RawUidV3(IdentityScope.Uid2, IdentityType.Email)),
        Token(TokenVersion.V4, generated: At, rawUid: RawUidV3(IdentityScope.Uid2, IdentityType.Phone)),
        Token(TokenVersion.V4, generated: At),
    ];

    private static BidstreamClient CreateClient()
    {
        var c = new BidstreamClient(BaseUrl, "k", ClientSecret);
        Assert.True(c.RefreshJson(DefaultBidstreamKeys()).Success);
        return c;
    }

    private static DecryptionResponse Decrypt(string token) => Client.Decrypt(token, At, "example.com");

    [Fact]
    public void The_unmodified_tokens_decrypt()
    {
        foreach (var t in Tokens) Assert.True(Decrypt(t).Success, t);
    }

    [Property(MaxTest = 500)]
    public bool Truncated_tokens_fail(NonNegativeInt which, PositiveInt cut)
    {
        var token = Tokens[which.Get % Tokens.Length];
        var keep = cut.Get % token.Length; // 0 .. length-1 chars
        return !Decrypt(token[..keep]).Success;
    }

    [Property(MaxTest = 1000)]
    public bool Bit_flips_in_key_ids_or_ciphertext_fail(NonNegativeInt which, NonNegativeInt position, byte mask)
    {
        // v3/v4 only: GCM authenticates the payload (v2's CBC layers are malleable by design and unauthenticated).
        var token = Tokens[1 + which.Get % (Tokens.Length - 1)];
        var isV4 = token[1] == '4';
        var bytes = isV4 ? Base64Url.DecodeFromChars(token) : Convert.FromBase64String(token);
        var pos = position.Get % bytes.Length;
        var flip = mask == 0 ? (byte)1 : mask;
        bytes[pos] ^= flip;
        var mutated = isV4 ? Base64Url.EncodeToString(bytes) : Convert.ToBase64String(bytes);
        var res = Decrypt(mutated);
        // The two header bytes are unauthenticated: a flip there may yield another valid version encoding of the same
        // payload; it must never yield a different UID. From the key id on, every flip must fail.
        return pos < 2 ? !res.Success || res.Uid == Decrypt(token).Uid : !res.Success;
    }

    [Property(MaxTest = 1000)]
    public bool Random_strings_fail(string? s) => s is null || !Decrypt(s).Success;

    [Property(MaxTest = 1000)]
    public bool Random_bytes_with_valid_headers_fail(byte[] payload, bool v4, bool standardBase64)
    {
        var bytes = new byte[2 + (payload?.Length ?? 0)];
        bytes[0] = 0x03;
        bytes[1] = v4 ? AdvertisingTokenCodec.V4VersionByte : AdvertisingTokenCodec.V3VersionByte;
        payload?.CopyTo(bytes, 2);
        var text = standardBase64 ? Convert.ToBase64String(bytes) : Base64Url.EncodeToString(bytes);
        return !Decrypt(text).Success;
    }

    [Property(MaxTest = 300)]
    public bool Right_length_random_gcm_tokens_fail(NonNegativeInt seed, bool v4)
    {
        var rng = new Random(seed.Get);
        var bytes = new byte[164];
        rng.NextBytes(bytes);
        bytes[0] = 0x03;
        bytes[1] = v4 ? AdvertisingTokenCodec.V4VersionByte : AdvertisingTokenCodec.V3VersionByte;
        // Use the real master key id half of the time so decryption reaches the GCM check.
        if (seed.Get % 2 == 0) { bytes[2] = 0; bytes[3] = 0; bytes[4] = 0; bytes[5] = MasterKeyId; }
        var text = v4 ? Base64Url.EncodeToString(bytes) : Convert.ToBase64String(bytes);
        return Decrypt(text).Status is DecryptionStatus.InvalidPayload or DecryptionStatus.NotAuthorizedForMasterKey;
    }
}
