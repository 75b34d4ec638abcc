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
/// Key distribution for SSPs, DSPs and sharers, as the reference distributes them: master keys always; a site's own keys;
/// another site's keys when its keyset allows the caller (listed, or of an allowed type) or, with no allowance list, when
/// the caller is an ID_READER (DSPs read every publisher's bidstream tokens). Refresh keys are never distributed.
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
    public static IEnumerable<EncryptionKey> AccessibleKeys(OperatorState state, AuthenticatedClient client)
    {
        var idReader = client.Has(Role.IdReader);
        return state.Keys.All
            .Where(k => state.Sharing.CanAccess(k.SiteId, client.SiteId, idReader))
            .OrderBy(k => k.Id);
    }

    private static Task<IResult> Sharing(HttpContext http, OperatorStateProvider state, TimeProvider time, IOptions<OperatorOptions> options) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Sharer | Role.IdReader, call =>
        {
            var o = options.Value;
            var client = call.Client;
            var now = time.GetUtcNow();
            var hasOwnKeyset = call.State.Sharing.SettingsOf(client.SiteId).Enabled && call.State.Keys.GetActiveKey(client.SiteId, now) is not null;
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
                var keys = AccessibleKeys(call.State, client).ToList();
                WriteKeys(w, keys, k =>
                    k.SiteId == ReservedSites.Master ? MasterKeysetId : k.SiteId == client.SiteId ? client.SiteId : null);
                WriteSiteData(w, call.State, keys, options.Value.KeySharingEndpointProvideAppNames);
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
                var keys = AccessibleKeys(call.State, call.Client).ToList();
                WriteKeys(w, keys, _ => null);
                WriteSiteData(w, call.State, keys, options.Value.KeySharingEndpointProvideAppNames);
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
                foreach (var k in AccessibleKeys(call.State, call.Client))
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
    /// domain names (and app names, listed among them, unless <paramref name="withAppNames"/> is off), limited (as the
    /// reference does) to sites whose keys the caller receives: SDKs use it to check the domain or app name of
    /// client-side generated tokens they decrypt.
    /// </summary>
    private static void WriteSiteData(Utf8JsonWriter w, OperatorState state, IReadOnlyList<EncryptionKey> keys, bool withAppNames)
    {
        w.WriteStartArray("site_data");
        var siteData = state.ClientSide.SiteData;
        if (siteData.Count > 0)
        {
            var keySites = keys.Select(k => k.SiteId).ToHashSet();
            foreach (var site in siteData)
            {
                if (!keySites.Contains(site.SiteId) || (site.DomainNames.Count == 0 && !withAppNames)) continue;
                w.WriteStartObject();
                w.WriteNumber("id", site.SiteId);
                w.WriteStartArray("domain_names");
                foreach (var name in site.Names(withAppNames)) w.WriteStringValue(name);
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
