using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Operate it for real": the JSON admin API (<c>/admin/api</c>) and the admin page's sign-in, from outside —
/// who may call it, what it does to running traffic, how it answers hostile input, and its cookies.
/// </summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private string _adminKey = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync();
        var output = new StringWriter();
        Assert.Equal(0, await Uid2.Admin.Program.RunAsync(["--connection-string", _host.ConnectionString, "--json", "admin", "create", "--name", "ops"],
            output, new StringWriter(), _host.Time));
        _adminKey = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("adminKey").GetString()!;
        _host.AddKnownSecrets(_adminKey);
        await _host.Services.GetRequiredService<State.OperatorStateProvider>().ReloadAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Json)> CallAsync(HttpMethod method, string path, string? body = null, string? key = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Only_an_admin_credential_may_call_it_and_what_it_does_takes_effect_at_once()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync(HttpMethod.Get, "/admin/api/participants")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync(HttpMethod.Get, "/admin/api/participants", key: "UID2-C-A-0-nope.x")).Status);
        var publisher = await _host.AddParticipantAsync(8101, Role.Generator | Role.Sharer);
        var forbidden = await CallAsync(HttpMethod.Get, "/admin/api/participants", key: publisher.ApiKey);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        Assert.Equal("client_error", forbidden.Json.GetProperty("status").GetString());
        // And an admin credential reaches no protocol endpoint.
        Assert.Equal(401, (await _host.PostV2Async("/v2/token/generate", new TestParticipant(0, _adminKey, publisher.Secret), new { email = "a@example.com" })).Status);

        var created = await CallAsync(HttpMethod.Post, "/admin/api/participants", """{"name":"API pub","site_id":8102,"roles":"generator"}""", _adminKey);
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var body = created.Json.GetProperty("body");
        var pub = new TestParticipant(8102, body.GetProperty("api_key").GetString()!, body.GetProperty("secret").GetString()!);
        _host.AddKnownSecrets(pub.ApiKey, pub.Secret);
        Assert.Equal(200, (await _host.PostV2Async("/v2/token/generate", pub, new { email = "api.user@example.com" })).Status);

        var listed = await CallAsync(HttpMethod.Get, "/admin/api/participants?q=API", key: _adminKey);
        var row = Assert.Single(listed.Json.GetProperty("body").GetProperty("participants").EnumerateArray());
        Assert.Equal(8102, row.GetProperty("site_id").GetInt32());
        Assert.DoesNotContain(pub.Secret, listed.Json.GetRawText());
        Assert.DoesNotContain(pub.ApiKey, listed.Json.GetRawText());

        var revoked = await CallAsync(HttpMethod.Post, "/admin/api/apikeys/revoke", JsonSerializer.Serialize(new { key_id = ApiKeys.KeyIdOf(pub.ApiKey) }), _adminKey);
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/token/generate", pub, new { email = "api.user@example.com" })).Status);

        var optout = await CallAsync(HttpMethod.Post, "/admin/api/optouts", """{"email":"api.gone@example.com"}""", _adminKey);
        Assert.Equal(HttpStatusCode.OK, optout.Status);
        var lookup = await CallAsync(HttpMethod.Post, "/admin/api/optouts/lookup", """{"email":"API.Gone@example.com"}""", _adminKey);
        Assert.True(lookup.Json.GetProperty("body").GetProperty("opted_out").GetBoolean());

        var salts = await CallAsync(HttpMethod.Get, "/admin/api/salts", key: _adminKey);
        Assert.True(salts.Json.GetProperty("body").GetProperty("next_rotation").GetInt64() > 0);
        var audit = await CallAsync(HttpMethod.Get, "/admin/api/audit", key: _adminKey);
        var actions = audit.Json.GetProperty("body").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("participant.create", actions);
        Assert.Contains("apikey.revoke", actions);
        Assert.All(audit.Json.GetProperty("body").EnumerateArray().Where(e => e.GetProperty("action").GetString() != "admin.create"),
            e => Assert.Equal("admin:ops", e.GetProperty("actor").GetString()));
        Assert.DoesNotContain("api.gone", audit.Json.GetRawText());
    }

    [Fact]
    public async Task Only_https_or_a_loopback_connection_reaches_it_so_no_admin_key_crosses_a_network_in_clear()
    {
        async Task<HttpStatusCode> Via(string proto)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/participants");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminKey);
            request.Headers.Add("X-Forwarded-For", "203.0.113.5"); // from the trusted (loopback) proxy: a remote client
            request.Headers.Add("X-Forwarded-Proto", proto);
            return (await _host.Http.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Forbidden, await Via("http"));
        Assert.Equal(HttpStatusCode.OK, await Via("https"));
    }

    public static TheoryData<string, string, string?> HostileCalls() => new()
    {
        { "POST", "/admin/api/participants", "not json" },
        { "POST", "/admin/api/participants", "[1,2]" },
        { "POST", "/admin/api/participants", """{"name":"x","site_id":"7","roles":"generator"}""" },
        { "POST", "/admin/api/participants", """{"name":"x","site_id":2,"roles":"generator"}""" },
        { "POST", "/admin/api/participants", """{"name":"x","site_id":9,"roles":"admin"}""" },
        { "POST", "/admin/api/participants", """{"name":"x","site_id":9,"roles":"wizard"}""" },
        { "POST", "/admin/api/participants", """{"name":"\ud800","site_id":9,"roles":"generator"}""" },
        { "POST", "/admin/api/participants/999999/disable", null },
        { "POST", "/admin/api/apikeys/revoke", """{"key_id":"UID2-C-L-1-xx/x+"}""" },
        { "POST", "/admin/api/apikeys/revoke", """{"key_id":7}""" },
        { "POST", "/admin/api/apikeys/rotate-secret", """{"key_id":"UID2-C-L-1-xxxxx","overlap_hours":-1}""" },
        { "POST", "/admin/api/apikeys/rotate-secret", """{"key_id":"UID2-C-L-1-xxxxx","overlap_hours":1e308}""" },
        { "POST", "/admin/api/keys/2147483647/retire", null },
        { "POST", "/admin/api/keysets/424242/rotate", null },
        { "POST", "/admin/api/salts/rotate", """{"fraction":2}""" },
        { "POST", "/admin/api/salts/rotate", "{}" },
        { "POST", "/admin/api/optouts", """{"email":"not an email"}""" },
        { "POST", "/admin/api/optouts", """{"email":"a@example.com","phone":"+12345678901"}""" },
        { "POST", "/admin/api/optouts/lookup", """{"raw_uid":"!!!"}""" },
        { "GET", "/admin/api/participants/12345", null },
        { "GET", "/admin/api/nothing-here", null },
        { "DELETE", "/admin/api/participants", null },
    };

    [Theory]
    [MemberData(nameof(HostileCalls))]
    public async Task Hostile_input_gets_a_4xx_in_the_protocol_shape(string method, string path, string? body)
    {
        var (status, json) = await CallAsync(new HttpMethod(method), path, body, _adminKey);
        Assert.InRange((int)status, 400, 499);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task The_page_signs_in_with_strict_secure_cookies_and_refuses_forms_without_the_anti_forgery_token()
    {
        var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = _host.BaseAddress };

        var home = await http.GetAsync("/admin");
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("/admin/login", home.Headers.Location!.OriginalString, StringComparison.OrdinalIgnoreCase);

        var login = await http.GetAsync("/admin/login");
        Assert.True(login.Headers.CacheControl?.NoStore);
        Assert.Equal("DENY", login.Headers.GetValues("X-Frame-Options").Single());
        var html = await login.Content.ReadAsStringAsync();
        var token = Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(token);
        var csrfCookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("uid2-admin-csrf=", StringComparison.Ordinal));
        Assert.Matches("(?i)secure", csrfCookie);
        Assert.Matches("(?i)httponly", csrfCookie);
        Assert.Matches("(?i)samesite=strict", csrfCookie);

        async Task<HttpResponseMessage> PostLogin(string key, bool withToken)
        {
            var form = new Dictionary<string, string> { ["AdminKey"] = key };
            if (withToken) form["__RequestVerificationToken"] = token;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/login") { Content = new FormUrlEncodedContent(form) };
            request.Headers.Add("Cookie", csrfCookie.Split(';')[0]);
            return await http.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await PostLogin(_adminKey, withToken: false)).StatusCode);
        var publisher = await _host.AddParticipantAsync(8103, Role.Generator);
        var refused = await PostLogin(publisher.ApiKey, withToken: true);
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Contains("not a valid admin credential", await refused.Content.ReadAsStringAsync());
        Assert.DoesNotContain(refused.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("uid2-admin=", StringComparison.Ordinal)));

        var signedIn = await PostLogin(_adminKey, withToken: true);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var auth = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("uid2-admin=", StringComparison.Ordinal));
        Assert.Matches("(?i)secure", auth);
        Assert.Matches("(?i)httponly", auth);
        Assert.Matches("(?i)samesite=strict", auth);
        Assert.DoesNotContain(_adminKey, auth);

        using var page = new HttpRequestMessage(HttpMethod.Get, "/admin");
        page.Headers.Add("Cookie", auth.Split(';')[0]);
        var participants = await http.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, participants.StatusCode);
        Assert.Contains("site 8103", (await participants.Content.ReadAsStringAsync()).ToLowerInvariant());

        // Revoking the credential ends the session at its next request.
        Assert.Equal(0, await Uid2.Admin.Program.RunAsync(["--connection-string", _host.ConnectionString, "admin", "revoke", "--key-id", ApiKeys.KeyIdOf(_adminKey)],
            new StringWriter(), new StringWriter(), _host.Time));
        await _host.Services.GetRequiredService<State.OperatorStateProvider>().ReloadAsync(CancellationToken.None);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/admin");
        again.Headers.Add("Cookie", auth.Split(';')[0]);
        Assert.Equal(HttpStatusCode.Redirect, (await http.SendAsync(again)).StatusCode);
    }
}
