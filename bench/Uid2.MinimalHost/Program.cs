// The load test's baseline (issue "The hot path"): the smallest JSON endpoint Kestrel serves with the operator's host
// settings (OperatorApp.ConfigureKestrel, Production, warnings-only logging): it reads a body the size of a v2 envelope
// and answers a JSON object the size of a generate reply, with nothing else. The operator's endpoints are compared with it
// in the same run. GET /alloc: bytes this process allocated so far (the load test's allocations per request); GET /cpu:
// the CPU seconds (user + system) it used so far (the load test's CPU per request).
using System.Text.Json.Serialization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(Uid2.Operator.OperatorApp.ConfigureKestrel);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, MinimalJson.Default));
var app = builder.Build();

var token = new string('A', 160);
app.MapPost("/minimal", async (HttpRequest request) =>
{
    var buffer = new byte[4096];
    while (await request.Body.ReadAsync(buffer) > 0) { }
    return Results.Json(new MinimalReply("success", new MinimalBody(token, token, 1_700_000_000_000)), MinimalJson.Default.MinimalReply);
});
app.MapGet("/alloc", () => GC.GetTotalAllocatedBytes(precise: true).ToString(System.Globalization.CultureInfo.InvariantCulture));
app.MapGet("/cpu", () => Environment.CpuUsage.TotalTime.TotalSeconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
app.Run();

internal sealed record MinimalBody(
    [property: JsonPropertyName("advertising_token")] string AdvertisingToken,
    [property: JsonPropertyName("refresh_token")] string RefreshToken,
    [property: JsonPropertyName("identity_expires")] long IdentityExpires);

internal sealed record MinimalReply([property: JsonPropertyName("status")] string Status, [property: JsonPropertyName("body")] MinimalBody Body);

[JsonSerializable(typeof(MinimalReply))]
internal sealed partial class MinimalJson : JsonSerializerContext;
