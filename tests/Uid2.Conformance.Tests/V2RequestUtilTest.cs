using System.Text;

namespace Uid2.Conformance.Tests;

/// <summary>
/// IABTechLab/uid2-operator <c>V2RequestUtilTest.java</c>: the envelope errors, as a caller sees them over HTTP
/// (400 <c>client_error</c> with the reference's message).
/// </summary>
public sealed class V2RequestUtilTest(ConformanceOperator op) : IClassFixture<ConformanceOperator>
{
    private const string Docs = "https://unifiedid.com/docs/getting-started/gs-encryption-decryption";

    private async Task<string> ErrorAsync(byte[] body, string contentType = "text/plain")
    {
        var answer = await op.PostRawAsync("/v2/token/generate", op.Publisher, body, contentType);
        Assert.Equal(400, answer.Status);
        Assert.Equal("client_error", answer.ProtocolStatus);
        return answer.Message!;
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public async Task testParseRequestWithNullBody() => Assert.Equal("Invalid body: Body is missing.", await ErrorAsync([]));

    [Fact]
    public async Task testParseRequestWithNonBase64Body()
    {
        var message = await ErrorAsync(Ascii("test string"));
        Assert.StartsWith("Invalid body: Body is not valid base64.", message);
        Assert.Contains(Docs, message);
    }

    [Fact]
    public async Task testParseRequestWithTooShortBody()
    {
        var message = await ErrorAsync(Ascii("dGVzdA=="));
        Assert.StartsWith("Invalid body: Body too short. Check encryption method.", message);
        Assert.Contains(Docs, message);
    }

    [Fact]
    public async Task testParseRequestWithVersionMismatch()
    {
        var message = await ErrorAsync(Ascii(Convert.ToBase64String(Enumerable.Repeat((byte)2, 64).ToArray())));
        Assert.StartsWith("Invalid body: Invalid request envelope format version: received 2, must be 1.", message);
        Assert.Contains(Docs, message);
    }

    [Fact]
    public async Task testParseRequestWithBase64EncodedUnencryptedJson() =>
        Assert.Equal("Invalid body: The request body is unencrypted JSON. It must be an encrypted request envelope."
            + " See https://unifiedid.com/docs/getting-started/gs-encryption-decryption#encryption-and-decryption-code-examples"
            + " for encryption and decryption code examples.",
            await ErrorAsync(Ascii(Convert.ToBase64String(Encoding.UTF8.GetBytes(
                "{\"email_hash\": \"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=\", \"version\": 2}")))));

    [Fact]
    public async Task testParseRequestWithBase64EncodedShortUnencryptedJson() =>
        Assert.StartsWith("Invalid body: The request body is unencrypted JSON.",
            await ErrorAsync(Ascii(Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"version\": 2}")))));

    [Fact]
    public async Task testParseRequestWithRawUnencryptedJson() =>
        Assert.StartsWith("Invalid body: The request body is unencrypted JSON.",
            await ErrorAsync(Encoding.UTF8.GetBytes("{\"email_hash\": \"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=\"}")));

    [Fact]
    public async Task testParseRequestWithWrongClientSecret()
    {
        var answer = await op.PostV2Async("/v2/token/generate", op.Publisher, "{\"email\":\"a@b.com\"}", secretOf: op.Mapper);
        Assert.Equal(400, answer.Status);
        Assert.StartsWith("Invalid body: Check encryption key (ClientSecret).", answer.Message);
        Assert.Contains(Docs, answer.Message);
    }

    [Fact]
    public async Task testParseRequestOctetStreamWithBase64EncodedUnencryptedJson() =>
        Assert.StartsWith("Invalid body: The request body is unencrypted JSON.",
            await ErrorAsync(Ascii(Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"email_hash\": \"tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=\"}"))),
                "application/octet-stream"));

    [Fact]
    public async Task testParseRequestOctetStreamWithCorruptedBinaryBody() =>
        Assert.StartsWith("Invalid body: Invalid request envelope format version: received 2, must be 1.",
            await ErrorAsync(Enumerable.Repeat((byte)2, 64).ToArray(), "application/octet-stream"));

    [Fact]
    public async Task testParseRequestOctetStreamWithValidBase64Envelope()
    {
        var answer = await op.PostV2Async("/v2/token/generate", op.Publisher, "{\"email_hash\":\"LdhtUlMQ58ZZy5YUqGPRQw5xUMS5dXG5ocJHYJHbAKI=\"}",
            "application/octet-stream", forceBase64: true);
        Assert.Equal(200, answer.Status);
        Assert.Equal("text/plain", answer.ContentType);
        Assert.Equal("success", answer.ProtocolStatus);
    }

    [Fact]
    public async Task testParseRequestOctetStreamWithBase64EncodedCorruptEnvelope() =>
        Assert.StartsWith("Invalid body: Invalid request envelope format version: received 2, must be 1.",
            await ErrorAsync(Ascii(Convert.ToBase64String(Enumerable.Repeat((byte)2, 64).ToArray())), "application/octet-stream"));

    [Fact]
    public async Task testParseRequestWithMalformedJson()
    {
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, "{\"token\": \"x\", \"email_hash\": \"LdhtUlMQ58ZZy5YUqGPRQw5xUMS5dXG5ocJHYJHbAKI=\",\n test\n}");
        Assert.Equal(400, answer.Status);
        Assert.Equal("Invalid payload in body: Data is not valid json string.", answer.Message);
    }
}
