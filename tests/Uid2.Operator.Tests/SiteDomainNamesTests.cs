using Uid2.Core.ClientSide;

namespace Uid2.Operator.Tests;

/// <summary>The CSTG origin rule: registrable domain (built-in two-level suffixes) against the site's names; loopback always.</summary>
public sealed class SiteDomainNamesTests
{
    private static readonly string[] Allowed = ["examplewebsite.com", "e-wb.org", "aussiedomain.id.au", "bbc.co.uk"];

    // The reference operator's DomainNameCheckUtilTest success cases, plus two-level suffixes.
    [Theory]
    [InlineData("http://examplewebsite.com")]
    [InlineData("https://examplewebsite.com")]
    [InlineData("https://abc.examplewebsite.com:8080")]
    [InlineData("https://abc.examplewebsite.com:8080/")]
    [InlineData("https://abc.eXampleWebsIte.com:8080/")]
    [InlineData("https://abc.exAmplewEbsite.com:8080/blahh/a.html")]
    [InlineData("http://e-wb.org")]
    [InlineData("https://abc.e-wb.org:8080/blahh/a.html")]
    [InlineData("http://aussiedomain.id.au")]
    [InlineData("https://aussiedomain.id.au/head.html")]
    [InlineData("https://news.bbc.co.uk")]
    [InlineData("https://a.b.news.bbc.co.uk")]
    [InlineData("http://localhost")]
    [InlineData("https://localhost:8080/")]
    [InlineData("https://abc.locaLHost:8080/")]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://[::1]:5000")]
    public void Allowed_origins(string origin) => Assert.True(SiteDomainNames.IsOriginAllowed(origin, Allowed), origin);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("examplewebsite.com")]
    [InlineData("examplewebsite.com:999999")]
    [InlineData("abc:examplewebsite.com")]
    [InlineData("/:$2231examplewebsite.com")]
    [InlineData("http://boohoo.id.au")]
    [InlineData("https://blah12.com")]
    [InlineData("http://123.boohoo.id.au")]
    [InlineData("https://examplewebsite.com.evil.net")]
    [InlineData("https://co.uk")]
    [InlineData("https://evil.co.uk")]
    [InlineData("ftp://examplewebsite.com")]
    [InlineData("https://10.0.0.1")]
    [InlineData("https://exa_mple.com")]
    public void Refused_origins(string? origin) => Assert.False(SiteDomainNames.IsOriginAllowed(origin, Allowed), origin ?? "(null)");

    [Theory]
    [InlineData("www.example.com", "example.com")]
    [InlineData("example.com", "example.com")]
    [InlineData("a.b.c.example.org", "example.org")]
    [InlineData("shop.example.com.au", "example.com.au")]
    [InlineData("x.y.example.co.jp", "example.co.jp")]
    [InlineData("localhost", "localhost")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("co.uk", "co.uk")]
    public void Registrable_domain(string host, string expected) => Assert.Equal(expected, SiteDomainNames.RegistrableDomain(host));

    [Theory]
    [InlineData("Example.COM", "example.com")]
    [InlineData(" example.co.uk. ", "example.co.uk")]
    [InlineData("localhost", "localhost")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    public void Valid_site_domain_names(string input, string expected)
    {
        Assert.True(SiteDomainNames.TryNormalizeSiteDomainName(input, out var name, out var error), error);
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("www.example.com")]
    [InlineData("co.uk")]
    [InlineData("com")]
    [InlineData("")]
    [InlineData("a..b.com")]
    [InlineData("-a.com")]
    [InlineData("a-.com")]
    [InlineData("1.2.3")]
    [InlineData("256.1.1.1")]
    [InlineData("http://example.com")]
    [InlineData("exa mple.com")]
    public void Invalid_site_domain_names(string input) =>
        Assert.False(SiteDomainNames.TryNormalizeSiteDomainName(input, out _, out _), input);
}
