using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;

namespace Uid2.Core.Tests.Envelope;

public class V2EnvelopeTests
{
    // ---- uid2-operator V2RequestUtilTest vectors ------------------------------------------------------------------

    private static readonly byte[] OperatorClientSecret = Convert.FromBase64String("YGdzZw9oM2RzBgB8THMyAEe408lvdfsTsGteaLAGayY=");
    private static readonly byte[] WrongClientSecret = Convert.FromBase64String("gXQbQ460HNwOHOauI2R+g2gHG3GV6pQXHwTWHVewwlU=");
    private static readonly DateTimeOffset OperatorNow = DateTimeOffset.Parse("2024-03-20T04:02:46.130Z");

    private const string ValidEnvelope =
        "ATDX9gBKxgQaLwUi9ZDbSqo1b66u55jEN322XSR+aCvOy/c3ZiaVOh8VG22pDUSSNaUqfUwwxxYT0pS9zjW7oVPCeluHU5GCc+6A+LUTIQ8vOR+1CN7ds/61Bp82RzKf5wPABMNtqr1XkoN6d5FU/R0vpxf2hfo1cYYmW0ziCy15pPh17GN2vNTn6YK6g+MAi/dDC7mG+Mxnh9ZaEz+3IetgDPWfp5zHh/T3LWhDAA+2drlDn8KwcQE/TYKh5raR4BDHmhgBUCU6+nymoWruNYxzcII63xMTLMTGzpinNnTL3iBPII9lKRJJ2ZrGjjgMMXi066iaDDpBHH3xY+bAwriU+6GEsE8bveRMwRqT83gmkYp6mn+75Yrpdw==";

    private const string ExpectedToken =
        "AdvertisingTokenmZ4dZgeuXXl6DhoXqbRXQbHlHhA96leN94U1uavZVspwKXlfWETZ3b%2FbesPFFvJxNLLySg4QEYHUAiyUrNncgnm7ppu0mi6wU2CW6hssiuEkKfstbo9XWgRUbWNTM%2BewMzXXM8G9j8Q%3D";
    private const string ExpectedEmailHash = "LdhtUlMQ58ZZy5YUqGPRQw5xUMS5dXG5ocJHYJHbAKI=";

    /// <summary>Valid envelope (same secret) at 2024-03-20T06:33:15.627Z whose plaintext is not valid JSON.</summary>
    private const string MalformedJsonEnvelope =
        "AWDCc1W2zSIJUFbCF1Ti7FxS9Vq4xywgUxHWm60+aaNIbk9k1c3GLjcezo6ZGx3J9TUEKdCXLVi+t2d4T17acgSZYRhfTUC6OfxEHxzSkhDLviQ6BXqrx0Ute5PWT55FYG5dR8YM8CAUfLuWSxCq4yB+aJ/Sojpl2nmDO7sn7D6K+dAsdCtyciM+8ihxzOb7obhlOhjS5159XqkQTcAQvbfLXi/QJRtFPoDBpwQQZ3TvBFPUvh8uiT0Zb708Xt7zt9NHziqkwAcJWIvnTgLkxBdACpbGGl3mNcwJhHwBM0m9zlSy050yyx/b+U1mJxjj5yqBwaNSzTKiGHs+M1+vhmVD8w7J13Ec+jAUa8rUeN7c61GD/Rh7GndeEBo4WVLvfw==";
    private static readonly DateTimeOffset MalformedNow = DateTimeOffset.Parse("2024-03-20T06:33:15.627Z");

    [Fact]
    public void Operator_vector_opens_in_place_with_the_same_payload_and_nonce()
    {
        // uid2-operator V2RequestUtilTest's envelope, opened over its own buffer (the operator's hot path) and by the
        // copying API: same timestamp, nonce and payload bytes.
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(ValidEnvelope, OperatorClientSecret, OperatorNow, out var copied));
        var buffer = Convert.FromBase64String(ValidEnvelope);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryOpenRequestInPlace(buffer, OperatorClientSecret, OperatorNow, out var opened));
        Assert.Equal(copied!.TimestampMs, opened.TimestampMs);
        Assert.Equal(copied.Nonce, opened.Nonce);
        Assert.Equal(copied.Payload, buffer.AsSpan(opened.PayloadOffset, opened.PayloadLength).ToArray());
        Assert.Equal(1 + 12 + 16, opened.PayloadOffset); // version, IV, timestamp and nonce before it
    }

    [Fact]
    public void In_place_open_refuses_what_the_copying_open_refuses()
    {
        var buffer = Convert.FromBase64String(ValidEnvelope);
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryOpenRequestInPlace(buffer.ToArray(), WrongClientSecret, OperatorNow, out var none));
        Assert.Null(none.Nonce);
        Assert.Equal(EnvelopeStatus.StaleTimestamp, V2Envelope.TryOpenRequestInPlace(buffer.ToArray(), OperatorClientSecret, OperatorNow.AddMinutes(3), out _));
        Assert.Equal(EnvelopeStatus.TooShort, V2Envelope.TryOpenRequestInPlace(buffer.AsSpan(0, V2Envelope.MinRequestLength - 1).ToArray(), OperatorClientSecret, OperatorNow, out _));
        var version2 = buffer.ToArray();
        version2[0] = 2;
        Assert.Equal(EnvelopeStatus.UnsupportedVersion, V2Envelope.TryOpenRequestInPlace(version2, OperatorClientSecret, OperatorNow, out _));
        // A flipped tag bit: refused, and the ciphertext is zeroed rather than left half-decrypted.
        var tampered = buffer.ToArray();
        tampered[^1] ^= 1;
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryOpenRequestInPlace(tampered, OperatorClientSecret, OperatorNow, out _));
        Assert.All(tampered.AsSpan(13, tampered.Length - 29).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Operator_vector_opens_with_a_reusable_key_as_with_the_bare_secret()
    {
        // The operator keeps each client's secret as a GcmKey (cipher state set up once). uid2-operator's
        // V2RequestUtilTest envelope opens the same way through it, several times over one key, and the wrong key and a
        // stale timestamp are refused as with the bare bytes.
        var key = new GcmKey(OperatorClientSecret);
        var reference = Convert.FromBase64String(ValidEnvelope);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryOpenRequestInPlace(reference, OperatorClientSecret, OperatorNow, out var expected));
        for (var i = 0; i < 3; i++)
        {
            var buffer = Convert.FromBase64String(ValidEnvelope);
            Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryOpenRequestInPlace(buffer, key, OperatorNow, out var opened));
            Assert.Equal(expected.TimestampMs, opened.TimestampMs);
            Assert.Equal(expected.Nonce, opened.Nonce);
            Assert.Equal(reference.AsSpan(expected.PayloadOffset, expected.PayloadLength).ToArray(), buffer.AsSpan(opened.PayloadOffset, opened.PayloadLength).ToArray());
        }
        Assert.Equal(EnvelopeStatus.DecryptFailed,
            V2Envelope.TryOpenRequestInPlace(Convert.FromBase64String(ValidEnvelope), new GcmKey(WrongClientSecret), OperatorNow, out _));
        Assert.Equal(EnvelopeStatus.StaleTimestamp,
            V2Envelope.TryOpenRequestInPlace(Convert.FromBase64String(ValidEnvelope), key, OperatorNow.AddMinutes(3), out _));
        Assert.Throws<ArgumentException>(() => new GcmKey(new byte[31]));
    }

    [Property(MaxTest = 100)]
    public void Response_sealed_with_a_reusable_key_opens_with_the_bare_secret(byte[] reply, NonNegativeInt threads)
    {
        // A reply sealed through the key's cached cipher (from several threads at once, as the operator does) is the
        // envelope a client opens with the secret's bytes: same layout, the nonce checked.
        var secret = RandomNumberGenerator.GetBytes(32);
        var key = new GcmKey(secret);
        var now = DateTimeOffset.UtcNow;
        var nonce = RandomNumberGenerator.GetBytes(V2Envelope.NonceLength);
        Parallel.For(0, 1 + threads.Get % 4, _ =>
        {
            var sealedReply = new byte[V2Envelope.ResponseLength(reply.Length)];
            Assert.Equal(sealedReply.Length, V2Envelope.EncryptResponse(reply, nonce, key, now, sealedReply));
            Assert.True(V2Envelope.TryDecryptResponse(sealedReply, secret, nonce, out var json));
            Assert.Equal(reply, json);
        });
    }

    [Property(MaxTest = 200)]
    public void Span_request_round_trips_through_in_place_open_and_response(byte[] payload, byte[] reply)
    {
        // Client side into caller buffers (the load generator's path) and operator side in place: the same bytes arrive,
        // and a response sealed for the nonce opens in place for that nonce only.
        var secret = RandomNumberGenerator.GetBytes(32);
        var now = DateTimeOffset.UtcNow;
        var nonce = new byte[V2Envelope.NonceLength];
        var envelope = new byte[V2Envelope.RequestLength(payload.Length) + 5];
        var length = V2Envelope.EncryptRequest(payload, secret, now, nonce, envelope);
        Assert.Equal(V2Envelope.RequestLength(payload.Length), length);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryOpenRequestInPlace(envelope.AsSpan(0, length), secret, now, out var opened));
        Assert.Equal(nonce, opened.Nonce);
        Assert.Equal(payload, envelope.AsSpan(opened.PayloadOffset, opened.PayloadLength).ToArray());

        var sealedReply = V2Envelope.EncryptResponse(reply, opened.Nonce, secret, now);
        Assert.True(V2Envelope.TryOpenResponseInPlace(sealedReply.ToArray(), secret, nonce, out var json));
        var copy = sealedReply.ToArray();
        V2Envelope.TryOpenResponseInPlace(copy, secret, nonce, out json);
        Assert.Equal(reply, copy[json]);
        var otherNonce = (byte[])nonce.Clone();
        otherNonce[0] ^= 1;
        Assert.False(V2Envelope.TryOpenResponseInPlace(sealedReply.ToArray(), secret, otherNonce, out _));
    }

    [Fact]
    public void Operator_vector_decrypts()
    {
        var status = V2Envelope.TryDecryptRequestBase64(ValidEnvelope, OperatorClientSecret, OperatorNow, out var request);
        Assert.Equal(EnvelopeStatus.Success, status);
        Assert.NotNull(request);
        Assert.Equal(8, request.Nonce.Length);
        Assert.True(V2Envelope.IsFresh(request.TimestampMs, OperatorNow));
        using var doc = JsonDocument.Parse(request.Payload);
        Assert.Equal(ExpectedToken, doc.RootElement.GetProperty("token").GetString());
        Assert.Equal(ExpectedEmailHash, doc.RootElement.GetProperty("email_hash").GetString());
        Assert.Equal(2, doc.RootElement.EnumerateObject().Count());

        // the raw-bytes entry point agrees
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequest(Convert.FromBase64String(ValidEnvelope), OperatorClientSecret, OperatorNow, out var again));
        Assert.Equal(request.Payload, again!.Payload);
        Assert.Equal(request.Nonce, again.Nonce);
        Assert.Equal(request.TimestampMs, again.TimestampMs);
    }

    [Fact]
    public void Operator_vector_with_wrong_secret_fails_decrypt() =>
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequestBase64(ValidEnvelope, WrongClientSecret, OperatorNow, out _));

    [Fact]
    public void Operator_vector_is_stale_two_hours_later() =>
        Assert.Equal(EnvelopeStatus.StaleTimestamp, V2Envelope.TryDecryptRequestBase64(ValidEnvelope, OperatorClientSecret, OperatorNow.AddHours(2), out _));

    [Fact]
    public void Operator_malformed_json_vector_decrypts_but_is_not_json()
    {
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(MalformedJsonEnvelope, OperatorClientSecret, MalformedNow, out var request));
        var text = Encoding.UTF8.GetString(request!.Payload);
        Assert.Contains(ExpectedEmailHash, text);
        Assert.Contains("test", text);
        Assert.False(V2Envelope.IsPlainJsonObject(request.Payload));
        // At the other vector's time it is stale.
        Assert.Equal(EnvelopeStatus.StaleTimestamp, V2Envelope.TryDecryptRequestBase64(MalformedJsonEnvelope, OperatorClientSecret, OperatorNow, out _));
    }

    [Fact]
    public void Operator_malformed_cases()
    {
        Assert.Equal(EnvelopeStatus.InvalidBase64, V2Envelope.TryDecryptRequestBase64("test string", OperatorClientSecret, OperatorNow, out _));
        Assert.Equal(EnvelopeStatus.TooShort, V2Envelope.TryDecryptRequestBase64("dGVzdA==", OperatorClientSecret, OperatorNow, out _));
        var twos = Enumerable.Repeat((byte)2, 64).ToArray();
        Assert.Equal(EnvelopeStatus.UnsupportedVersion, V2Envelope.TryDecryptRequestBase64(Convert.ToBase64String(twos), OperatorClientSecret, OperatorNow, out _));
        Assert.Equal(EnvelopeStatus.UnsupportedVersion, V2Envelope.TryDecryptRequest(twos, OperatorClientSecret, OperatorNow, out _));
        var plainJson = Encoding.UTF8.GetBytes("{\"email_hash\": \"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=\", \"version\": 2}");
        Assert.Equal(EnvelopeStatus.UnsupportedVersion, V2Envelope.TryDecryptRequest(plainJson, OperatorClientSecret, OperatorNow, out _));
        Assert.True(V2Envelope.IsPlainJsonObject(plainJson));
        Assert.False(V2Envelope.IsPlainJsonObject(twos));
        Assert.False(V2Envelope.IsPlainJsonObject("[1]"u8));
        Assert.Equal(EnvelopeStatus.TooShort, V2Envelope.TryDecryptRequestBase64("", OperatorClientSecret, OperatorNow, out _));
    }

    // ---- round trips ---------------------------------------------------------------------------------------------

    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)(i * 3)).ToArray();
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2025-06-01T12:00:00.000Z");
    private static readonly byte[] Json = Encoding.UTF8.GetBytes("{\"email\":\"user@example.com\"}");

    [Fact]
    public void Request_round_trip()
    {
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now, out var nonce);
        Assert.Equal(8, nonce.Length);
        Assert.Equal(1, envelope[0]);
        Assert.Equal(1 + 12 + 16 + 16 + Json.Length, envelope.Length);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var request));
        Assert.Equal(Now.ToUnixTimeMilliseconds(), request!.TimestampMs);
        Assert.Equal(nonce, request.Nonce);
        Assert.Equal(Json, request.Payload);
        Assert.False(request.IsEmpty);
    }

    [Fact]
    public void Empty_payload_is_45_bytes()
    {
        var envelope = V2Envelope.EncryptRequest([], Secret, Now, out _);
        Assert.Equal(V2Envelope.MinRequestLength, envelope.Length);
        Assert.Equal(45, envelope.Length);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var request));
        Assert.Empty(request!.Payload);
        Assert.True(request.IsEmpty);
    }

    [Fact]
    public void Large_payload_round_trip()
    {
        var json = Encoding.UTF8.GetBytes("{\"email\":[" + string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"u{i}@example.com\"")) + "]}");
        var envelope = V2Envelope.EncryptRequest(json, Secret, Now, out var nonce);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(Convert.ToBase64String(envelope), Secret, Now, out var request));
        Assert.Equal(json, request!.Payload);
        var response = V2Envelope.EncryptResponse(json, nonce, Secret, Now);
        Assert.True(V2Envelope.TryDecryptResponse(response, Secret, nonce, out var back));
        Assert.Equal(json, back);
    }

    [Fact]
    public void Two_encryptions_differ()
    {
        var a = V2Envelope.EncryptRequest(Json, Secret, Now, out var n1);
        var b = V2Envelope.EncryptRequest(Json, Secret, Now, out var n2);
        Assert.NotEqual(a, b);
        Assert.NotEqual(n1, n2);
        Assert.NotEqual(V2Envelope.EncryptNoNonce(Json, Secret), V2Envelope.EncryptNoNonce(Json, Secret));
        Assert.NotEqual(V2Envelope.EncryptResponse(Json, n1, Secret, Now), V2Envelope.EncryptResponse(Json, n1, Secret, Now));
    }

    [Fact]
    public void Base64_without_padding_is_accepted()
    {
        var envelope = V2Envelope.EncryptRequest("{}"u8, Secret, Now, out _); // 47 bytes → 1 '=' of padding
        var text = Convert.ToBase64String(envelope);
        Assert.EndsWith("=", text);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(text.TrimEnd('='), Secret, Now, out var r));
        Assert.Equal("{}"u8.ToArray(), r!.Payload);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(text + "\n", Secret, Now, out _));
        Assert.Equal(EnvelopeStatus.InvalidBase64, V2Envelope.TryDecryptRequestBase64(text.AsSpan()[..^3], Secret, Now, out _));
    }

    // ---- timestamp window (reference: abs(Duration.between(ts, now).toMinutes()) > 1 → reject) ---------------------

    [Theory]
    [InlineData(0, true)]
    [InlineData(59_000, true)]
    [InlineData(-59_000, true)]
    [InlineData(60_000, true)]
    [InlineData(-60_000, true)]
    [InlineData(119_000, true)]
    [InlineData(119_001, false)]    // Java Duration floors seconds: now - ts = -119.001 s → -120 s → -2 min
    [InlineData(-119_999, true)]    // now - ts = +119.999 s → 119 s → 1 min
    [InlineData(-120_000, false)]
    [InlineData(120_000, false)]
    [InlineData(121_000, false)]
    [InlineData(-180_000, false)]
    [InlineData(86_400_000, false)]
    public void Timestamp_window(long clientAheadOfServerByMs, bool accepted)
    {
        // the client clock is ahead: request timestamp = now + offset
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now.AddMilliseconds(clientAheadOfServerByMs), out _);
        var status = V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var request);
        Assert.Equal(accepted ? EnvelopeStatus.Success : EnvelopeStatus.StaleTimestamp, status);
        Assert.Equal(accepted, request is not null);
    }

    [Theory]
    [InlineData(59)]
    [InlineData(-59)]
    public void Plus_minus_59_seconds_accepted(int seconds) =>
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequest(V2Envelope.EncryptRequest(Json, Secret, Now.AddSeconds(seconds), out _), Secret, Now, out _));

    [Theory]
    [InlineData(2)]
    [InlineData(-2)]
    public void Plus_minus_2_minutes_rejected(int minutes) =>
        Assert.Equal(EnvelopeStatus.StaleTimestamp, V2Envelope.TryDecryptRequest(V2Envelope.EncryptRequest(Json, Secret, Now.AddMinutes(minutes), out _), Secret, Now, out _));

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(-1)]
    public void Extreme_timestamps_are_stale_not_exceptions(long ts) => Assert.False(V2Envelope.IsFresh(ts, Now));

    // ---- malformed envelopes -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(0x7B)]
    [InlineData(0xFF)]
    public void Version_byte_other_than_1_rejected(byte version)
    {
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now, out _);
        envelope[0] = version;
        Assert.Equal(EnvelopeStatus.UnsupportedVersion, V2Envelope.TryDecryptRequest(envelope, Secret, Now, out _));
    }

    [Fact]
    public void Truncation_at_every_length()
    {
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now, out _);
        for (var len = 0; len < envelope.Length; len++)
        {
            var status = V2Envelope.TryDecryptRequest(envelope.AsSpan(0, len), Secret, Now, out var r);
            Assert.Equal(len < 45 ? EnvelopeStatus.TooShort : EnvelopeStatus.DecryptFailed, status);
            Assert.Null(r);
        }
    }

    [Fact]
    public void Bad_tag_and_any_flipped_byte_rejected()
    {
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now, out _);
        var badTag = (byte[])envelope.Clone();
        badTag[^1] ^= 1;
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequest(badTag, Secret, Now, out _));
        for (var i = 0; i < envelope.Length; i++)
        {
            var bytes = (byte[])envelope.Clone();
            bytes[i] ^= 0x40;
            Assert.Equal(i == 0 ? EnvelopeStatus.UnsupportedVersion : EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequest(bytes, Secret, Now, out _));
        }
    }

    [Fact]
    public void Wrong_or_bad_size_key_fails_decrypt()
    {
        var envelope = V2Envelope.EncryptRequest(Json, Secret, Now, out _);
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequest(envelope, OperatorClientSecret, Now, out _));
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequest(envelope, new byte[16], Now, out _));
        Assert.Equal(EnvelopeStatus.DecryptFailed, V2Envelope.TryDecryptRequest(envelope, [], Now, out _));
    }

    // ---- responses -----------------------------------------------------------------------------------------------

    [Fact]
    public void Response_round_trip_and_layout()
    {
        var nonce = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var body = "{\"status\":\"success\",\"body\":true}"u8.ToArray();
        var response = V2Envelope.EncryptResponse(body, nonce, Secret, Now);
        Assert.Equal(12 + 8 + 8 + body.Length + 16, response.Length);

        Assert.True(V2Envelope.TryDecryptResponse(response, Secret, nonce, out var json));
        Assert.Equal(body, json);

        // plaintext = timestamp ms ‖ nonce ‖ json
        Assert.True(V2Envelope.TryDecryptNoNonce(response, Secret, out var plain));
        Assert.Equal(Now.ToUnixTimeMilliseconds(), System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(plain));
        Assert.Equal(nonce, plain![8..16]);
        Assert.Equal(body, plain[16..]);
    }

    [Fact]
    public void Response_checks()
    {
        var nonce = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var response = V2Envelope.EncryptResponse(Json, nonce, Secret, Now);
        Assert.False(V2Envelope.TryDecryptResponse(response, Secret, new byte[8], out var json));
        Assert.Null(json);
        Assert.False(V2Envelope.TryDecryptResponse(response, OperatorClientSecret, nonce, out _));
        Assert.False(V2Envelope.TryDecryptResponse(response.AsSpan(0, 40), Secret, nonce, out _));
        var tampered = (byte[])response.Clone();
        tampered[20] ^= 1;
        Assert.False(V2Envelope.TryDecryptResponse(tampered, Secret, nonce, out _));
        Assert.Throws<ArgumentException>(() => V2Envelope.EncryptResponse(Json, new byte[7], Secret, Now));
    }

    [Fact]
    public void Full_client_server_exchange()
    {
        var request = V2Envelope.EncryptRequest(Json, Secret, Now, out var nonce);
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(Convert.ToBase64String(request), Secret, Now.AddSeconds(1), out var r));
        var response = V2Envelope.EncryptResponse("{\"status\":\"success\"}"u8, r!.Nonce, Secret, Now.AddSeconds(1));
        Assert.True(V2Envelope.TryDecryptResponse(response, Secret, nonce, out var json));
        Assert.Equal("{\"status\":\"success\"}", Encoding.UTF8.GetString(json!));
    }

    [Fact]
    public void NoNonce_round_trip_and_failures()
    {
        var data = V2Envelope.EncryptNoNonce(Json, Secret);
        Assert.Equal(12 + Json.Length + 16, data.Length);
        Assert.True(V2Envelope.TryDecryptNoNonce(data, Secret, out var json));
        Assert.Equal(Json, json);

        var empty = V2Envelope.EncryptNoNonce([], Secret);
        Assert.Equal(28, empty.Length);
        Assert.True(V2Envelope.TryDecryptNoNonce(empty, Secret, out json));
        Assert.Empty(json!);

        for (var len = 0; len < data.Length; len++)
            Assert.False(V2Envelope.TryDecryptNoNonce(data.AsSpan(0, len), Secret, out _));
        for (var i = 0; i < data.Length; i++)
        {
            var bytes = (byte[])data.Clone();
            bytes[i] ^= 0x80;
            Assert.False(V2Envelope.TryDecryptNoNonce(bytes, Secret, out json));
            Assert.Null(json);
        }
        Assert.False(V2Envelope.TryDecryptNoNonce(data, OperatorClientSecret, out _));
    }

    // ---- messages ------------------------------------------------------------------------------------------------

    [Fact]
    public void Messages()
    {
        Assert.Equal("Invalid timestamp: Request too old or client time drift.", EnvelopeStatus.StaleTimestamp.Message());
        foreach (var s in Enum.GetValues<EnvelopeStatus>())
            Assert.False(string.IsNullOrWhiteSpace(s.Message()));
        Assert.StartsWith("Invalid body: Body too short", EnvelopeStatus.TooShort.Message());
        Assert.StartsWith("Invalid body: Check encryption key (ClientSecret)", EnvelopeStatus.DecryptFailed.Message());
        Assert.StartsWith("Invalid body: Body is not valid base64", EnvelopeStatus.InvalidBase64.Message());
        Assert.StartsWith("Invalid body: Invalid request envelope format version", EnvelopeStatus.UnsupportedVersion.Message());
    }

    // ---- properties ----------------------------------------------------------------------------------------------

    [Property(MaxTest = 300)]
    public bool Random_bytes_never_throw_or_succeed(byte[] data, bool versionOne)
    {
        var bytes = (byte[])(data ?? []).Clone();
        if (versionOne && bytes.Length > 0) bytes[0] = 1;
        return V2Envelope.TryDecryptRequest(bytes, Secret, Now, out var r) != EnvelopeStatus.Success && r is null
            && !V2Envelope.TryDecryptResponse(bytes, Secret, new byte[8], out _)
            && !V2Envelope.TryDecryptNoNonce(bytes, Secret, out _);
    }

    [Property(MaxTest = 300)]
    public bool Random_text_never_throws(string? s) =>
        V2Envelope.TryDecryptRequestBase64(s ?? "", Secret, Now, out _) != EnvelopeStatus.Success;

    [Property(MaxTest = 100)]
    public bool Any_payload_round_trips(byte[] json)
    {
        json ??= [];
        var envelope = V2Envelope.EncryptRequest(json, Secret, Now, out var nonce);
        return V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var r) == EnvelopeStatus.Success
            && r!.Payload.AsSpan().SequenceEqual(json) && r.Nonce.AsSpan().SequenceEqual(nonce);
    }
}
