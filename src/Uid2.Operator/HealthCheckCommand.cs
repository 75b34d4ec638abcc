namespace Uid2.Operator;

/// <summary>
/// <c>dotnet Uid2.Operator.dll healthcheck [--url URL]</c>: asks a running operator's <c>/ops/healthcheck</c> and exits
/// 0 for 200, 1 otherwise, with one line of output. For container health checks: the runtime image has no curl, wget or
/// a shell that can open a TCP socket, but it has dotnet. It builds no web host and touches no store.
/// </summary>
public static class HealthCheckCommand
{
    public const string Name = "healthcheck";
    public const string DefaultUrl = "http://127.0.0.1:8080/ops/healthcheck";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var url = DefaultUrl;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--url" && i + 1 < args.Length) url = args[++i];
            else
            {
                await output.WriteLineAsync($"usage: Uid2.Operator healthcheck [--url {DefaultUrl}]");
                return 2;
            }
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await output.WriteLineAsync($"unhealthy: '{url}' is not an http(s) URL");
            return 2;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(uri);
            var body = (await response.Content.ReadAsStringAsync()).ReplaceLineEndings(" ");
            var healthy = (int)response.StatusCode == 200;
            await output.WriteLineAsync($"{(healthy ? "healthy" : "unhealthy")}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
            return healthy ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"unhealthy: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }
}
