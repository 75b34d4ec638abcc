using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Uid2.Operator.OptOutPortal;

/// <summary>Delivers a one-time code to an email address. Throws when it could not (the portal says so and logs no address).</summary>
public interface IEmailCodeSender
{
    Task SendCodeAsync(string email, string code, TimeSpan validFor, CancellationToken ct);
}

/// <summary>
/// Delivers a one-time code by SMS to an E.164 phone number. Pluggable: register an implementation for your SMS provider
/// (<c>services.AddSingleton&lt;ISmsCodeSender, MySender&gt;()</c> before the operator's own setup runs). Development
/// registers <see cref="ConsoleCodeSender"/>; elsewhere, without one, the portal refuses phone numbers.
/// </summary>
public interface ISmsCodeSender
{
    Task SendCodeAsync(string phone, string code, TimeSpan validFor, CancellationToken ct);
}

/// <summary>The text of a code message: the code, how long it lasts, and what to do if it was not asked for.</summary>
public static class CodeMessage
{
    public const string Subject = "Your UID2 opt-out code";

    public static string Body(string code, TimeSpan validFor) =>
        $"Your UID2 opt-out code is {code}. It expires in {(int)validFor.TotalMinutes} minutes.\n\n" +
        "Enter it on the opt-out page to confirm that you want to stop UID2-based personalised advertising for this address.\n" +
        "If you did not ask for this, ignore this message: nothing changes without the code.";

    public static string Sms(string code, TimeSpan validFor) =>
        $"Your UID2 opt-out code is {code} (valid {(int)validFor.TotalMinutes} min). If you did not ask for it, ignore this message.";
}

/// <summary>Sends the code through the configured SMTP server with MailKit (no protocol log is attached: nothing is logged).</summary>
public sealed class SmtpEmailCodeSender(IOptions<OptOutPortalOptions> options) : IEmailCodeSender
{
    public async Task SendCodeAsync(string email, string code, TimeSpan validFor, CancellationToken ct)
    {
        var smtp = options.Value.Smtp;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.Sender!));
        message.To.Add(MailboxAddress.Parse(email));
        message.Subject = CodeMessage.Subject;
        message.Body = new TextPart("plain") { Text = CodeMessage.Body(code, validFor) };

        using var client = new SmtpClient { Timeout = smtp.TimeoutSeconds * 1000 };
        await client.ConnectAsync(smtp.Host!, smtp.Port, smtp.Security switch
        {
            SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
            SmtpSecurity.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
            SmtpSecurity.None => SecureSocketOptions.None,
            _ => SecureSocketOptions.StartTls,
        }, ct);
        if (!string.IsNullOrEmpty(smtp.Username)) await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", ct);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(quit: true, ct);
    }
}

/// <summary>
/// Development only: writes the code to the operator's console (standard output, never the log pipeline), with the
/// recipient masked. Registered for SMS in Development, and for email there when no SMTP server is configured.
/// </summary>
public sealed class ConsoleCodeSender(TextWriter? output = null) : IEmailCodeSender, ISmsCodeSender
{
    private readonly TextWriter _output = output ?? Console.Out;

    Task IEmailCodeSender.SendCodeAsync(string email, string code, TimeSpan validFor, CancellationToken ct) =>
        WriteAsync("email", Mask.Email(email), code, validFor);

    Task ISmsCodeSender.SendCodeAsync(string phone, string code, TimeSpan validFor, CancellationToken ct) =>
        WriteAsync("SMS", Mask.Phone(phone), code, validFor);

    private async Task WriteAsync(string channel, string to, string code, TimeSpan validFor)
    {
        var line = $"[opt-out portal, Development {channel} to {to}] {CodeMessage.Sms(code, validFor)}";
        await _output.WriteLineAsync(line);
        await _output.FlushAsync();
    }
}

/// <summary>How the portal shows an identity back to its owner: enough to recognise it, not enough to read it.</summary>
public static class Mask
{
    public static string Email(string email)
    {
        var at = email.LastIndexOf('@');
        if (at <= 0) return "•••";
        return email[0] + "•••" + email[at..];
    }

    public static string Phone(string phone) => phone.Length <= 4 ? "•••" : "+•••" + phone[^2..];
}
