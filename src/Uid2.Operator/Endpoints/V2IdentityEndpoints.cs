using System.Globalization;
using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>Advertiser and data-provider endpoints: identity map (v2 and v3), rotated buckets, opt-out status.</summary>
public static class V2IdentityEndpoints
{
    public const int MaxOptOutStatusIds = 5_000;

    public static void MapV2Identity(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v2/identity/map", MapV2).WithTags("v2");
        app.MapPost("/v3/identity/map", MapV3).WithTags("v3");
        app.MapPost("/v2/identity/buckets", Buckets).WithTags("v2");
        app.MapPost("/v2/optout/status", OptOutStatus).WithTags("v2");
    }

    private const string MixedMissingMessage = "Required Parameter Missing: one or more of [email, email_hash, phone, phone_hash] must be specified";
    private const string IncorrectFormatMessage = "Incorrect request format";
    private const string OneArrayMessage = "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified";

    private static Task<IResult> MapV2(HttpContext http, OperatorStateProvider state, TimeProvider time, IdentityMapService mapper) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Mapper, call =>
        {
            // As the reference: each field present must be an array; at most one may be non-empty; all empty (or
            // absent but one) maps nothing. No item limit: the body size limit bounds a batch.
            DiiKind? kind = null;
            List<string?>? values = null;
            var anyPresent = false;
            if (call.Payload.ValueKind == JsonValueKind.Object)
            {
                foreach (var k in DiiKindExtensions.All)
                {
                    if (!call.Payload.TryGetProperty(k.ParameterName(), out var a) || a.ValueKind == JsonValueKind.Null) continue;
                    if (a.ValueKind != JsonValueKind.Array) return Fail($"{k.ParameterName()} must be an array");
                    anyPresent = true;
                    if (a.GetArrayLength() == 0) continue;
                    if (kind is not null) return Fail(OneArrayMessage);
                    kind = k;
                    TryReadStrings(a, out values, out _);
                }
            }
            if (!anyPresent) return Fail(OneArrayMessage);
            kind ??= DiiKind.Email;
            values ??= [];

            var batch = mapper.Map(call.State, kind.Value, values, time.GetUtcNow());
            return Ok(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("mapped"u8);
                Span<byte> bucket = stackalloc byte[16]; // the bucket id's decimal digits, without a string per identity
                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch.Outcome(i) != MapOutcome.Mapped) continue;
                    w.WriteStartObject();
                    w.WriteString("identifier"u8, values[i]);
                    w.WriteBase64String("advertising_id"u8, batch.RawUid(i));
                    System.Buffers.Text.Utf8Formatter.TryFormat(batch.Bucket(i).Id, bucket, out var digits);
                    w.WriteString("bucket_id"u8, bucket[..digits]);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (!batch.AllMapped)
                {
                    w.WriteStartArray("unmapped"u8);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var outcome = batch.Outcome(i);
                        if (outcome == MapOutcome.Mapped) continue;
                        w.WriteStartObject();
                        w.WriteString("identifier"u8, values[i]);
                        w.WriteString("reason"u8, outcome == MapOutcome.OptOut ? "optout"u8 : "invalid identifier"u8);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }, batch);
        });

    private static Task<IResult> MapV3(HttpContext http, OperatorStateProvider state, TimeProvider time, IdentityMapService mapper) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Mapper, call =>
        {
            // As the reference: no payload or {} is a missing parameter; an unknown field, a field that is not an
            // array, or a null or non-scalar item is "Incorrect request format"; a null field is an empty one.
            if (call.Payload.ValueKind != JsonValueKind.Object || !call.Payload.EnumerateObject().Any()) return Fail(MixedMissingMessage);
            var inputs = new List<(DiiKind Kind, List<string?> Values)>(4);
            foreach (var property in call.Payload.EnumerateObject())
            {
                if (!IsDiiField(property.Name)) return Fail(IncorrectFormatMessage);
                if (property.Value.ValueKind == JsonValueKind.Null) continue;
                if (property.Value.ValueKind != JsonValueKind.Array) return Fail(IncorrectFormatMessage);
                foreach (var item in property.Value.EnumerateArray())
                    if (item.ValueKind is JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array) return Fail(IncorrectFormatMessage);
            }
            foreach (var k in DiiKindExtensions.All)
            {
                if (!call.Payload.TryGetProperty(k.ParameterName(), out var a) || a.ValueKind == JsonValueKind.Null) continue;
                TryReadStrings(a, out var values, out _);
                inputs.Add((k, values));
            }

            var now = time.GetUtcNow();
            var nowMs = now.ToUnixTimeMilliseconds();
            var mapped = new Batches(inputs.Count);
            foreach (var (kind, values) in inputs) mapped.Add((kind, mapper.Map(call.State, kind, values, now, withPrevious: true)));
            return Ok(w =>
            {
                w.WriteStartObject();
                foreach (var k in DiiKindExtensions.All)
                {
                    w.WriteStartArray(k.ParameterName());
                    foreach (var (kind, batch) in mapped)
                    {
                        if (kind != k) continue;
                        for (var i = 0; i < batch.Count; i++)
                        {
                            w.WriteStartObject();
                            var outcome = batch.Outcome(i);
                            if (outcome == MapOutcome.Mapped)
                            {
                                w.WriteBase64String("u"u8, batch.RawUid(i));
                                var previous = batch.PreviousRawUid(i);
                                if (!previous.IsEmpty) w.WriteBase64String("p"u8, previous);
                                else w.WriteNull("p"u8);
                                w.WriteNumber("r"u8, IdentityDeriver.RefreshFromMs(batch.Bucket(i), nowMs) / 1000);
                            }
                            else
                            {
                                w.WriteString("e"u8, outcome == MapOutcome.OptOut ? "optout"u8 : "invalid identifier"u8);
                            }
                            w.WriteEndObject();
                        }
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }, mapped);
        });

    /// <summary>The batches of one v3 request (one per kind), disposed together once the reply is sealed.</summary>
    private sealed class Batches(int capacity) : List<(DiiKind Kind, MapBatch Batch)>(capacity), IDisposable
    {
        public void Dispose()
        {
            foreach (var (_, batch) in this) batch.Dispose();
        }
    }

    private static Task<IResult> Buckets(HttpContext http, OperatorStateProvider state, TimeProvider time) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Mapper, call =>
        {
            if (call.Payload.ValueKind != JsonValueKind.Object
                || !call.Payload.TryGetProperty("since_timestamp", out var sinceElement)
                || sinceElement.ValueKind != JsonValueKind.String)
                return Fail("Required Parameter Missing: since_timestamp");
            if (!DateTime.TryParseExact(sinceElement.GetString(), ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF"],
                    CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var since))
                return Fail("Invalid since_timestamp: expected yyyy-MM-ddTHH:mm:ss (UTC)");
            var sinceMs = new DateTimeOffset(since, TimeSpan.Zero).ToUnixTimeMilliseconds();
            var salts = call.State.Salts;
            return Ok(ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartArray();
                if (salts is not null)
                {
                    foreach (var bucket in salts.Buckets)
                    {
                        if (bucket.LastUpdatedMs < sinceMs) continue;
                        w.WriteStartObject();
                        w.WriteString("bucket_id", BucketIds.Format(bucket.Id));
                        w.WriteString("last_updated",
                            DateTimeOffset.FromUnixTimeMilliseconds(bucket.LastUpdatedMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture));
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
            }));
        });

    private static Task<IResult> OptOutStatus(HttpContext http, OperatorStateProvider state, TimeProvider time) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Mapper | Role.Sharer | Role.IdReader, call =>
        {
            if (call.Payload.ValueKind != JsonValueKind.Object) return Fail("Invalid request body");
            if (!call.Payload.TryGetProperty("advertising_ids", out var idsElement) || idsElement.ValueKind == JsonValueKind.Null)
                return Fail("Required Parameter Missing: advertising_ids");
            if (!TryReadStrings(idsElement, out var ids, out _)) return Fail("advertising_ids must be an array");
            if (ids.Count > MaxOptOutStatusIds) return Fail("Request payload is too large");

            // As the reference, each id is looked up on its own: one that is not the base64 (standard or URL-safe)
            // of a raw UID2 is simply not opted out, and never fails the others.
            Span<byte> raw = stackalloc byte[48];
            var optedOut = new List<(string Id, long Since)>();
            foreach (var id in ids)
            {
                if (id is null || !TryDecodeRawUid(id, raw, out var length)) continue;
                if (state.OptOuts.IsAdvertisingIdOptedOut(raw[..length], out var since))
                    optedOut.Add((id, since.ToUnixTimeMilliseconds()));
            }
            return Ok(ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("opted_out");
                foreach (var (id, since) in optedOut)
                {
                    w.WriteStartObject();
                    w.WriteString("advertising_id", id);
                    w.WriteNumber("opted_out_since", since);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }));
        });

    /// <summary>Reads a JSON array of strings; a non-string item is kept as null (reported as an invalid identifier).</summary>
    private static bool TryReadStrings(JsonElement array, out List<string?> values, out string? error)
    {
        values = [];
        if (array.ValueKind != JsonValueKind.Array)
        {
            error = "Identifiers must be given as a JSON array of strings";
            return false;
        }
        values.Capacity = array.GetArrayLength();
        foreach (var item in array.EnumerateArray())
            values.Add(item.ValueKind == JsonValueKind.String ? item.GetString() : null);
        error = null;
        return true;
    }

    private static bool IsDiiField(string name)
    {
        foreach (var k in DiiKindExtensions.All)
            if (k.ParameterName() == name) return true;
        return false;
    }

    /// <summary>Decodes a raw UID2 (32 or 33 bytes) given in standard or URL-safe base64.</summary>
    private static bool TryDecodeRawUid(string id, Span<byte> raw, out int length)
    {
        length = 0;
        if (id.Length is < 40 or > 48) return false;
        if (Convert.TryFromBase64String(id, raw, out length)) return length is 32 or 33;
        return System.Buffers.Text.Base64Url.IsValid(id) && System.Buffers.Text.Base64Url.TryDecodeFromChars(id, raw, out length)
            && length is 32 or 33;
    }

    private static ValueTask<V2Reply> Fail(string message) => ValueTask.FromResult(V2Reply.Fail(ProtocolResults.ClientError(message)));

    private static ValueTask<V2Reply> Ok(byte[] json) => ValueTask.FromResult(V2Reply.Encrypt(json));

    private static ValueTask<V2Reply> Ok(Action<Utf8JsonWriter> writeBody, IDisposable? owned = null) =>
        ValueTask.FromResult(V2Reply.Success(writeBody, owned));
}
