namespace Uid2.Operator.OptOutPortal;

/// <summary>The consumer opt-out portal at <c>/optout</c>, bound from <c>Uid2:OptOutPortal</c>.</summary>
public sealed class OptOutPortalOptions
{
    public const string Section = "Uid2:OptOutPortal";

    /// <summary>Serve the portal at <c>/optout</c> (404 when false).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a one-time code stays valid.</summary>
    public int CodeLifetimeMinutes { get; set; } = 10;

    /// <summary>Wrong codes accepted before the code is void and a new one must be requested.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Codes sent to one email or phone per <see cref="IdentityWindowMinutes"/>.</summary>
    public int CodesPerIdentity { get; set; } = 3;

    public int IdentityWindowMinutes { get; set; } = 60;

    /// <summary>Form submissions (send a code, confirm a code) accepted from one client IP per <see cref="IpWindowMinutes"/>.</summary>
    public int RequestsPerIp { get; set; } = 20;

    public int IpWindowMinutes { get; set; } = 10;

    /// <summary>Verifications waiting for their code, at most (memory bound); beyond it new requests are asked to retry later.</summary>
    public int MaxPendingVerifications { get; set; } = 100_000;

    public SmtpOptions Smtp { get; set; } = new();

    public void Validate()
    {
        Check(CodeLifetimeMinutes is >= 1 and <= 60, "CodeLifetimeMinutes must be 1–60");
        Check(MaxAttempts is >= 1 and <= 20, "MaxAttempts must be 1–20");
        Check(CodesPerIdentity >= 1 && IdentityWindowMinutes >= 1, "CodesPerIdentity and IdentityWindowMinutes must be at least 1");
        Check(RequestsPerIp >= 1 && IpWindowMinutes >= 1, "RequestsPerIp and IpWindowMinutes must be at least 1");
        Check(MaxPendingVerifications >= 1, "MaxPendingVerifications must be at least 1");
        Check(Smtp.Port is > 0 and < 65536, "Smtp:Port must be a TCP port");
        Check(string.IsNullOrEmpty(Smtp.Host) || !string.IsNullOrWhiteSpace(Smtp.Sender), "Smtp:Sender (the From address) is required with Smtp:Host");
        Check(string.IsNullOrEmpty(Smtp.Username) == string.IsNullOrEmpty(Smtp.Password), "Smtp:Username and Smtp:Password go together");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok) throw new InvalidOperationException($"{Section}: {message}.");
    }
}

/// <summary>Where the portal's emails go out. No host = not configured (Development writes codes to the console; Production refuses email).</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    /// <summary>
    /// <c>StartTls</c> (default: the server must offer STARTTLS), <c>SslOnConnect</c> (port 465), <c>StartTlsWhenAvailable</c>,
    /// or <c>None</c> (plain text: only for a relay on the same host).
    /// </summary>
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>The From address, e.g. <c>UID2 opt-out &lt;no-reply@example.com&gt;</c>.</summary>
    public string? Sender { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    public int TimeoutSeconds { get; set; } = 30;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}

public enum SmtpSecurity
{
    StartTls,
    SslOnConnect,
    StartTlsWhenAvailable,
    None,
}
