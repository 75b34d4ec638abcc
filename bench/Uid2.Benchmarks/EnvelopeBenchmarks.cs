using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Uid2.Core.Envelope;

namespace Uid2.Benchmarks;

/// <summary>
/// The v2 request/response envelope (AES-256-GCM keyed by the client secret): opening a typical token/generate request
/// and sealing a typical identity response. Base64 of the HTTP body is not included (the raw envelope bytes are used).
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    /// <summary>~60-byte request JSON (a token/generate request).</summary>
    public const string RequestJson = "{\"email\":\"jane.saoirse.doe@example.com\",\"optout_check\":1}";

    private byte[] _secret = null!;
    private byte[] _request = null!;
    private byte[] _nonce = null!;
    private byte[] _identityJson = null!;
    private DateTimeOffset _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = DateTimeOffset.UtcNow;
        _secret = RandomNumberGenerator.GetBytes(32);
        _request = V2Envelope.EncryptRequest(Encoding.UTF8.GetBytes(RequestJson), _secret, _now, out _nonce);

        // ~600-byte identity JSON: shapes and lengths of a real response (219-char v4 advertising token,
        // 168-char v3 refresh token, 44-char response key, epoch-ms times); the token text itself is random base64.
        var ms = _now.ToUnixTimeMilliseconds();
        string B64(int bytes, bool url) => url
            ? System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes))
            : Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));
        _identityJson = Encoding.UTF8.GetBytes(
            "{\"advertising_token\":\"" + B64(164, url: true) + "\"," +
            "\"refresh_token\":\"" + B64(124, url: false) + "\"," +
            "\"identity_expires\":" + (ms + 4 * 3600_000L) + "," +
            "\"refresh_expires\":" + (ms + 30L * 86400_000L) + "," +
            "\"refresh_from\":" + (ms + 3600_000L) + "," +
            "\"refresh_response_key\":\"" + B64(32, url: false) + "\"}");

        if (V2Envelope.TryDecryptRequest(_request, _secret, _now, out _) != EnvelopeStatus.Success)
            throw new InvalidOperationException("Benchmark request envelope does not open.");
        Console.WriteLine($"// EnvelopeBenchmarks: request JSON {RequestJson.Length} B (envelope {_request.Length} B), identity JSON {_identityJson.Length} B");
    }

    [Benchmark(Description = "TryDecryptRequest (60 B JSON)")]
    public EnvelopeStatus DecryptRequest() => V2Envelope.TryDecryptRequest(_request, _secret, _now, out _);

    [Benchmark(Description = "EncryptResponse (identity JSON ~600 B)")]
    public byte[] EncryptResponse() => V2Envelope.EncryptResponse(_identityJson, _nonce, _secret, _now);
}
