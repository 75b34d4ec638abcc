using System.Text.Json;
using Microsoft.Extensions.Options;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Operator.Auth;
using Uid2.Operator.Configuration;
using Uid2.Operator.Protocol;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// Key distribution for SSPs, DSPs and sharers. Access: master keys always; an ID_READER receives every publisher key
/// (what it needs to read the bidstream); a SHARER receives its own keys. Refresh keys are never distributed.
/// </summary>
public static class V2KeyEndpoints
{
    /// <summary>The id the protocol reports for the master keyset (-1 internally).</summary>
    public const int MasterKeysetId = Uid2.Storage.Keysets.MasterKeysetId;

    public const int AllowClockSkewSeconds = 1_800;

    public static void MapV2Keys(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v2/key/sharing", Sharing).WithTags("v2");
        app.MapPost("/v2/key/bidstream", Bidstream).WithTags("v2");
        app.MapPost("/v2/key/latest", Latest).WithTags("v2");
    }

    /// <summary>The keys a caller may hold, ordered by id.</summary>
    public static IEnumerable<EncryptionKey> AccessibleKeys(KeyRing keys, AuthenticatedClient client) =>
        keys.All
            .Where(k => k.SiteId != ReservedSites.Refresh)
            .Where(k => k.SiteId == ReservedSites.Master || k.SiteId == client.SiteId || client.Has(Role.IdReader))
            .OrderBy(k => k.Id);

    private static Task<IResult> Sharing(HttpContext http, OperatorStateProvider state, TimeProvider time, IOptions<OperatorOptions> options) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Sharer | Role.IdReader, call =>
        {
            var o = options.Value;
            var client = call.Client;
            var now = time.GetUtcNow();
            var hasOwnKeyset = call.State.Keys.GetActiveKey(client.SiteId, now) is not null;
            var json = ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("caller_site_id", client.SiteId);
                w.WriteNumber("master_keyset_id", MasterKeysetId);
                if (hasOwnKeyset) w.WriteNumber("default_keyset_id", client.SiteId);
                w.WriteString("token_expiry_seconds", o.SharingTokenExpirySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (client.Has(Role.Sharer)) w.WriteNumber("max_sharing_lifetime_seconds", o.SharingTokenExpirySeconds + 10);
                w.WriteString("identity_scope", call.State.Scope.ToString().ToUpperInvariant());
                w.WriteNumber("allow_clock_skew_seconds", AllowClockSkewSeconds);
                var keys = AccessibleKeys(call.State.Keys, client).ToList();
                WriteKeys(w, keys, k =>
                    k.SiteId == ReservedSites.Master ? MasterKeysetId : k.SiteId == client.SiteId ? client.SiteId : null);
                WriteSiteData(w, call.State, keys);
                w.WriteEndObject();
            });
            return ValueTask.FromResult(V2Reply.Encrypt(json));
        });

    private static Task<IResult> Bidstream(HttpContext http, OperatorStateProvider state, TimeProvider time, IOptions<OperatorOptions> options) =>
        V2Pipeline.HandleAsync(http, state, time, Role.IdReader, call =>
        {
            var json = ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("max_bidstream_lifetime_seconds", options.Value.IdentityTokenExpiresAfterSeconds + 10);
                w.WriteString("identity_scope", call.State.Scope.ToString().ToUpperInvariant());
                w.WriteNumber("allow_clock_skew_seconds", AllowClockSkewSeconds);
                var keys = AccessibleKeys(call.State.Keys, call.Client).ToList();
                WriteKeys(w, keys, _ => null);
                WriteSiteData(w, call.State, keys);
                w.WriteEndObject();
            });
            return ValueTask.FromResult(V2Reply.Encrypt(json));
        });

    private static Task<IResult> Latest(HttpContext http, OperatorStateProvider state, TimeProvider time) =>
        V2Pipeline.HandleAsync(http, state, time, Role.IdReader, call =>
        {
            var json = ProtocolResults.SuccessJson(w =>
            {
                w.WriteStartArray();
                foreach (var k in AccessibleKeys(call.State.Keys, call.Client))
                {
                    w.WriteStartObject();
                    WriteKeyFields(w, k);
                    w.WriteNumber("site_id", k.SiteId);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return ValueTask.FromResult(V2Reply.Encrypt(json));
        });

    private static void WriteKeys(Utf8JsonWriter w, IEnumerable<EncryptionKey> keys, Func<EncryptionKey, int?> keysetIdOf)
    {
        w.WriteStartArray("keys");
        foreach (var k in keys)
        {
            w.WriteStartObject();
            WriteKeyFields(w, k);
            if (keysetIdOf(k) is { } keysetId) w.WriteNumber("keyset_id", keysetId);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// <c>site_data</c> (§5.3): <c>[{"id":site,"domain_names":[sorted…]}]</c> for the sites with a CSTG key pair and
    /// domain names, limited (as the reference does) to sites whose keys the caller receives: SDKs use it to check the
    /// domain of client-side generated tokens they decrypt.
    /// </summary>
    private static void WriteSiteData(Utf8JsonWriter w, OperatorState state, IReadOnlyList<EncryptionKey> keys)
    {
        w.WriteStartArray("site_data");
        var siteData = state.ClientSide.SiteData;
        if (siteData.Count > 0)
        {
            var keySites = keys.Select(k => k.SiteId).ToHashSet();
            foreach (var site in siteData)
            {
                if (!keySites.Contains(site.SiteId)) continue;
                w.WriteStartObject();
                w.WriteNumber("id", site.SiteId);
                w.WriteStartArray("domain_names");
                foreach (var name in site.DomainNames) w.WriteStringValue(name);
                w.WriteEndArray();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
    }

    private static void WriteKeyFields(Utf8JsonWriter w, EncryptionKey k)
    {
        w.WriteNumber("id", k.Id);
        w.WriteNumber("created", k.Created.ToUnixTimeSeconds());
        w.WriteNumber("activates", k.Activates.ToUnixTimeSeconds());
        w.WriteNumber("expires", k.Expires.ToUnixTimeSeconds());
        w.WriteBase64String("secret", k.Secret);
    }
}
