using System.Globalization;
using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Auth;
using Uid2.Operator.Protocol;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Admin;

/// <summary>
/// The JSON admin API under <c>/admin/api</c>: what the admin page does, for scripts. Authenticated with an admin
/// credential as a bearer token (no cookie: a browser cannot be made to call it); a publisher's key answers 403.
/// Refusals come in the protocol's shape (<c>{"status":"client_error","message":…}</c>): 400 bad input, 404 unknown
/// target, 409 conflict. Every write goes through <see cref="AdminService"/> (audited) and is served at once by this instance.
/// </summary>
public static class AdminApiEndpoints
{
    public static void MapAdminApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/admin/api").AddEndpointFilter(RequireAdminAsync);
        api.MapGet("/participants", (HttpContext http, AdminService admin, CancellationToken ct) => ReadAsync(http, admin, ct, (snapshot, _, w) =>
        {
            var q = http.Request.Query["q"].ToString();
            w.WriteStartArray("participants");
            foreach (var p in AdminViews.Search(snapshot, q)) AdminViews.WriteParticipant(w, p, snapshot, withDetails: false);
            w.WriteEndArray();
        }));
        api.MapGet("/participants/{siteId:int}", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            ReadAsync(http, admin, ct, (snapshot, _, w) =>
            {
                var p = snapshot.Participants.FirstOrDefault(x => x.SiteId == siteId)
                        ?? throw new AdminException(AdminErrorKind.NotFound, $"No participant with site id {siteId}.");
                w.WritePropertyName("participant");
                AdminViews.WriteParticipant(w, p, snapshot, withDetails: true);
            }));
        api.MapPost("/participants", (HttpContext http, AdminService admin, CancellationToken ct) => WriteAsync(http, admin, ct, async (body, actor, w) =>
        {
            var (_, key, _) = await admin.CreateParticipantAsync(actor, Text(body, "name"), Int(body, "site_id"), RolesOf(body, "roles"), ct);
            AdminViews.WriteIssued(w, key);
        }));
        api.MapPost("/participants/{siteId:int}/enable", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (_, actor, _) => await admin.SetParticipantEnabledAsync(actor, siteId, true, ct)));
        api.MapPost("/participants/{siteId:int}/disable", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (_, actor, _) => await admin.SetParticipantEnabledAsync(actor, siteId, false, ct)));
        api.MapPost("/participants/{siteId:int}/roles", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, _) => await admin.SetParticipantRolesAsync(actor, siteId, RolesOf(body, "roles"), ct)));
        api.MapPost("/participants/{siteId:int}/name", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, _) => await admin.SetParticipantNameAsync(actor, siteId, Text(body, "name"), ct)));
        api.MapPost("/participants/{siteId:int}/apikeys", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, w) =>
            {
                Role? roles = body.TryGetProperty("roles", out _) ? RolesOf(body, "roles") : null;
                AdminViews.WriteIssued(w, await admin.IssueApiKeyAsync(actor, siteId, roles, OptionalText(body, "name"), ct));
            }));
        // Key ids go in the body: they may hold '/' and '+' (the key alphabet), which a path segment would not carry intact.
        api.MapPost("/apikeys/revoke", (HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, _) => await admin.RevokeApiKeyAsync(actor, Text(body, "key_id"), ct)));
        api.MapPost("/apikeys/rotate-secret", (HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, w) =>
            {
                var keyId = Text(body, "key_id");
                var hours = body.TryGetProperty("overlap_hours", out var h) && h.ValueKind == JsonValueKind.Number && h.TryGetDouble(out var v) ? v
                    : AdminService.DefaultSecretOverlap.TotalHours;
                if (double.IsNaN(hours) || hours < 0 || hours > AdminService.MaxSecretOverlap.TotalHours)
                    throw new AdminException(AdminErrorKind.Invalid, $"overlap_hours must be between 0 and {AdminService.MaxSecretOverlap.TotalHours:0}.");
                var rotated = await admin.RotateClientSecretAsync(actor, keyId, TimeSpan.FromHours(hours), ct);
                w.WriteString("key_id", rotated.KeyId);
                w.WriteString("secret", rotated.ClientSecret);
                w.WriteNumber("previous_accepted_until", rotated.PreviousAcceptedUntil.ToUnixTimeMilliseconds());
            }));
        api.MapGet("/keys", (HttpContext http, AdminService admin, CancellationToken ct) => ReadAsync(http, admin, ct, (snapshot, now, w) =>
            AdminViews.WriteKeys(w, snapshot, now)));
        api.MapPost("/keysets/{siteId:int}/rotate", (int siteId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (_, actor, w) => w.WriteNumber("key_id", (await admin.RotateKeyAsync(actor, siteId, ct)).Id)));
        api.MapPost("/keys/{keyId:int}/retire", (int keyId, HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, w) =>
            {
                var revoke = body.TryGetProperty("revoke", out var r) && r.ValueKind == JsonValueKind.True;
                var added = await admin.RetireKeyAsync(actor, keyId, revoke, ct);
                w.WriteStartArray("added");
                foreach (var k in added) w.WriteNumberValue(k.Id);
                w.WriteEndArray();
            }));
        api.MapGet("/salts", async (HttpContext http, AdminService admin, Microsoft.Extensions.Options.IOptions<Configuration.OperatorOptions> options,
            CancellationToken ct) =>
        {
            var status = await admin.SaltStatusAsync(ct);
            return ProtocolResults.Json(ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartObject();
                if (status is not null) AdminViews.WriteSalts(w, status, options.Value.SaltRotation);
                w.WriteEndObject();
            }));
        });
        api.MapPost("/salts/rotate", (HttpContext http, AdminService admin, CancellationToken ct) =>
            WriteAsync(http, admin, ct, async (body, actor, w) =>
            {
                var fraction = body.TryGetProperty("fraction", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble()
                    : throw new AdminException(AdminErrorKind.Invalid, "fraction (a number between 0 and 1) is required.");
                w.WriteNumber("rotated", await admin.RotateSaltsAsync(actor, fraction, ct));
            }));
        api.MapPost("/optouts", (HttpContext http, AdminService admin, CancellationToken ct) => WriteAsync(http, admin, ct, async (body, actor, w) =>
        {
            var (kind, value) = Identity(body);
            var record = await admin.AddOptOutAsync(actor, kind!.Value, value, http.RequestServices.GetRequiredService<OperatorStateProvider>().Current.Scope, ct);
            w.WriteNumber("optout_id", record.Id);
            w.WriteNumber("since", record.Timestamp.ToUnixTimeMilliseconds());
        }));
        api.MapPost("/optouts/lookup", (HttpContext http, AdminService admin, CancellationToken ct) => WriteAsync(http, admin, ct, async (body, _, w) =>
        {
            var (kind, value) = Identity(body, allowRawUid: true);
            var found = await admin.LookupOptOutAsync(kind, value, ct);
            w.WriteBoolean("opted_out", found.OptedOut);
            if (found.Since is { } since) w.WriteNumber("since", since.ToUnixTimeMilliseconds());
        }, reload: false));
        api.MapGet("/audit", async (HttpContext http, AdminService admin, CancellationToken ct) =>
        {
            var limit = int.TryParse(http.Request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 1000) : 100;
            var entries = await admin.ListAuditAsync(limit, ct);
            return ProtocolResults.Json(ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartArray();
                foreach (var e in entries) AdminViews.WriteAudit(w, e);
                w.WriteEndArray();
            }));
        });
    }

    private static async ValueTask<object?> RequireAdminAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var state = http.RequestServices.GetRequiredService<OperatorStateProvider>().Current;
        var header = http.Request.Headers.Authorization;
        var outcome = AdminAuth.Authenticate(header.Count == 0 ? null : header[0], state, out var client);
        if (outcome != AuthOutcome.Authenticated || client is null) return ProtocolResults.Unauthorized();
        if (!client.Has(Role.Admin))
            return ProtocolResults.Error(StatusCodes.Status403Forbidden, Statuses.ClientError, "This API key is not an admin credential");
        http.Items[ActorKey] = "admin:" + client.Key.Name;
        return await next(context);
    }

    private const string ActorKey = "uid2.admin.actor";

    private static async Task<IResult> ReadAsync(HttpContext http, AdminService admin, CancellationToken ct, Action<StoreSnapshot, DateTimeOffset, Utf8JsonWriter> body)
    {
        var store = http.RequestServices.GetRequiredService<IUid2Store>();
        var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
        try
        {
            return ProtocolResults.Json(ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartObject();
                body(snapshot, admin.Now, w);
                w.WriteEndObject();
            }));
        }
        catch (AdminException ex)
        {
            return Refused(ex);
        }
    }

    private static async Task<IResult> WriteAsync(HttpContext http, AdminService admin, CancellationToken ct, Func<JsonElement, string, Utf8JsonWriter, Task> action,
        bool reload = true)
    {
        var bytes = await RequestBody.ReadAsync(http.Request, ct);
        if (bytes is null) return ProtocolResults.BodyTooLarge();
        JsonElement body = default;
        if (bytes.Length > 0 && (!JsonPayload.TryParse(bytes, out body) || body.ValueKind != JsonValueKind.Object))
            return ProtocolResults.ClientError("The body must be a JSON object");
        if (bytes.Length == 0) body = JsonDocument.Parse("{}").RootElement;
        try
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                await action(body, (string)http.Items[ActorKey]!, w);
                w.WriteEndObject();
            }
            if (reload) await http.RequestServices.GetRequiredService<OperatorStateProvider>().ReloadAsync(ct);
            var json = buffer.ToArray();
            return ProtocolResults.Json(ProtocolResults.SuccessJson(w => w.WriteRawValue(json)));
        }
        catch (AdminException ex)
        {
            return Refused(ex);
        }
    }

    private static IResult Refused(AdminException ex) => ProtocolResults.Error(ex.Kind switch
    {
        AdminErrorKind.NotFound => StatusCodes.Status404NotFound,
        AdminErrorKind.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status400BadRequest,
    }, Statuses.ClientError, ex.Message);

    private static string Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new AdminException(AdminErrorKind.Invalid, $"{name} (a string) is required.");

    private static string? OptionalText(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int Int(JsonElement body, string name) =>
        body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i
            : throw new AdminException(AdminErrorKind.Invalid, $"{name} (an integer) is required.");

    private static Role RolesOf(JsonElement body, string name) => AdminViews.ParseRoles(Text(body, name));

    private static (DiiKind? Kind, string Value) Identity(JsonElement body, bool allowRawUid = false)
    {
        var given = new List<(DiiKind? Kind, string Value)>();
        foreach (var kind in IdentityKinds.All)
            if (OptionalText(body, IdentityKinds.Of(kind).ParameterName) is { } v) given.Add((kind, v));
        if (allowRawUid && OptionalText(body, "raw_uid") is { } raw) given.Add((null, raw));
        if (given.Count != 1)
            throw new AdminException(AdminErrorKind.Invalid,
                "Give exactly one of email, email_hash, phone, phone_hash" + (allowRawUid ? ", raw_uid." : "."));
        return given[0];
    }
}
