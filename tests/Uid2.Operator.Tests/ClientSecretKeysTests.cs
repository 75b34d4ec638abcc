using System.Security.Cryptography;
using Uid2.Core.Envelope;
using Uid2.Operator.Auth;

namespace Uid2.Operator.Tests;

/// <summary>The per-client cipher cache the v2 pipeline opens envelopes and seals replies with.</summary>
public class ClientSecretKeysTests
{
    [Fact]
    public void A_stored_secret_is_decoded_once_and_opens_what_its_bytes_sealed()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var stored = Convert.ToBase64String(bytes);
        var key = ClientSecretKeys.For(stored);
        Assert.NotNull(key);
        Assert.Same(key, ClientSecretKeys.For(stored)); // the same record's secret: the same cipher state
        Assert.Equal(bytes, key.Secret);

        var now = DateTimeOffset.UtcNow;
        var envelope = V2Envelope.EncryptRequest("{\"email\":\"a@example.com\"}"u8, bytes, now, out var nonce);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryOpenRequestInPlace(envelope, key, now, out var opened));
        Assert.Equal(nonce, opened.Nonce);

        // Another client's secret (or a rotated one) is another key, and does not open this envelope.
        var other = ClientSecretKeys.For(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        Assert.NotSame(key, other);
        var again = V2Envelope.EncryptRequest("{}"u8, bytes, now, out _);
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryOpenRequestInPlace(again, other!, now, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")] // 3 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 36 bytes
    public void A_secret_that_is_not_32_bytes_of_base64_has_no_key(string stored) =>
        Assert.Null(ClientSecretKeys.For(new string(stored.AsSpan()))); // a fresh string: no earlier entry
}
