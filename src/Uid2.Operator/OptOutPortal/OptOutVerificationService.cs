using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Services;

namespace Uid2.Operator.OptOutPortal;

public enum Channel { Email, Phone }

public enum StartOutcome
{
    /// <summary>A code went out; <see cref="StartResult.Ticket"/> names the verification.</summary>
    Sent,
    Invalid,
    ChannelUnavailable,
    TooManyForIdentity,
    Busy,
    SendFailed,
}

public sealed record StartResult(StartOutcome Outcome, Channel Channel, string? Ticket = null, string? Masked = null);

public enum ConfirmOutcome
{
    OptedOut,
    /// <summary>Unknown, expired, already used or voided ticket.</summary>
    NoSuchCode,
    Expired,
    WrongCode,
    TooManyAttempts,
    StoreUnavailable,
}

public sealed record ConfirmResult(ConfirmOutcome Outcome, string? Masked = null, int AttemptsLeft = 0);

/// <summary>
/// The portal's rules, under thin pages: a person proves they own an email or a phone number with a one-time code,
/// then the opt-out is recorded through <see cref="OptOutService"/> (by first-level hash, as <c>/v2/token/logout</c>
/// records it). Nothing here holds the email or phone in clear: a pending verification keeps the DII hash
/// (<see cref="IdentityInput"/>), a masked form to show back, and an HMAC of its code under a key that lives only in
/// this process; the per-identity rate limit is keyed by an HMAC of the DII hash under the same key. Codes are random
/// 6-digit numbers, valid for <see cref="OptOutPortalOptions.CodeLifetimeMinutes"/>, used once, compared in constant
/// time, and void after <see cref="OptOutPortalOptions.MaxAttempts"/> wrong tries. A new code for the same identity
/// voids the previous one. Pending verifications are per instance (a load balancer needs session affinity for the
/// two steps, or the person asks for a new code).
/// </summary>
public sealed class OptOutVerificationService : IDisposable
{
    public const int CodeDigits = 6;

    private readonly OptOutPortalOptions _options;
    private readonly OptOutService _optOuts;
    private readonly TimeProvider _time;
    private readonly IEmailCodeSender? _email;
    private readonly ISmsCodeSender? _sms;
    private readonly ILogger<OptOutVerificationService> _logger;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly PartitionedRateLimiter<string> _perIdentity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Pending> _byTicket = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _ticketByIdentity = new(StringComparer.Ordinal);

    private sealed class Pending
    {
        public required string Ticket { get; init; }
        public required string IdentityKey { get; init; }
        public required IdentityInput Identity { get; init; }
        public required byte[] CodeMac { get; init; }
        public required DateTimeOffset Expires { get; init; }
        public required string Masked { get; init; }
        public int Attempts { get; set; }
        public bool Confirming { get; set; }
    }

    public OptOutVerificationService(IOptions<OptOutPortalOptions> options, OptOutService optOuts, TimeProvider time,
        ILogger<OptOutVerificationService> logger, IEmailCodeSender? email = null, ISmsCodeSender? sms = null)
    {
        _options = options.Value;
        _optOuts = optOuts;
        _time = time;
        _logger = logger;
        _email = email;
        _sms = sms;
        _perIdentity = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key,
            _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = _options.CodesPerIdentity,
                Window = TimeSpan.FromMinutes(_options.IdentityWindowMinutes),
                QueueLimit = 0,
            }));
    }

    public TimeSpan CodeLifetime => TimeSpan.FromMinutes(_options.CodeLifetimeMinutes);
    public int MaxAttempts => _options.MaxAttempts;
    public bool EmailAvailable => _email is not null;
    public bool PhoneAvailable => _sms is not null;
    public bool EmailGoesToConsole => _email is ConsoleCodeSender;
    public bool SmsGoesToConsole => _sms is ConsoleCodeSender;

    /// <summary>Reads what the person typed: an email (has an '@') or a phone number in international format.</summary>
    public static bool TryRead(string? typed, out Channel channel, out string value)
    {
        value = (typed ?? "").Trim();
        channel = value.Contains('@') ? Channel.Email : Channel.Phone;
        if (value.Length is 0 or > 256) return false;
        if (channel == Channel.Phone)
        {
            // People write +1 (202) 555-0123: keep the '+' and the digits.
            var digits = new StringBuilder(value.Length);
            foreach (var c in value)
                if (char.IsAsciiDigit(c) || (c == '+' && digits.Length == 0)) digits.Append(c);
                else if (c is not (' ' or '-' or '.' or '(' or ')')) return false;
            value = digits.ToString();
        }
        return IdentityInputParser.TryParse(channel == Channel.Email ? DiiKind.Email : DiiKind.Phone, value, out _);
    }

    /// <summary>Validates what was typed, applies the per-identity limit, and sends a new code.</summary>
    public async Task<StartResult> StartAsync(string? typed, CancellationToken ct)
    {
        if (!TryRead(typed, out var channel, out var value)) return new(StartOutcome.Invalid, channel);
        if ((channel == Channel.Email ? _email is null : _sms is null)) return new(StartOutcome.ChannelUnavailable, channel);
        IdentityInputParser.TryParse(channel == Channel.Email ? DiiKind.Email : DiiKind.Phone, value, out var identity);
        var identityKey = Convert.ToHexString(HMACSHA256.HashData(_key, (byte[])[(byte)identity.Type, .. identity.DiiHash]));

        using (var lease = _perIdentity.AttemptAcquire(identityKey))
            if (!lease.IsAcquired) return new(StartOutcome.TooManyForIdentity, channel);

        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        var ticket = Base64Url(RandomNumberGenerator.GetBytes(16));
        var pending = new Pending
        {
            Ticket = ticket,
            IdentityKey = identityKey,
            Identity = identity,
            CodeMac = CodeMac(ticket, code),
            Expires = _time.GetUtcNow() + CodeLifetime,
            Masked = channel == Channel.Email ? Mask.Email(value) : Mask.Phone(value),
        };
        lock (_lock)
        {
            PruneExpired();
            if (_ticketByIdentity.TryGetValue(identityKey, out var previous)) _byTicket.Remove(previous); // the older code is void
            else if (_byTicket.Count >= _options.MaxPendingVerifications) return new(StartOutcome.Busy, channel);
            _byTicket[ticket] = pending;
            _ticketByIdentity[identityKey] = ticket;
        }

        try
        {
            if (channel == Channel.Email) await _email!.SendCodeAsync(value, code, CodeLifetime, ct);
            else await _sms!.SendCodeAsync(value, code, CodeLifetime, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The exception's type only: a mail server's reply text may quote the address.
            _logger.LogWarning("Opt-out portal: a {Channel} code could not be sent ({ErrorType}).", channel, ex.GetType().Name);
            Remove(pending);
            return new(StartOutcome.SendFailed, channel);
        }
        _logger.LogInformation("Opt-out portal: sent a {Channel} code.", channel);
        return new(StartOutcome.Sent, channel, ticket, pending.Masked);
    }

    /// <summary>Checks <paramref name="code"/> for the verification <paramref name="ticket"/>; when right, records the opt-out.</summary>
    public async Task<ConfirmResult> ConfirmAsync(string? ticket, string? code, CancellationToken ct)
    {
        Pending? pending;
        var typed = new string((code ?? "").Where(c => !char.IsWhiteSpace(c) && c != '-').ToArray());
        lock (_lock)
        {
            if (ticket is null || !_byTicket.TryGetValue(ticket, out pending) || pending.Confirming) return new(ConfirmOutcome.NoSuchCode);
            if (_time.GetUtcNow() >= pending.Expires)
            {
                RemoveLocked(pending);
                return new(ConfirmOutcome.Expired, pending.Masked);
            }
            var right = typed.Length == CodeDigits && typed.All(char.IsAsciiDigit)
                && CryptographicOperations.FixedTimeEquals(CodeMac(pending.Ticket, typed), pending.CodeMac);
            if (!right)
            {
                pending.Attempts++;
                if (pending.Attempts >= _options.MaxAttempts)
                {
                    RemoveLocked(pending);
                    _logger.LogInformation("Opt-out portal: a code was voided after {Attempts} wrong attempts.", pending.Attempts);
                    return new(ConfirmOutcome.TooManyAttempts, pending.Masked);
                }
                return new(ConfirmOutcome.WrongCode, pending.Masked, _options.MaxAttempts - pending.Attempts);
            }
            pending.Confirming = true; // single use: a second submission of the same code finds nothing
        }

        bool recorded;
        try
        {
            recorded = await _optOuts.OptOutAsync(pending.Identity, ct);
        }
        catch
        {
            lock (_lock) pending.Confirming = false;
            throw;
        }
        lock (_lock)
        {
            if (recorded) RemoveLocked(pending);
            else pending.Confirming = false; // the store could not take it: the same code may be tried again
        }
        if (recorded) _logger.LogInformation("Opt-out portal: an opt-out was recorded.");
        return recorded ? new(ConfirmOutcome.OptedOut, pending.Masked) : new(ConfirmOutcome.StoreUnavailable, pending.Masked);
    }

    /// <summary>Verifications waiting for their code (for tests and metrics).</summary>
    public int PendingCount
    {
        get { lock (_lock) return _byTicket.Count; }
    }

    private byte[] CodeMac(string ticket, string code) => HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(ticket + ":" + code));

    private void Remove(Pending pending)
    {
        lock (_lock) RemoveLocked(pending);
    }

    private void RemoveLocked(Pending pending)
    {
        _byTicket.Remove(pending.Ticket);
        if (_ticketByIdentity.TryGetValue(pending.IdentityKey, out var t) && t == pending.Ticket) _ticketByIdentity.Remove(pending.IdentityKey);
    }

    private void PruneExpired()
    {
        if (_byTicket.Count < 1024 && _byTicket.Count < _options.MaxPendingVerifications) return;
        var now = _time.GetUtcNow();
        foreach (var p in _byTicket.Values.Where(p => now >= p.Expires && !p.Confirming).ToList()) RemoveLocked(p);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public void Dispose() => _perIdentity.Dispose();
}
