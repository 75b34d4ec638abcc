using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Uid2.Core;
using Uid2.Core.ClientSide;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;
using Uid2.Core.Normalization;
using Uid2.Core.Tokens;
using Uid2.Operator.Endpoints;
using Uid2.Operator.Protocol;

namespace Uid2.Fuzz.Targets;

/// <summary>
/// One entry point per decoder that faces the internet. Each takes arbitrary bytes and must return normally: every
/// decoder answers bad input with a status or false, so any exception is a finding (the fuzzer reports it as a crash,
/// the corpus replay test as a failure). Where random bytes cannot get past authenticated encryption, the first byte
/// picks a mode that seals the rest with a known key first, so the parser behind the decryption is reached too.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Targets by name (<see cref="FuzzTargetNames"/>), as <c>fuzz/run.sh</c> and the corpus folders know them.</summary>
    public static readonly IReadOnlyDictionary<string, Action<ReadOnlyMemory<byte>>> All = new Dictionary<string, Action<ReadOnlyMemory<byte>>>
    {
        ["envelope"] = Envelope,
        ["refresh-wrapper"] = RefreshWrapper,
        ["advertising-token"] = AdvertisingTokens,
        ["refresh-token"] = RefreshTokens,
        ["cstg"] = ClientSide,
        ["identity"] = Identity,
        ["json"] = Json,
    };

    /// <summary>Valid inputs of each target, made by the real encoders: where a fuzzing run starts.</summary>
    public static IEnumerable<byte[]> Seeds(string target)
    {
        byte[] With(byte mode, ReadOnlySpan<byte> rest) => [mode, .. rest];
        byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);
        var json = "{\"email\":\"jane.doe@example.com\",\"optout_check\":1}"u8.ToArray();
        var hash = Convert.ToBase64String(SHA256.HashData("jane.doe@example.com"u8));
        switch (target)
        {
            case "envelope":
                yield return With(0, V2Envelope.EncryptRequest(json, Secret, Now, out _));
                yield return With(0, Ascii(Convert.ToBase64String(V2Envelope.EncryptRequest(json, Secret, Now, out _))));
                var plain = new byte[16 + json.Length];
                BinaryPrimitives.WriteInt64BigEndian(plain, Now.ToUnixTimeMilliseconds());
                json.CopyTo(plain, 16);
                yield return With(1, plain);
                yield return With(2, json);
                yield return With(2, "{\"email\":[\"a@example.com\",\"b@example.com\"]}"u8);
                break;
            case "refresh-wrapper":
                yield return With(0, Ascii(ValidWrapper()));
                yield return With(1, [0, .. "AAAA"u8]);
                yield return With(1, [200, .. "////"u8]);
                yield return With(0, Ascii(ValidWrapper()[..200]));
                yield return With(0, "not a token"u8);
                break;
            case "advertising-token":
                yield return With(0, Ascii(AdvertisingTokenCodec.EncodeV4(SampleAdvertising([], TokenVersion.V4), Master, Site)));
                yield return With(0, Ascii(AdvertisingTokenCodec.EncodeV3(SampleAdvertising([], TokenVersion.V3), Master, Site)));
                yield return With(1, SHA256.HashData("fields"u8).Concat(SHA512.HashData("more"u8)).ToArray());
                yield return With(2, [5, .. "AAAA"u8]);
                yield return With(0, "A4AAAA"u8);
                break;
            case "refresh-token":
                yield return With(0, Ascii(RefreshTokenCodec.EncodeV3(SampleRefresh(new byte[32]), Refresh)));
                yield return With(0, Ascii(RefreshTokenCodec.EncodeV2(SampleRefresh(new byte[32]), Refresh)));
                yield return With(1, SHA512.HashData("refresh"u8));
                yield return With(1, "short"u8);
                yield return With(0, "AAAAAAAA"u8);
                break;
            case "cstg":
                yield return With(0, Encoding.UTF8.GetBytes(
                    "{\"payload\":\"AAAA\",\"iv\":\"AAAAAAAAAAAAAAAA\",\"public_key\":\"" + ServerKeys.PublicKey[9..] +
                    "\",\"timestamp\":1760000000000,\"subscription_id\":\"demoCstg01\"}"));
                yield return With(1, Encoding.UTF8.GetBytes("{\"email_hash\":\"" + hash + "\"}"));
                yield return With(2, Ascii(ServerKeys.PublicKey));
                yield return With(3, Encoding.UTF8.GetBytes("{\"phone_hash\":\"" + hash + "\"}"));
                yield return With(3, "[1,2]"u8);
                break;
            case "identity":
                foreach (var text in new[] { "jane.doe@example.com", " Jane.Doe+News@GMail.com ", "+12345678901", hash, Convert.ToHexString(Convert.FromBase64String(hash)), "a@b" })
                    yield return Encoding.UTF8.GetBytes(text);
                break;
            case "json":
                yield return json;
                yield return Encoding.UTF8.GetBytes("{\"token\":\"A4AAAA\",\"email_hash\":\"" + hash + "\"}");
                yield return "{\"email\":[\"a@example.com\",null,1],\"phone_hash\":[]}"u8.ToArray();
                yield return "{\"since_timestamp\":\"2024-01-01T00:00:00\",\"advertising_ids\":[\"\\u00e9\"]}"u8.ToArray();
                yield return "[[{\"a\":{\"b\":[1e308,-0,true,false,null]}}]]"u8.ToArray();
                break;
            default:
                throw new ArgumentException("Unknown target " + target, nameof(target));
        }
    }

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_000);
    private static readonly byte[] Secret = SHA256.HashData("uid2 fuzz client secret"u8);
    private static readonly EncryptionKey Master = Key(1, ReservedSites.Master);
    private static readonly EncryptionKey Site = Key(2, 999);
    private static readonly EncryptionKey Refresh = Key(3, ReservedSites.Refresh);
    private static readonly KeyRing Keys = new([Master, Site, Refresh]);
    private static readonly ClientSideKeyPair ServerKeys = FixedClientSideKeys();

    private static EncryptionKey Key(int id, int site) =>
        new(id, site, Now.AddDays(-10), Now.AddDays(-10), Now.AddDays(10), SHA256.HashData(Encoding.ASCII.GetBytes("uid2 fuzz key " + id)));

    /// <summary>Bytes as text one char a byte, so every byte value reaches the text decoders.</summary>
    private static string Text(ReadOnlySpan<byte> data) => Encoding.Latin1.GetString(data);

    // ---------------------------------------------------------------- v2 envelope

    public static void Envelope(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (data.IsEmpty) return;
        var rest = data[1..];
        switch (data[0] % 3)
        {
            case 0: // the envelope as sent: raw bytes and base64 text, request and response directions
                _ = V2Envelope.TryDecryptRequest(rest, Secret, Now, out _);
                _ = V2Envelope.TryDecryptRequestBase64(Text(rest), Secret, Now, out _);
                _ = V2Envelope.TryDecryptResponse(rest, Secret, rest.Length >= 8 ? rest[..8] : new byte[8], out _);
                _ = V2Envelope.TryDecryptNoNonce(rest, Secret, out _);
                _ = V2Envelope.IsPlainJsonObject(rest);
                break;
            case 1: // an authentic envelope whose plaintext (timestamp, nonce, payload) is the input
            {
                var envelope = new byte[1 + 12 + rest.Length + 16];
                envelope[0] = 1;
                RandomNumberGenerator.Fill(envelope.AsSpan(1, 12));
                using (var gcm = new AesGcm(Secret, 16))
                    gcm.Encrypt(envelope.AsSpan(1, 12), rest, envelope.AsSpan(13, rest.Length), envelope.AsSpan(13 + rest.Length));
                var status = V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var request);
                if (status == EnvelopeStatus.Success && request is not null) Json(request.Payload);
                break;
            }
            default: // an authentic, fresh envelope carrying the input as its JSON payload
            {
                var envelope = V2Envelope.EncryptRequest(rest, Secret, Now, out var nonce);
                if (V2Envelope.TryDecryptRequest(envelope, Secret, Now, out var request) != EnvelopeStatus.Success
                    || !request!.Payload.AsSpan().SequenceEqual(rest) || !request.Nonce.AsSpan().SequenceEqual(nonce))
                    throw new InvalidOperationException("An envelope did not round-trip.");
                Json(request.Payload);
                break;
            }
        }
    }

    // ---------------------------------------------------------------- refresh-token wrapper (388 chars)

    public static void RefreshWrapper(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (data.IsEmpty) return;
        if (data[0] % 2 == 0)
        {
            _ = RefreshTokenWrapper.TryUnwrap(Text(data[1..]), Keys, out _, out _, out _);
            return;
        }
        // A valid wrapper with the input written over part of it.
        var wrapped = ValidWrapper().ToCharArray();
        var at = data.Length > 1 ? data[1] % wrapped.Length : 0;
        foreach (var b in data[Math.Min(2, data.Length)..])
        {
            wrapped[at] = (char)b;
            at = (at + 1) % wrapped.Length;
        }
        _ = RefreshTokenWrapper.TryUnwrap(wrapped, Keys, out _, out _, out _);
    }

    private static string? _validWrapper;

    private static string ValidWrapper() => _validWrapper ??= RefreshTokenWrapper.Wrap(
        RefreshTokenCodec.EncodeV3(SampleRefresh(new byte[32]), Refresh), new byte[32], Refresh, IdentityScope.Uid2);

    // ---------------------------------------------------------------- advertising tokens v2/v3/v4

    public static void AdvertisingTokens(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (data.IsEmpty) return;
        var rest = data[1..];
        switch (data[0] % 3)
        {
            case 0: // the token text as received
            {
                var text = Text(rest);
                _ = AdvertisingTokenCodec.TryReadHeader(text, out _, out _);
                _ = AdvertisingTokenCodec.TryDecode(text, Keys, out _);
                _ = AdvertisingTokenCodec.TryDecodeFields(text, Keys, out _);
                break;
            }
            case 1: // fields taken from the input, encoded, decoded, compared
            {
                var version = rest.Length > 0 && rest[0] % 2 == 0 ? TokenVersion.V3 : TokenVersion.V4;
                var token = SampleAdvertising(rest, version);
                var text = version == TokenVersion.V3 ? AdvertisingTokenCodec.EncodeV3(token, Master, Site) : AdvertisingTokenCodec.EncodeV4(token, Master, Site);
                if (AdvertisingTokenCodec.TryDecode(text, Keys, out var back) != TokenDecodeStatus.Success || back is null
                    || !back.RawUid.AsSpan().SequenceEqual(token.RawUid) || back.SiteId != token.SiteId || back.PrivacyBits != token.PrivacyBits
                    || back.Expires != token.Expires || back.Established != token.Established || back.ClientKeyId != token.ClientKeyId)
                    throw new InvalidOperationException($"A v{(int)version} advertising token did not round-trip.");
                break;
            }
            default: // a valid token with the input written over part of it
            {
                var valid = AdvertisingTokenCodec.EncodeV4(SampleAdvertising([], TokenVersion.V4), Master, Site).ToCharArray();
                var at = rest.Length > 0 ? rest[0] % valid.Length : 0;
                foreach (var b in rest[Math.Min(1, rest.Length)..])
                {
                    valid[at] = (char)b;
                    at = (at + 1) % valid.Length;
                }
                _ = AdvertisingTokenCodec.TryDecodeFields(valid, Keys, out _);
                break;
            }
        }
    }

    private static AdvertisingToken SampleAdvertising(ReadOnlySpan<byte> fields, TokenVersion version)
    {
        var f = new byte[64];
        fields[..Math.Min(fields.Length, 64)].CopyTo(f);
        var raw = new byte[33];
        raw[0] = IdentityByte.ForRawUid(IdentityScope.Uid2, (f[1] & 1) == 0 ? IdentityType.Email : IdentityType.Phone);
        f.AsSpan(2, 32).CopyTo(raw.AsSpan(1));
        long Ms(int offset) => Now.ToUnixTimeMilliseconds() + BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(offset, 4)) * 1000L;
        return new AdvertisingToken
        {
            Version = version,
            Scope = IdentityScope.Uid2,
            Type = (f[1] & 1) == 0 ? IdentityType.Email : IdentityType.Phone,
            RawUid = raw,
            SiteId = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(34, 4)),
            PrivacyBits = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(38, 4)),
            ClientKeyId = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(42, 4)),
            Expires = DateTimeOffset.FromUnixTimeMilliseconds(Ms(46)),
            Created = DateTimeOffset.FromUnixTimeMilliseconds(Ms(50)),
            Established = DateTimeOffset.FromUnixTimeMilliseconds(Ms(54)),
            Refreshed = DateTimeOffset.FromUnixTimeMilliseconds(Ms(58)),
            Operator = OperatorIdentity.Default,
            MasterKeyId = Master.Id,
            SiteKeyId = Site.Id,
        };
    }

    // ---------------------------------------------------------------- refresh tokens v2/v3

    public static void RefreshTokens(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (data.IsEmpty) return;
        var rest = data[1..];
        if (data[0] % 2 == 0)
        {
            _ = RefreshTokenCodec.TryDecode(Text(rest), Keys, out _);
            return;
        }
        var flh = new byte[32];
        rest[..Math.Min(32, rest.Length)].CopyTo(flh);
        var token = rest.Length > 36
            ? SampleRefresh(flh, BinaryPrimitives.ReadInt32LittleEndian(rest.Slice(32, 4)), rest[36])
            : SampleRefresh(flh);
        var text = RefreshTokenCodec.EncodeV3(token, Refresh);
        if (RefreshTokenCodec.TryDecode(text, Keys, out var back) != TokenDecodeStatus.Success || back is null
            || !back.FirstLevelHash.AsSpan().SequenceEqual(flh) || back.SiteId != token.SiteId || back.PrivacyBits != token.PrivacyBits)
            throw new InvalidOperationException("A v3 refresh token did not round-trip.");
    }

    private static RefreshToken SampleRefresh(byte[] firstLevelHash, int siteId = 999, int privacyBits = 1) => new()
    {
        Version = 3,
        Scope = IdentityScope.Uid2,
        Type = IdentityType.Email,
        FirstLevelHash = firstLevelHash,
        SiteId = siteId,
        PrivacyBits = privacyBits,
        Created = Now,
        Expires = Now.AddDays(30),
        Established = Now,
        Operator = OperatorIdentity.Default,
        KeyId = Refresh.Id,
    };

    // ---------------------------------------------------------------- client-side token generation

    public static void ClientSide(ReadOnlyMemory<byte> input)
    {
        var data = input.Span;
        if (data.IsEmpty) return;
        var rest = data[1..].ToArray();
        switch (data[0] % 4)
        {
            case 0: // the plain JSON request body
                _ = ClientGenerateRequest.TryParse(rest, out _, out _);
                break;
            case 1: // the decrypted payload
                _ = ClientGenerateRequest.TryReadIdentity(rest, out _, out _);
                break;
            case 2: // key text and a browser's public key
                _ = ClientSideKeys.TryDecodeKeyText(Text(rest), out _);
                Assert(ClientSideKeys.TryDecodeKeyText(ServerKeys.PrivateKey, out var pkcs8));
                _ = ClientSideKeys.TryDeriveSharedSecret(pkcs8, rest, out _);
                break;
            default: // an authentic payload (the input) sealed for the server, decrypted, then read
            {
                var secret = SHA256.HashData(rest);
                var iv = secret.AsSpan(0, 12).ToArray();
                var aad = ClientSideKeys.AdditionalData(rest.Length, rest.Length % 2 == 0 ? null : "com.example.app");
                var sealedPayload = ClientSideKeys.EncryptPayload(secret, iv, rest, aad);
                Assert(ClientSideKeys.TryDecryptPayload(secret, iv, sealedPayload, aad, out var plain));
                _ = ClientGenerateRequest.TryReadIdentity(plain!, out _, out _);
                break;
            }
        }
    }

    private static ClientSideKeyPair FixedClientSideKeys() =>
        new("UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbO+OfuOGtx2Tpzyae7DAviEjdE69lZL80HB0Teg+7XiD5CvPXh0UpQvyXKGT3ZzaEtM0TCrkSNbDP//wmj/xAQ==",
            "UID2-Y-L-MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbCvpH3rQUynrif2H+M5egChrqWyeSRRJl0tzjBKFKXyhRANCAARs745+44a3HZOnPJp7sMC+ISN0Tr2VkvzQcHRN6D7teIPkK89eHRSlC/JcoZPdnNoS0zRMKuRI1sM///CaP/EB");

    // ---------------------------------------------------------------- identity normalizers

    public static void Identity(ReadOnlyMemory<byte> input)
    {
        // Both as Latin-1 (every byte a char) and as UTF-8 (what a JSON string or a query value becomes).
        Span<byte> hash = stackalloc byte[32];
        foreach (var text in new[] { Text(input.Span), Encoding.UTF8.GetString(input.Span) })
        {
            if (EmailNormalizer.TryNormalize(text, out var normalized) && !EmailNormalizer.TryNormalize(normalized, out var again))
                throw new InvalidOperationException("A normalized email is not valid input.");
            _ = PhoneNormalizer.IsValid(text);
            _ = PhoneNormalizer.TryNormalize(text, out _);
            _ = HashInput.TryParse(text, hash);
            foreach (var kind in DiiKindExtensions.All)
                _ = IdentityInputParser.TryParse(kind, text, out _);
        }
    }

    // ---------------------------------------------------------------- JSON request bodies

    public static void Json(ReadOnlyMemory<byte> input)
    {
        if (!JsonPayload.TryParse(input, out var root)) return;
        // The promise JsonPayload makes: once parsed, no string or property name throws when read.
        Walk(root, 0);
        _ = DiiParameters.TryRead(root, out _, out _);
    }

    private static void Walk(JsonElement element, int depth)
    {
        if (depth > JsonPayload.MaxDepth + 1) throw new InvalidOperationException("Nesting deeper than the parser allows.");
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Walk(property.Value, depth + 1);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) Walk(item, depth + 1);
                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Number:
                _ = element.TryGetInt64(out _);
                _ = element.TryGetDouble(out _);
                break;
        }
    }

    private static void Assert(bool condition)
    {
        if (!condition) throw new InvalidOperationException("A fixture of the fuzz target failed.");
    }
}
