using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Uid2.Operator.OptOutPortal;

namespace Uid2.Operator.AdminPages.OptOut;

/// <summary>
/// The consumer opt-out portal: enter an email or phone number, receive a one-time code, confirm, opted out. Thin over
/// <see cref="OptOutVerificationService"/>; every outcome is a sentence on this page (never an error page). Anti-forgery
/// is checked here rather than by the framework's filter so a stale or forged form gets a friendly answer too.
/// </summary>
[IgnoreAntiforgeryToken]
[EnableRateLimiting(OptOutPortalSetup.RateLimitPolicy)]
public sealed class IndexModel(OptOutVerificationService verification, IAntiforgery antiforgery, IWebHostEnvironment environment) : PageModel
{
    public enum PortalStep { Start, Code, Done }

    public const int CodeDigits = OptOutVerificationService.CodeDigits;

    public PortalStep Step { get; private set; } = PortalStep.Start;
    public string? Error { get; private set; }
    public string? Masked { get; private set; }
    public string? Ticket { get; private set; }
    public Channel SentBy { get; private set; }
    public int CodeMinutes => (int)verification.CodeLifetime.TotalMinutes;
    public int MaxAttempts => verification.MaxAttempts;
    public bool EmailAvailable => verification.EmailAvailable;
    public bool PhoneAvailable => verification.PhoneAvailable;
    /// <summary>Development without SMTP: email codes go to the console, and the page says so.</summary>
    public bool EmailToConsole => verification.EmailGoesToConsole;
    public bool SmsToConsole => verification.SmsGoesToConsole;
    public bool IsDevelopment => environment.IsDevelopment();

    public void OnGet() { }

    public async Task<IActionResult> OnPostSendAsync(string? identity)
    {
        if (!await FormIsGenuineAsync()) return Page();
        var result = await verification.StartAsync(identity, HttpContext.RequestAborted);
        var what = result.Channel == Channel.Email ? "email address" : "phone number";
        switch (result.Outcome)
        {
            case StartOutcome.Sent:
                Step = PortalStep.Code;
                Ticket = result.Ticket;
                Masked = result.Masked;
                SentBy = result.Channel;
                break;
            case StartOutcome.Invalid:
                Fail(400, "That doesn't look like an email address or a phone number. Phone numbers need their country code and " +
                          "start with + (for example +1 202 555 0123).");
                break;
            case StartOutcome.ChannelUnavailable:
                Fail(503, $"This service can't send codes to {(result.Channel == Channel.Email ? "an email address" : "a phone number")} right now, so it can't verify it here." +
                          (result.Channel == Channel.Phone && EmailAvailable ? " You can opt out an email address instead." : ""));
                break;
            case StartOutcome.TooManyForIdentity:
                Fail(429, $"We've already sent several codes to this {what} recently. Please use the latest code you received, " +
                          "or try again in an hour.");
                break;
            case StartOutcome.Busy:
                Fail(503, "The opt-out service is very busy. Please try again in a few minutes.");
                break;
            default:
                Fail(503, $"We couldn't send a code to this {what} just now. Please check what you typed and try again in a few minutes.");
                break;
        }
        return Page();
    }

    public async Task<IActionResult> OnPostConfirmAsync(string? ticket, string? code)
    {
        if (!await FormIsGenuineAsync()) return Page();
        var result = await verification.ConfirmAsync(ticket, code, HttpContext.RequestAborted);
        Masked = result.Masked;
        switch (result.Outcome)
        {
            case ConfirmOutcome.OptedOut:
                Step = PortalStep.Done;
                break;
            case ConfirmOutcome.WrongCode:
                Step = PortalStep.Code;
                Ticket = ticket;
                Fail(400, $"That code isn't right. Check the latest message and try again: {result.AttemptsLeft} " +
                          (result.AttemptsLeft == 1 ? "try" : "tries") + " left.");
                break;
            case ConfirmOutcome.StoreUnavailable:
                Step = PortalStep.Code;
                Ticket = ticket;
                Fail(503, "We couldn't record your opt-out just now. Nothing went wrong with your code: please try it again in a minute.");
                break;
            case ConfirmOutcome.Expired:
                Fail(400, $"This code has expired (codes last {CodeMinutes} minutes). Please start again to get a new one.");
                break;
            case ConfirmOutcome.TooManyAttempts:
                Fail(400, "Too many wrong codes: this code no longer works. Please start again to get a new one.");
                break;
            default:
                Fail(400, "This code is no longer valid: it was already used, a newer code replaced it, or the page is too old. " +
                          "Please start again to get a new code.");
                break;
        }
        return Page();
    }

    private async Task<bool> FormIsGenuineAsync()
    {
        try
        {
            if (await antiforgery.IsRequestValidAsync(HttpContext)) return true;
        }
        catch (AntiforgeryValidationException)
        {
            // a form the framework cannot read its token from (e.g. malformed encoding): not genuine either
        }
        Fail(400, "This form has expired or didn't come from this page, so nothing was done. Please start again.");
        return false;
    }

    private void Fail(int status, string message)
    {
        Response.StatusCode = status;
        Error = message;
    }
}
