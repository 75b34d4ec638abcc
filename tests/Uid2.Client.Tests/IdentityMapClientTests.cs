using System.Net;
using System.Text.Json;
using Uid2.Core.Normalization;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class IdentityMapClientTests
{
    /// <summary>A fake operator: maps every hash to "uid-of-&lt;hash&gt;", opts out hashes of emails starting with "optout".</summary>
    private static StubHandler FakeOperator(HashSet<string> optedOutHashes, Func<int, bool>? failRequest = null)
    {
        var count = 0;
        return new StubHandler(async (req, body) =>
        {
            var n = Interlocked.Increment(ref count);
            await Task.Yield();
            if (failRequest?.Invoke(n) == true)
                return StubHandler.Json(HttpStatusCode.InternalServerError, """{"status":"unknown","message":"boom"}""");
            using var doc = JsonDocument.Parse(OpenRequest(body).Payload);
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("status", "success");
                w.WriteStartObject("body");
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    w.WriteStartArray(prop.Name);
                    foreach (var item in prop.Value.EnumerateArray())
                    {
                        var hash = item.GetString()!;
                        w.WriteStartObject();
                        if (optedOutHashes.Contains(hash)) w.WriteString("e", "optout");
                        else
                        {
                            w.WriteString("u", "uid-of-" + hash);
                            w.WriteNull("p");
                            w.WriteNumber("r", 1_800_000_000);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            return StubHandler.Text(HttpStatusCode.OK, EncryptedResponse(body, System.Text.Encoding.UTF8.GetString(ms.ToArray())));
        });
    }

    private static string Hash(DiiKind kind, string value)
    {
        Assert.True(IdentityInputParser.TryParse(kind, value, out var id));
        return id.DiiHashBase64;
    }

    [Fact]
    public async Task Large_input_is_split_into_batches_and_returned_in_order()
    {
        var inputs = new IdentityMapInput();
        var emails = Enumerable.Range(0, 8001).Select(i => $"User{i}@Example.com").ToList();
        emails.Insert(100, "not an email");
        var phones = Enumerable.Range(0, 4000).Select(i => $"+1{i:D10}").ToList();
        phones.Insert(7, "12345");
        inputs.WithEmails(emails).WithPhones(phones).WithEmailHashes(["bad-hash"]);
        // 8001 + 4000 = 12,001 valid identities → 3 requests of at most 5,000.

        var optedOut = new HashSet<string> { Hash(DiiKind.Email, "user5@example.com"), Hash(DiiKind.Phone, "+10000000003") };
        var handler = FakeOperator(optedOut);
        var client = new IdentityMapClient(BaseUrl, "mapper", ClientSecret, new HttpClient(handler), maxConcurrency: 2);

        var result = await client.MapAsync(inputs);

        Assert.Equal(ResponseStatus.Success, result.Status);
        Assert.Equal(3, handler.Requests.Count);
        Assert.All(handler.Requests, r => Assert.Equal("/v3/identity/map", r.Request.RequestUri!.AbsolutePath));
        var sizes = handler.Requests.Select(r =>
        {
            using var doc = JsonDocument.Parse(OpenRequest(r.Body).Payload);
            Assert.False(doc.RootElement.TryGetProperty("email", out _));
            Assert.False(doc.RootElement.TryGetProperty("phone", out _));
            return doc.RootElement.GetProperty("email_hash").GetArrayLength() + doc.RootElement.GetProperty("phone_hash").GetArrayLength();
        }).OrderBy(x => x).ToList();
        Assert.Equal([2001, 5000, 5000], sizes);

        var all = emails.Select(e => (DiiKind.Email, e)).Concat(phones.Select(p => (DiiKind.Phone, p))).Append((DiiKind.EmailHash, "bad-hash")).ToList();
        Assert.Equal(all.Count, result.Results.Count);
        for (var i = 0; i < all.Count; i++)
        {
            var (kind, value) = all[i];
            var outcome = result.Results[i];
            Assert.Equal(value, outcome.Input);
            Assert.Equal(kind, outcome.Kind);
            if (value is "not an email" or "12345" or "bad-hash")
            {
                var u = Assert.IsType<UnmappedIdentity>(outcome);
                Assert.Equal(UnmappedReason.InvalidIdentifier, u.Reason);
            }
            else if (value is "User5@Example.com" or "+10000000003")
            {
                Assert.Equal(UnmappedReason.OptOut, Assert.IsType<UnmappedIdentity>(outcome).Reason);
            }
            else
            {
                var m = Assert.IsType<MappedIdentity>(outcome);
                Assert.Equal("uid-of-" + Hash(kind, value), m.CurrentRawUid);
                Assert.Null(m.PreviousRawUid);
                Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), m.RefreshFrom);
            }
        }
        Assert.Equal(12_001 - 2, result.Mapped.Count);
        Assert.Equal(5, result.Unmapped.Count);
        Assert.True(result.Mapped.ContainsKey("User42@Example.com"));
        Assert.Equal(UnmappedReason.InvalidIdentifier, result.Unmapped["not an email"].Reason);
    }

    [Fact]
    public async Task Failed_batch_is_reported_not_thrown()
    {
        var handler = FakeOperator([], failRequest: n => n == 2);
        var client = new IdentityMapClient(BaseUrl, "mapper", ClientSecret, new HttpClient(handler), maxConcurrency: 1);
        var emails = Enumerable.Range(0, 6000).Select(i => $"u{i}@example.com").ToList();

        var result = await client.MapAsync(IdentityMapInput.FromEmails(emails));

        Assert.Equal(ResponseStatus.Error, result.Status);
        Assert.Contains("500", result.Message);
        Assert.All(result.Results.Take(5000), r => Assert.IsType<MappedIdentity>(r));
        Assert.All(result.Results.Skip(5000), r => Assert.Equal(UnmappedReason.RequestFailed, Assert.IsType<UnmappedIdentity>(r).Reason));
    }

    [Fact]
    public async Task Only_invalid_input_sends_nothing()
    {
        var handler = FakeOperator([]);
        var client = new IdentityMapClient(BaseUrl, "mapper", ClientSecret, new HttpClient(handler));
        var result = await client.MapAsync(IdentityMapInput.FromPhones(["bad", "+1"]).WithPhoneHashes(["nope"]));
        Assert.Empty(handler.Requests);
        Assert.Equal(3, result.Unmapped.Count);
        Assert.Equal(ResponseStatus.Success, result.Status);
    }

    [Fact]
    public async Task Mismatched_response_is_an_error()
    {
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK,
            EncryptedResponse(body, """{"status":"success","body":{"email_hash":[]}}""")));
        var client = new IdentityMapClient(BaseUrl, "mapper", ClientSecret, new HttpClient(handler));
        var result = await client.MapAsync(IdentityMapInput.FromEmails(["a@b.com"]));
        Assert.Equal(ResponseStatus.Error, result.Status);
        Assert.Equal(UnmappedReason.RequestFailed, result.Unmapped["a@b.com"].Reason);
    }

    [Fact]
    public void Concurrency_must_be_positive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdentityMapClient(BaseUrl, "k", ClientSecret, maxConcurrency: 0));
}
