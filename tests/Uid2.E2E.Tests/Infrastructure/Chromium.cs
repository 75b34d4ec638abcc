using Microsoft.Playwright;

namespace Uid2.E2E.Tests.Infrastructure;

/// <summary>
/// The system's headless Chromium (/usr/bin/chromium from Debian's package) driven by Playwright; Playwright never downloads a
/// browser here. Each <see cref="LaunchAsync"/> is a fresh browser with a new empty profile (cookies, localStorage).
/// A missing Chromium fails the test with instructions, unless UID2_SKIP_BROWSER=1 skips browser tests on purpose.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Args =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private Chromium(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    public static void RequireBrowser()
    {
        Skip.If(Environment.GetEnvironmentVariable("UID2_SKIP_BROWSER") == "1", "UID2_SKIP_BROWSER=1: browser tests skipped");
        if (!File.Exists(ExecutablePath))
            throw new InvalidOperationException(
                $"{ExecutablePath} not found: the end-to-end tests need Chromium (Debian: apt-get install -y chromium). " +
                "Set UID2_SKIP_BROWSER=1 to skip them deliberately.");
    }

    public static async Task<Chromium> LaunchAsync()
    {
        RequireBrowser();
        var profile = Path.Combine(Path.GetTempPath(), "uid2-e2e-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Args,
                ViewportSize = new ViewportSize { Width = 1100, Height = 1000 },
                Timeout = 60_000,
            });
            context.SetDefaultTimeout(20_000);
            return new Chromium(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Saves a full-page screenshot as <paramref name="name"/>.png: into docs/screenshots (the README's pictures) only
    /// when <c>UID2_UPDATE_SCREENSHOTS=1</c>, else into the test's output folder, so a test run never rewrites tracked files.
    /// </summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var dir = Environment.GetEnvironmentVariable("UID2_UPDATE_SCREENSHOTS") == "1"
            ? Repo.Path("docs", "screenshots")
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name + ".png"), FullPage = true });
    }
}
