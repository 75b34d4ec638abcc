using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Uid2.Operator.Tests.Infrastructure;

/// <summary>
/// Keeps everything an operator under test logs, at Debug, so <see cref="FindLeaks"/> can prove that no secret (API
/// key, client secret, encryption key, salt, CSTG private key) and no personal data (email, phone, their hashes) was
/// ever logged. Every <see cref="OperatorHost"/> captures, and checks when it is disposed, so the whole integration
/// suite is the scan's input.
/// </summary>
public sealed partial class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    /// <summary>
    /// The logged lines that hold one of <paramref name="secrets"/> (as a whole word of base64/URL-safe text) or
    /// look like an email address, a phone number, or a SHA-256 in hex; each with what it matched.
    /// </summary>
    /// <param name="personal">Personal data a test used (emails, phones, one-time codes): none may appear as a whole word, whatever its length.</param>
    public IReadOnlyList<string> FindLeaks(IEnumerable<string> secrets, IEnumerable<string>? personal = null)
    {
        var known = secrets.Where(s => s.Length >= 16).ToHashSet(StringComparer.Ordinal);
        var personalWords = (personal ?? []).Where(p => p.Length > 0).ToList();
        var leaks = new List<string>();
        foreach (var logged in _lines)
        {
            // URLs in logs are percent-encoded (user%40example.com): look at them decoded too.
            var line = logged.Contains('%') ? logged + " " + Uri.UnescapeDataString(logged) : logged;
            foreach (var word in Words().Split(line))
                if (word.Length >= 16 && known.Contains(word)) leaks.Add($"secret in: {line}");
            foreach (var p in personalWords)
                if (Regex.IsMatch(line, $@"(?<![A-Za-z0-9]){Regex.Escape(p)}(?![A-Za-z0-9])", RegexOptions.IgnoreCase)) leaks.Add($"personal data in: {line}");
            if (Email().IsMatch(line)) leaks.Add($"email in: {line}");
            if (Phone().IsMatch(line)) leaks.Add($"phone in: {line}");
            if (HexHash().IsMatch(line)) leaks.Add($"hex hash in: {line}");
        }
        return leaks;
    }

    [GeneratedRegex("[^A-Za-z0-9+/=_.-]+")]
    private static partial Regex Words();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex Email();

    [GeneratedRegex(@"(?<![\w+])\+\d{10,15}\b")]
    private static partial Regex Phone();

    [GeneratedRegex(@"\b[0-9a-fA-F]{64}\b")]
    private static partial Regex HexHash();

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            owner._lines.Enqueue($"[scope {category}] {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}
