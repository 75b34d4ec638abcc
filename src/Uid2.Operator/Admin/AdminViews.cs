using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Operator.Configuration;
using Uid2.Storage;

namespace Uid2.Operator.Admin;

/// <summary>What the admin page and the admin API show, computed once: searches, key states, ages, the salt schedule. Never a secret.</summary>
public static class AdminViews
{
    public static IEnumerable<Participant> Search(StoreSnapshot snapshot, string? query)
    {
        var q = query?.Trim() ?? "";
        return snapshot.Participants
            .Where(p => q.Length == 0 || p.Name.Contains(q, StringComparison.OrdinalIgnoreCase)
                                      || p.SiteId.ToString(System.Globalization.CultureInfo.InvariantCulture) == q
                                      || snapshot.ApiKeys.Any(k => k.SiteId == p.SiteId && k.KeyId.Equals(q, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(p => p.SiteId);
    }

    public static Role ParseRoles(string text)
    {
        var result = Role.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Roles.TryParseOne(part, out var role))
                throw new AdminException(AdminErrorKind.Invalid, $"Unknown role '{part}'.");
            result |= role;
        }
        if (result == Role.None) throw new AdminException(AdminErrorKind.Invalid, "Give at least one role.");
        return result;
    }

    /// <summary>The roles a participant may hold (ADMIN is for admin credentials only).</summary>
    public static IReadOnlyList<Role> ParticipantRoles { get; } =
        [Role.Generator, Role.Mapper, Role.IdReader, Role.Sharer, Role.Optout];

    public static DateTimeOffset? NextSaltRotation(SaltStatus status, SaltRotationOptions options) =>
        options.Enabled ? options.ToSchedule().NextAfter(status.Newest) : null;

    public static void WriteIssued(Utf8JsonWriter w, IssuedApiKey key)
    {
        w.WriteNumber("site_id", key.SiteId);
        w.WriteString("key_id", key.KeyId);
        w.WriteString("api_key", key.ApiKey);
        w.WriteString("secret", key.ClientSecret);
    }

    public static void WriteParticipant(Utf8JsonWriter w, Participant p, StoreSnapshot snapshot, bool withDetails)
    {
        w.WriteStartObject();
        w.WriteNumber("site_id", p.SiteId);
        w.WriteString("name", p.Name);
        w.WriteString("roles", Roles.Format(p.Roles));
        w.WriteBoolean("enabled", p.Enabled);
        w.WriteNumber("created", p.Created.ToUnixTimeMilliseconds());
        w.WriteStartArray("api_keys");
        foreach (var k in snapshot.ApiKeys.Where(k => k.SiteId == p.SiteId))
        {
            w.WriteStartObject();
            w.WriteString("key_id", k.KeyId);
            w.WriteString("name", k.Name);
            w.WriteString("roles", Roles.Format(k.Roles));
            w.WriteBoolean("revoked", k.Disabled);
            w.WriteNumber("created", k.Created.ToUnixTimeMilliseconds());
            if (k.PreviousSecretExpires is { } until) w.WriteNumber("previous_secret_accepted_until", until.ToUnixTimeMilliseconds());
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (withDetails)
        {
            w.WriteStartArray("cstg");
            foreach (var c in (snapshot.ClientSideKeypairs ?? []).Where(c => c.SiteId == p.SiteId))
            {
                w.WriteStartObject();
                w.WriteString("subscription_id", c.SubscriptionId);
                w.WriteString("public_key", c.PublicKey);
                w.WriteBoolean("disabled", c.Disabled);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("domain_names");
            foreach (var d in snapshot.DomainNames?.GetValueOrDefault(p.SiteId) ?? []) w.WriteStringValue(d);
            w.WriteEndArray();
            w.WriteStartArray("app_names");
            foreach (var a in snapshot.AppNames?.GetValueOrDefault(p.SiteId) ?? []) w.WriteStringValue(a);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    public static void WriteKeys(Utf8JsonWriter w, StoreSnapshot snapshot, DateTimeOffset now)
    {
        w.WriteStartArray("keys");
        foreach (var k in snapshot.Keys.OrderBy(k => k.Id))
        {
            w.WriteStartObject();
            w.WriteNumber("id", k.Id);
            w.WriteNumber("site_id", k.SiteId);
            w.WriteNumber("keyset_id", Keysets.KeysetId(k.SiteId));
            w.WriteString("keyset", Keysets.Name(k.SiteId));
            w.WriteNumber("created", k.Created.ToUnixTimeMilliseconds());
            w.WriteNumber("activates", k.Activates.ToUnixTimeMilliseconds());
            w.WriteNumber("expires", k.Expires.ToUnixTimeMilliseconds());
            w.WriteString("state", Keysets.State(k, now));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteSalts(Utf8JsonWriter w, SaltStatus s, SaltRotationOptions options)
    {
        w.WriteNumber("buckets", s.Buckets);
        w.WriteNumber("oldest", s.Oldest.ToUnixTimeMilliseconds());
        w.WriteNumber("newest", s.Newest.ToUnixTimeMilliseconds());
        w.WriteNumber("rotated_last_year", s.RotatedLastYear);
        if (NextSaltRotation(s, options) is { } next) w.WriteNumber("next_rotation", next.ToUnixTimeMilliseconds());
        else w.WriteNull("next_rotation");
    }

    public static void WriteAudit(Utf8JsonWriter w, AuditEntry e)
    {
        w.WriteStartObject();
        w.WriteNumber("at", e.At.ToUnixTimeMilliseconds());
        w.WriteString("actor", e.Actor);
        w.WriteString("action", e.Action);
        w.WriteString("target", e.Target);
        w.WriteString("outcome", e.Outcome);
        w.WriteEndObject();
    }

    /// <summary>The audit entries about one participant: its site, or one of its API keys.</summary>
    public static IEnumerable<AuditEntry> ActivityOf(IEnumerable<AuditEntry> entries, int siteId, IEnumerable<string> keyIds)
    {
        var site = $"site {siteId}";
        var keys = keyIds.Select(k => "api key " + k).ToArray();
        return entries.Where(e => e.Target.StartsWith(site, StringComparison.Ordinal) && (e.Target.Length == site.Length || !char.IsDigit(e.Target[site.Length]))
                                  || keys.Any(k => e.Target.StartsWith(k, StringComparison.Ordinal)));
    }
}
