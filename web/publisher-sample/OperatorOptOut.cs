using System.Net.Http.Headers;
using System.Text.Json;
using Uid2.Client;
using Uid2.Core.Envelope;

namespace Uid2.PublisherSample;

/// <summary>
/// Opts a user out: <c>POST /v2/token/logout</c> (OPTOUT role) with <c>{"email_hash":"…"}</c> in a v2 envelope. The Uid2.Client
/// SDK has no client for this endpoint, so the envelope is built here with <see cref="V2Envelope"/>.
/// </summary>
public sealed class OperatorOptOut(HttpClient http, SampleOptions options)
{
    public async Task<(bool Ok, string Detail)> OptOutEmailAsync(string email, CancellationToken ct)
    {
        var input = TokenGenerateInput.FromEmail(email);   // normalizes and hashes locally: only the hash leaves the server
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { [input.ParameterName] = input.HashBase64 });
        var secret = Convert.FromBase64String(options.ClientSecret);
        var envelope = V2Envelope.EncryptRequest(payload, secret, DateTimeOffset.UtcNow, out var nonce);

        using var request = new HttpRequestMessage(HttpMethod.Post, options.OperatorUrl.TrimEnd('/') + "/v2/token/logout")
        {
            Content = new StringContent(Convert.ToBase64String(envelope)),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) return (false, $"HTTP {(int)response.StatusCode}: {body}");
        if (!V2Envelope.TryDecryptResponse(Convert.FromBase64String(body), secret, nonce, out var json))
            return (false, "the response did not decrypt with the client secret");
        using var doc = JsonDocument.Parse(json);
        var ok = doc.RootElement.TryGetProperty("status", out var status) && status.GetString() == "success";
        return (ok, doc.RootElement.GetRawText());
    }
}
