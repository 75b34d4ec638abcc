using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Uid2.Core.Auth;
using Uid2.Operator.OptOutPortal;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Tests.Shared;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue 12, the consumer opt-out portal at <c>/optout</c>, over a real Kestrel: codes by SMTP (a real SMTP server on
/// loopback, through MailKit) and by the console SMS sender; a confirmed code records the opt-out as
/// <c>/v2/token/logout</c> does (generate, refresh and opt-out status all honour it); wrong, expired, reused and
/// exhausted codes, per-identity and per-IP limits, forged forms and bad input each get a friendly page and change
/// nothing. Every host checks on dispose that no email, phone or code reached a log.
/// </summary>
public sealed partial class OptOutPortalTests : IAsyncLifetime
{
    private readonly SmtpReceiver _smtp = new();
    private readonly StringWriter _console = new();
    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _advertiser = null!;

    public async Task InitializeAsync()
    {
        _host = await StartPortalHostAsync(_smtp, _console);
        _publisher = await _host.AddParticipantAsync(6101, Role.Generator);
        _advertiser = await _host.AddParticipantAsync(6102, Role.Mapper);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    internal static Task<OperatorHost> StartPortalHostAsync(SmtpReceiver? smtp, TextWriter? console, Dictionary<string, string?>? extra = null,
        string environment = "Production")
    {
        var settings = new Dictionary<string, string?> { ["Uid2:OptOutPortal:RequestsPerIp"] = "1000" };
        if (smtp is not null)
        {
            settings["Uid2:OptOutPortal:Smtp:Host"] = "127.0.0.1";
            settings["Uid2:OptOutPortal:Smtp:Port"] = smtp.Port.ToString();
            settings["Uid2:OptOutPortal:Smtp:Security"] = "None";
            settings["Uid2:OptOutPortal:Smtp:Sender"] = "UID2 opt-out <no-reply@portal.test>";
        }
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return OperatorHost.StartAsync(environment, settings, configure: b =>
        {
            // The console SMS sender, writing where the test can read it (Production registers no SMS sender by itself).
            if (console is not null) b.Services.AddSingleton<ISmsCodeSender>(new ConsoleCodeSender(console));
        });
    }

    // ---- the flows ----------------------------------------------------------------------------------------------------

    [SkippableFact]
    public async Task An_email_verified_over_smtp_is_opted_out_everywhere_the_protocol_looks()
    {
        const string email = "Portal.Person@Example.com";
        _host.AddKnownPersonalData(email, "portal.person@example.com");
        var before = await GenerateAsync("portal.person@example.com");
        var rawUid = await RawUidAsync("portal.person@example.com");

        var portal = await PortalSession.OpenAsync(_host);
        var (status, sent) = await portal.PostAsync("Send", new() { ["identity"] = email });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Enter your code", sent);
        Assert.DoesNotContain("portal.person", sent, StringComparison.OrdinalIgnoreCase); // shown masked only
        Assert.Contains("P&#x2022;&#x2022;&#x2022;@Example.com", sent);

        var mail = await _smtp.NextAsync();
        Assert.Equal("no-reply@portal.test", mail.From);
        Assert.Equal([email], mail.To);
        var message = MimeMessage.Load(new MemoryStream(mail.Data));
        Assert.Equal(CodeMessage.Subject, message.Subject);
        var code = CodeIn(message.TextBody!);
        _host.AddKnownPersonalData(code);

        var (doneStatus, done) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code });
        Assert.Equal(HttpStatusCode.OK, doneStatus);
        Assert.Contains("is now opted out of UID2", done);

        // Generate answers optout; a refresh of the token issued before answers optout; opt-out status lists the raw UID2.
        var (_, after) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "portal.person@example.com" });
        Assert.Equal("optout", after.GetProperty("status").GetString());
        var body = before.GetProperty("body");
        var (_, refreshed) = await _host.RefreshV2Async(body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString());
        Assert.Equal("optout", refreshed.GetProperty("status").GetString());
        var (_, optOutStatus) = await _host.PostV2Async("/v2/optout/status", _advertiser, new { advertising_ids = new[] { rawUid } });
        Assert.Equal(rawUid, Assert.Single(optOutStatus.GetProperty("body").GetProperty("opted_out").EnumerateArray()).GetProperty("advertising_id").GetString());

        // The code was single-use: sending it again finds nothing, and nothing is left pending.
        var (_, again) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code });
        Assert.Contains("no longer valid", again);
        Assert.Equal(0, _host.Services.GetRequiredService<OptOutVerificationService>().PendingCount);
    }

    [SkippableFact]
    public async Task A_phone_number_is_verified_through_the_console_sms_sender()
    {
        const string typed = "+1 (202) 555-0147";
        _host.AddKnownPersonalData("+12025550147", "2025550147", "555-0147");
        var portal = await PortalSession.OpenAsync(_host);
        var (status, sent) = await portal.PostAsync("Send", new() { ["identity"] = typed });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("by text message", sent);
        var line = Assert.Single(_console.ToString().Split('\n'), l => l.Contains("SMS to"));
        Assert.DoesNotContain("2025550147", line); // the console shows the number masked
        Assert.Contains("+•••47", line);
        var code = CodeIn(line);
        _host.AddKnownPersonalData(code);

        var (_, done) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code });
        Assert.Contains("is now opted out of UID2", done);
        var (_, after) = await _host.PostV2Async("/v2/token/generate", _publisher, new { phone = "+12025550147" });
        Assert.Equal("optout", after.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task A_wrong_code_says_how_many_tries_are_left_and_the_right_one_still_works()
    {
        var (portal, sent, code) = await StartAsync("wrong.code@example.com");
        var (status, wrong) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = OtherThan(code) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("That code isn&#x27;t right", wrong);
        Assert.Contains("4 tries left", wrong);
        Assert.Equal("success", (await GenerateAsync("wrong.code@example.com")).GetProperty("status").GetString());

        var (_, done) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(wrong), ["code"] = code });
        Assert.Contains("is now opted out of UID2", done);
        Assert.Equal("optout", (await GenerateAsync("wrong.code@example.com")).GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Five_wrong_codes_void_the_code()
    {
        var (portal, sent, code) = await StartAsync("many.tries@example.com");
        string page = "";
        for (var i = 0; i < 5; i++) (_, page) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = OtherThan(code) });
        Assert.Contains("Too many wrong codes", page);
        var (_, late) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code });
        Assert.Contains("no longer valid", late);
        Assert.Equal("success", (await GenerateAsync("many.tries@example.com")).GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task An_expired_code_is_refused()
    {
        var (portal, sent, code) = await StartAsync("expired.code@example.com");
        _host.Time.Advance(TimeSpan.FromMinutes(11));
        var (status, page) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("This code has expired", page);
        Assert.Equal("success", (await GenerateAsync("expired.code@example.com")).GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task One_identity_gets_three_codes_an_hour_and_only_the_latest_works()
    {
        var (portal, first, firstCode) = await StartAsync("rate.limited@example.com");
        await StartAsync("rate.limited@example.com");
        var (_, third, thirdCode) = await StartAsync("RATE.LIMITED@example.com"); // the same identity, normalized
        var (status, refused) = await portal.PostAsync("Send", new() { ["identity"] = "rate.limited@example.com" });
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Contains("already sent several codes", refused);
        Assert.False(_smtp.TryTake(out _)); // no fourth email

        var (_, old) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(first), ["code"] = firstCode });
        Assert.Contains("no longer valid", old); // replaced by a newer code
        var (_, done) = await portal.PostAsync("Confirm", new() { ["ticket"] = TicketIn(third), ["code"] = thirdCode });
        Assert.Contains("is now opted out of UID2", done);
    }

    [SkippableFact]
    public async Task Forms_without_the_anti_forgery_token_or_cookie_change_nothing()
    {
        var portal = await PortalSession.OpenAsync(_host);
        Assert.Matches("(?i)path=/optout", portal.CookieHeader);
        Assert.Matches("(?i)secure", portal.CookieHeader);
        Assert.Matches("(?i)httponly", portal.CookieHeader);
        Assert.Matches("(?i)samesite=strict", portal.CookieHeader);
        Assert.StartsWith("uid2-optout-csrf=", portal.CookieHeader);

        var (noToken, page) = await portal.PostAsync("Send", new() { ["identity"] = "forged@example.com" }, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, noToken);
        Assert.Contains("didn&#x27;t come from this page", page);
        var (noCookie, _) = await portal.PostAsync("Send", new() { ["identity"] = "forged@example.com" }, withCookie: false);
        Assert.Equal(HttpStatusCode.BadRequest, noCookie);
        var other = await PortalSession.OpenAsync(_host); // a token that belongs to another browser's cookie
        var (mixed, _) = await portal.PostAsync("Send", new() { ["identity"] = "forged@example.com" }, token: other.Token);
        Assert.Equal(HttpStatusCode.BadRequest, mixed);
        Assert.False(_smtp.TryTake(out _));

        // A confirm without the token does not opt out even with the right code.
        var (session, sent, code) = await StartAsync("forged.confirm@example.com");
        var (refused, _) = await session.PostAsync("Confirm", new() { ["ticket"] = TicketIn(sent), ["code"] = code }, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal("success", (await GenerateAsync("forged.confirm@example.com")).GetProperty("status").GetString());
    }

    public static TheoryData<string, string> BadForms => new()
    {
        { "Send", "identity=not+an+email" },
        { "Send", "identity=" },
        { "Send", "" },
        { "Send", "identity=%2B12" },
        { "Send", "identity=" + new string('a', 5000) + "%40example.com" },
        { "Send", "identity=%00%01%E2%82" },
        { "Send", "identity=a@b@c" },
        { "Confirm", "ticket=nope&code=123456" },
        { "Confirm", "code=123456" },
        { "Confirm", "ticket=&code=" },
        { "Confirm", "ticket=" + "x" + "&code=%F0%9F%98%80" },
        { "Nothing", "identity=a%40example.com" },
    };

    [SkippableTheory]
    [MemberData(nameof(BadForms))]
    public async Task Bad_input_gets_a_friendly_page_never_an_error_page(string handler, string form)
    {
        var portal = await PortalSession.OpenAsync(_host);
        var (status, page) = await portal.PostRawAsync(handler, form);
        Assert.InRange((int)status, 200, 499);
        Assert.Contains("<h1>", page);
        Assert.DoesNotContain("Exception", page);
        Assert.Matches("role=\"alert\"|Opt out of UID2", page);
    }

    [SkippableFact]
    public async Task Production_without_smtp_refuses_email_and_says_so()
    {
        await using var host = await StartPortalHostAsync(smtp: null, console: null);
        var portal = await PortalSession.OpenAsync(host);
        Assert.Contains("can't send verification codes", portal.Html);
        var (status, page) = await portal.PostAsync("Send", new() { ["identity"] = "no.smtp@example.com" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("can&#x27;t send codes to an email address", page);
        var (_, phone) = await portal.PostAsync("Send", new() { ["identity"] = "+12025550148" });
        Assert.Contains("can&#x27;t send codes to a phone number", phone);
        host.AddKnownPersonalData("no.smtp@example.com", "+12025550148");
        Assert.Contains(host.Logs.Lines, l => l.Contains("no SMTP server is configured"));
    }

    [SkippableFact]
    public async Task Development_without_smtp_writes_codes_to_the_console_and_says_so_on_the_page()
    {
        await using var host = await StartPortalHostAsync(smtp: null, console: null, environment: "Development");
        var portal = await PortalSession.OpenAsync(host);
        Assert.Contains("no SMTP server is configured (Uid2:OptOutPortal:Smtp:Host)", portal.Html);
        Assert.Contains("dev-notice", portal.Html);
    }

    [SkippableFact]
    public async Task Too_many_forms_from_one_ip_get_a_friendly_429_and_pages_still_load()
    {
        await using var host = await StartPortalHostAsync(_smtp, _console, new() { ["Uid2:OptOutPortal:RequestsPerIp"] = "3" });
        var portal = await PortalSession.OpenAsync(host);
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.BadRequest, (await portal.PostAsync("Send", new() { ["identity"] = "bad" })).Status);
        var (status, page) = await portal.PostAsync("Send", new() { ["identity"] = "ip.limited@example.com" });
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Contains("Too many attempts", page);
        Assert.Contains("wait a few minutes", page);
        Assert.False(_smtp.TryTake(out _));
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/optout")).StatusCode);
    }

    [SkippableFact]
    public async Task A_disabled_portal_is_not_served()
    {
        await using var host = await StartPortalHostAsync(_smtp, null, new() { ["Uid2:OptOutPortal:Enabled"] = "false" });
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync("/optout")).StatusCode);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------

    private async Task<(PortalSession Portal, string Page, string Code)> StartAsync(string email)
    {
        _host.AddKnownPersonalData(email, email.ToLowerInvariant());
        var portal = await PortalSession.OpenAsync(_host);
        var (status, sent) = await portal.PostAsync("Send", new() { ["identity"] = email });
        Assert.Equal(HttpStatusCode.OK, status);
        var mail = await _smtp.NextAsync();
        var code = CodeIn(MimeMessage.Load(new MemoryStream(mail.Data)).TextBody!);
        _host.AddKnownPersonalData(code);
        return (portal, sent, code);
    }

    private async Task<JsonElement> GenerateAsync(string email) =>
        (await _host.PostV2Async("/v2/token/generate", _publisher, new { email })).Json;

    private async Task<string> RawUidAsync(string email)
    {
        var (_, map) = await _host.PostV2Async("/v2/identity/map", _advertiser, new { email = new[] { email } });
        return map.GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()!;
    }

    internal static string CodeIn(string text) => SixDigits().Match(text).Value is { Length: 6 } code ? code : throw new Xunit.Sdk.XunitException("no code in: " + text);

    internal static string TicketIn(string html) => TicketField().Match(html).Groups[1].Value;

    private static string OtherThan(string code) => ((int.Parse(code) + 1) % 1_000_000).ToString("D6");

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();

    [GeneratedRegex("name=\"ticket\" value=\"([^\"]*)\"")]
    private static partial Regex TicketField();
}

/// <summary>A browser's view of the portal: its anti-forgery cookie and form token, sent back by hand (the cookie is Secure).</summary>
internal sealed partial class PortalSession
{
    private readonly HttpClient _http;

    private PortalSession(HttpClient http, string cookieHeader, string token, string html)
    {
        _http = http;
        CookieHeader = cookieHeader;
        Token = token;
        Html = html;
    }

    /// <summary>The Set-Cookie line of the anti-forgery cookie.</summary>
    public string CookieHeader { get; }
    public string Token { get; }
    public string Html { get; }

    public static async Task<PortalSession> OpenAsync(OperatorHost host)
    {
        var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = host.BaseAddress };
        var page = await http.GetAsync("/optout");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var token = TokenField().Match(html).Groups[1].Value;
        Assert.NotEmpty(token);
        var cookie = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("uid2-optout-csrf=", StringComparison.Ordinal));
        return new PortalSession(http, cookie, token, html);
    }

    public async Task<(HttpStatusCode Status, string Html)> PostAsync(string handler, Dictionary<string, string> form, bool withToken = true,
        bool withCookie = true, string? token = null)
    {
        if (withToken) form["__RequestVerificationToken"] = token ?? Token;
        return await SendAsync(handler, new FormUrlEncodedContent(form), withCookie);
    }

    public async Task<(HttpStatusCode Status, string Html)> PostRawAsync(string handler, string form) =>
        await SendAsync(handler, new StringContent(form + "&__RequestVerificationToken=" + Uri.EscapeDataString(Token),
            System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"), withCookie: true);

    private async Task<(HttpStatusCode, string)> SendAsync(string handler, HttpContent content, bool withCookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/optout?handler=" + handler) { Content = content };
        if (withCookie) request.Headers.Add("Cookie", CookieHeader.Split(';')[0]);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
