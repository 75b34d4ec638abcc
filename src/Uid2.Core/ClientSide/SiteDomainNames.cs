using System.Collections.Frozen;
using System.Net;
using System.Net.Sockets;

namespace Uid2.Core.ClientSide;

/// <summary>
/// Domain names of a site for client-side token generation: validation of the names a site registers, and the check
/// of a browser's <c>Origin</c> against them.
/// <para>
/// The check compares the <em>registrable domain</em> (public suffix + one label) of the origin's host with the site's
/// names, as the reference operator does with the full Public Suffix List. This is a small built-in rule instead:
/// the last two labels of the host (<c>www.example.com</c> → <c>example.com</c>), or the last three when the last two are
/// a well-known two-level public suffix from <see cref="TwoLevelPublicSuffixes"/> (<c>news.bbc.co.uk</c> →
/// <c>bbc.co.uk</c>, <c>shop.example.com.au</c> → <c>example.com.au</c>). Private suffixes (github.io…) are not
/// known: all their sites share one registrable domain. Origins on <c>localhost</c> (and <c>*.localhost</c>),
/// <c>127.0.0.1</c> and <c>[::1]</c> are always allowed: only a page on the user's own machine has them.
/// </para>
/// </summary>
public static class SiteDomainNames
{
    /// <summary>The well-known two-level public suffixes the registrable-domain rule knows.</summary>
    public static readonly FrozenSet<string> TwoLevelPublicSuffixes = BuildSuffixes(new Dictionary<string, string>
    {
        ["ae"] = "ac co gov net org",
        ["ar"] = "com edu gob int net org tur",
        ["au"] = "asn com edu gov id net org",
        ["br"] = "app art blog com eco edu gov ind net org tv",
        ["cn"] = "ac com edu gov net org",
        ["co"] = "com edu gov net org",
        ["ec"] = "com gob net org",
        ["eg"] = "com edu gov net org",
        ["es"] = "com edu gob nom org",
        ["gr"] = "com edu gov net org",
        ["hk"] = "com edu gov idv net org",
        ["id"] = "ac biz co go my net or sch web",
        ["il"] = "ac co gov muni net org",
        ["in"] = "ac co edu firm gen gov ind net org res",
        ["jp"] = "ac ad co ed go gr lg ne or",
        ["ke"] = "ac co go ne or",
        ["kr"] = "ac co go ne or pe re",
        ["mx"] = "com edu gob net org",
        ["my"] = "com edu gov name net org",
        ["ng"] = "com edu gov net org",
        ["nz"] = "ac co gen geek govt kiwi maori net org school",
        ["pe"] = "com edu gob net org",
        ["ph"] = "com edu gov net org",
        ["pk"] = "com edu gov net org",
        ["pl"] = "biz com info net org waw",
        ["pt"] = "com edu gov org",
        ["ru"] = "com net org",
        ["sa"] = "com edu gov net org",
        ["sg"] = "com edu gov net org per",
        ["th"] = "ac co go in net or",
        ["tr"] = "av bel biz com dr edu gen gov info net org tv web",
        ["tw"] = "com edu gov idv net org",
        ["ua"] = "com in kiev net org",
        ["uk"] = "ac co gov ltd me net nhs org plc police sch",
        ["uy"] = "com net org",
        ["ve"] = "com net org",
        ["vn"] = "com edu gov net org",
        ["za"] = "ac co edu gov net org web",
    });

    private static FrozenSet<string> BuildSuffixes(Dictionary<string, string> byTld) =>
        byTld.SelectMany(kv => kv.Value.Split(' ').Select(second => second + "." + kv.Key)).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// Lower-cases and validates a host name (ASCII labels of letters, digits and hyphens, 1–63 characters, not starting
    /// or ending with a hyphen, at most 253 in all; a trailing dot is dropped) or an IPv4 address.
    /// </summary>
    public static bool TryNormalizeHost(string? text, out string host)
    {
        host = "";
        if (text is null) return false;
        var candidate = text.Trim().ToLowerInvariant();
        if (candidate.EndsWith('.')) candidate = candidate[..^1];
        if (candidate.Length is 0 or > 253) return false;
        if (IsIPv4(candidate))
        {
            host = candidate;
            return true;
        }
        foreach (var label in candidate.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c == '-')) return false;
        }
        // A host name whose last label is numeric would be read as an address by browsers.
        if (candidate[(candidate.LastIndexOf('.') + 1)..].All(char.IsAsciiDigit)) return false;
        host = candidate;
        return true;
    }

    /// <summary>The registrable domain of a normalized host (see the class remarks); an IP address or one-label host is returned as is.</summary>
    public static string RegistrableDomain(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (IsIPv4(host)) return host;
        var labels = host.Split('.');
        if (labels.Length <= 2) return host;
        var lastTwo = labels[^2] + "." + labels[^1];
        var take = TwoLevelPublicSuffixes.Contains(lastTwo) ? 3 : 2;
        return string.Join('.', labels[^take..]);
    }

    /// <summary>Whether a normalized host is the user's own machine: localhost, *.localhost, 127.0.0.1 or ::1.</summary>
    public static bool IsLoopbackHost(string host) =>
        host is "localhost" or "127.0.0.1" or "::1" or "[::1]" || host.EndsWith(".localhost", StringComparison.Ordinal);

    /// <summary>
    /// Validates a domain name a site registers: a host name that is its own registrable domain (<c>example.com</c>, not
    /// <c>www.example.com</c> nor a public suffix such as <c>co.uk</c>), <c>localhost</c> or an IPv4 address.
    /// </summary>
    public static bool TryNormalizeSiteDomainName(string? text, out string name, out string? error)
    {
        name = "";
        if (!TryNormalizeHost(text, out var host))
        {
            error = $"'{text}' is not a valid host name.";
            return false;
        }
        if (host == "localhost" || IsIPv4(host))
        {
            name = host;
            error = null;
            return true;
        }
        if (!host.Contains('.') || TwoLevelPublicSuffixes.Contains(host))
        {
            error = $"'{host}' is a public suffix, not a domain name.";
            return false;
        }
        var registrable = RegistrableDomain(host);
        if (registrable != host)
        {
            error = $"'{host}' is not a registrable domain: origins are matched on their registrable domain, so use '{registrable}'.";
            return false;
        }
        name = host;
        error = null;
        return true;
    }

    /// <summary>
    /// Reads the host of an <c>Origin</c> header (<c>scheme://host[:port]</c>, http or https). False for a missing,
    /// opaque (<c>null</c>) or malformed origin.
    /// </summary>
    public static bool TryGetOriginHost(string? origin, out string host)
    {
        host = "";
        if (string.IsNullOrWhiteSpace(origin)) return false;
        if (!Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri)) return false;
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return false;
        if (uri.HostNameType == UriHostNameType.IPv6)
        {
            host = uri.Host.ToLowerInvariant();
            return true;
        }
        // Browsers send IDNs in their ASCII (punycode) form already; IdnHost converts any that are not.
        return TryNormalizeHost(uri.IdnHost, out host);
    }

    /// <summary>
    /// Whether a browser <c>Origin</c> may call CSTG for a site with <paramref name="domainNames"/> (normalized, see
    /// <see cref="TryNormalizeSiteDomainName"/>): loopback origins always; otherwise the origin host's registrable domain
    /// (or, for an IP address, the address) must be one of the names.
    /// </summary>
    public static bool IsOriginAllowed(string? origin, IReadOnlyCollection<string> domainNames)
    {
        ArgumentNullException.ThrowIfNull(domainNames);
        if (!TryGetOriginHost(origin, out var host)) return false;
        if (IsLoopbackHost(host)) return true;
        var registrable = RegistrableDomain(host);
        foreach (var name in domainNames)
            if (string.Equals(name, registrable, StringComparison.Ordinal)) return true;
        return false;
    }

    private static bool IsIPv4(string text) =>
        text.Count(c => c == '.') == 3 && text.All(c => c == '.' || char.IsAsciiDigit(c))
        && IPAddress.TryParse(text, out var address) && address.AddressFamily == AddressFamily.InterNetwork
        && address.ToString() == text;
}
