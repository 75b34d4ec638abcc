using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Uid2.Core;
using Uid2.Core.Auth;
using Uid2.Core.ClientSide;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Core.Normalization;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Admin;

/// <summary>The <c>uid2-admin</c> command tree and its handlers.</summary>
internal sealed class AdminCli
{
    public const string ConnectionStringEnvironmentVariable = "ConnectionStrings__Uid2";

    /// <summary>Same default as the operator's <c>Uid2:SaltBucketCount</c>.</summary>
    public const int DefaultSaltBucketCount = 65_536;

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TextWriter _out;
    private readonly TimeProvider _time;

    private readonly Option<string> _connectionString = new("--connection-string")
    {
        Description = $"Store connection string (default: ${ConnectionStringEnvironmentVariable}, else '{Uid2StoreFactory.DefaultConnectionString}').",
        Recursive = true,
        DefaultValueFactory = _ => DefaultConnectionString(),
    };

    private readonly Option<int> _saltBuckets = new("--salt-buckets")
    {
        Description = $"Number of salt buckets to create if the store is empty (default {DefaultSaltBucketCount}).",
        Recursive = true,
        DefaultValueFactory = _ => DefaultSaltBucketCount,
    };

    private readonly Option<bool> _json = new("--json") { Description = "Print one JSON line instead of a readable summary.", Recursive = true };

    private readonly Option<string> _kekFile = new("--kek-file")
    {
        Description = $"Key-encryption key file (default: ${KeyEncryptionKeys.FileVariable}, else ${KeyEncryptionKeys.InlineVariable}, " +
                      "else for SQLite '<database>.kek' beside the database, created if missing).",
        Recursive = true,
    };

    public AdminCli(TextWriter output, TimeProvider time)
    {
        _out = output;
        _time = time;
        Root = new RootCommand("UID2 administration: participants, API keys, client secrets, encryption keys, salts and opt-outs.")
        {
            _connectionString, _saltBuckets, _json, _kekFile,
            BuildInit(), BuildParticipant(), BuildApiKey(), BuildKeys(), BuildSalts(), BuildOptOut(), BuildClientSide(), BuildSite(), BuildKek(),
            BuildAudit(),
        };
    }

    public RootCommand Root { get; }

    private static string DefaultConnectionString()
    {
        var fromEnv = Environment.GetEnvironmentVariable(ConnectionStringEnvironmentVariable);
        return string.IsNullOrWhiteSpace(fromEnv) ? Uid2StoreFactory.DefaultConnectionString : fromEnv;
    }

    // ------------------------------------------------------------------ init

    private Command BuildInit()
    {
        var cmd = new Command("init", "Create the schema, a random salt set and the master, refresh and fallback publisher keys if missing.");
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var created = await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => w.WriteBoolean("created", created));
            else
                await _out.WriteLineAsync(created ? "Store initialized." : "Store already initialized; nothing to do.");
            return 0;
        });
        return cmd;
    }

    // ------------------------------------------------------------------ participant

    private Command BuildParticipant()
    {
        var name = new Option<string>("--name") { Description = "Participant name.", Required = true };
        var siteId = new Option<int>("--site-id") { Description = "Site id (positive; 2 is reserved).", Required = true };
        var roles = new Option<string>("--roles")
        {
            Description = "Comma-separated roles: " + string.Join(",", ValidRoleNames),
            Required = true,
        };

        var create = new Command("create", "Create a participant with an API key, a client secret and an encryption key for its site.")
        {
            name, siteId, roles,
        };
        create.SetAction((parse, ct) => CreateParticipantAsync(parse, parse.GetValue(name)!, parse.GetValue(siteId), parse.GetValue(roles)!, ct));

        var list = new Command("list", "List the participants: site id, name, roles, enabled, API keys.");
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteStartArray("participants");
                    foreach (var p in snapshot.Participants) WriteParticipant(w, p, snapshot);
                    w.WriteEndArray();
                });
                return 0;
            }
            foreach (var p in snapshot.Participants)
                await _out.WriteLineAsync($"{p.SiteId,8}  {(p.Enabled ? "enabled " : "DISABLED")}  {Roles.Format(p.Roles),-40}  " +
                                          $"{snapshot.ApiKeys.Count(k => k.SiteId == p.SiteId && !k.Disabled)} key(s)  {p.Name}");
            return 0;
        });

        var siteOnly = new Option<int>("--site-id") { Description = "Site id.", Required = true };
        var show = new Command("show", "Show one participant: roles, API keys (ids only), CSTG key pairs, domain and app names.") { siteOnly };
        show.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var p = snapshot.Participants.FirstOrDefault(x => x.SiteId == parse.GetValue(siteOnly))
                    ?? throw new CliException($"No participant with site id {parse.GetValue(siteOnly)}.");
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w => { w.WritePropertyName("participant"); WriteParticipant(w, p, snapshot); });
                return 0;
            }
            await _out.WriteLineAsync($"Site {p.SiteId}: {p.Name} ({(p.Enabled ? "enabled" : "disabled")}), roles {Roles.Format(p.Roles)}, created {p.Created:u}");
            foreach (var k in snapshot.ApiKeys.Where(k => k.SiteId == p.SiteId))
                await _out.WriteLineAsync($"  API key {k.KeyId}  {(k.Disabled ? "revoked" : "active ")}  {Roles.Format(k.Roles)}  created {k.Created:u}  {k.Name}");
            foreach (var c in (snapshot.ClientSideKeypairs ?? []).Where(c => c.SiteId == p.SiteId))
                await _out.WriteLineAsync($"  CSTG {c.SubscriptionId}  {(c.Disabled ? "disabled" : "enabled")}  created {c.Created:u}");
            if (snapshot.DomainNames?.GetValueOrDefault(p.SiteId) is { Count: > 0 } domains)
                await _out.WriteLineAsync($"  domains: {string.Join(", ", domains)}");
            if (snapshot.AppNames?.GetValueOrDefault(p.SiteId) is { Count: > 0 } apps)
                await _out.WriteLineAsync($"  app names: {string.Join(", ", apps)}");
            return 0;
        });

        Command Toggle(string verb, bool enabled)
        {
            var cmd = new Command(verb, $"{(enabled ? "Enable" : "Disable")} a participant: {(enabled ? "its API keys work again" : "every API key of it answers 401")}.") { siteOnly };
            cmd.SetAction((parse, ct) => AuditedAsync(parse, "participant." + verb, $"site {parse.GetValue(siteOnly)}", ct, async store =>
            {
                if (!await Admin(store).SetParticipantEnabledAsync(parse.GetValue(siteOnly), enabled, ct))
                    throw new CliException($"No participant with site id {parse.GetValue(siteOnly)}.");
                await _out.WriteLineAsync($"Participant {parse.GetValue(siteOnly)} {verb}d.");
            }));
            return cmd;
        }

        var rolesOnly = new Option<string>("--roles") { Description = "Comma-separated roles: " + string.Join(",", ValidRoleNames), Required = true };
        var setRoles = new Command("set-roles", "Replace a participant's roles (and those of its API keys).") { siteOnly, rolesOnly };
        setRoles.SetAction((parse, ct) => AuditedAsync(parse, "participant.set-roles", $"site {parse.GetValue(siteOnly)}", ct, async store =>
        {
            var r = ParseRoles(parse.GetValue(rolesOnly)!);
            if (!await Admin(store).SetParticipantRolesAsync(parse.GetValue(siteOnly), r, ct))
                throw new CliException($"No participant with site id {parse.GetValue(siteOnly)}.");
            await _out.WriteLineAsync($"Participant {parse.GetValue(siteOnly)} now has roles {Roles.Format(r)}.");
        }));

        var nameOnly = new Option<string>("--name") { Description = "The new name.", Required = true };
        var setName = new Command("set-name", "Rename a participant.") { siteOnly, nameOnly };
        setName.SetAction((parse, ct) => AuditedAsync(parse, "participant.set-name", $"site {parse.GetValue(siteOnly)}", ct, async store =>
        {
            var n = parse.GetValue(nameOnly)!.Trim();
            if (n.Length == 0) throw new CliException("--name must not be empty.");
            if (!await Admin(store).SetParticipantNameAsync(parse.GetValue(siteOnly), n, ct))
                throw new CliException($"No participant with site id {parse.GetValue(siteOnly)}.");
            await _out.WriteLineAsync($"Participant {parse.GetValue(siteOnly)} renamed.");
        }));

        return new Command("participant", "Manage participants (publishers, advertisers, DSPs…).")
        {
            create, list, show, Toggle("disable", false), Toggle("enable", true), setRoles, setName,
        };
    }

    private static void WriteParticipant(Utf8JsonWriter w, Participant p, StoreSnapshot snapshot)
    {
        w.WriteStartObject();
        w.WriteNumber("siteId", p.SiteId);
        w.WriteString("name", p.Name);
        w.WriteString("roles", Roles.Format(p.Roles));
        w.WriteBoolean("enabled", p.Enabled);
        w.WriteString("created", p.Created.ToString("O", CultureInfo.InvariantCulture));
        WriteApiKeys(w, snapshot.ApiKeys.Where(k => k.SiteId == p.SiteId));
        w.WriteEndObject();
    }

    /// <summary>An <c>apiKeys</c> array: key ids and what they may do, never a key, hash or secret.</summary>
    private static void WriteApiKeys(Utf8JsonWriter w, IEnumerable<ApiKeyRecord> keys)
    {
        w.WriteStartArray("apiKeys");
        foreach (var k in keys)
        {
            w.WriteStartObject();
            w.WriteString("keyId", k.KeyId);
            w.WriteNumber("siteId", k.SiteId);
            w.WriteString("name", k.Name);
            w.WriteString("roles", Roles.Format(k.Roles));
            w.WriteBoolean("revoked", k.Disabled);
            w.WriteString("created", k.Created.ToString("O", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    // ------------------------------------------------------------------ apikey

    private Command BuildApiKey()
    {
        var siteId = new Option<int>("--site-id") { Description = "Site id of the participant.", Required = true };
        var roles = new Option<string>("--roles") { Description = "Roles of the key (default: the participant's)." };
        var name = new Option<string>("--name") { Description = "A name for the key (default: the participant's name)." };
        var issue = new Command("issue", "Issue another API key (with its own client secret) for a participant; printed once, stored hashed.")
        {
            siteId, roles, name,
        };
        issue.SetAction((parse, ct) => AuditedAsync(parse, "apikey.issue", $"site {parse.GetValue(siteId)}", ct, async store =>
        {
            var site = parse.GetValue(siteId);
            var participant = await store.GetParticipantAsync(site, ct) ?? throw new CliException($"No participant with site id {site}.");
            var keyRoles = parse.GetValue(roles) is { } r ? ParseRoles(r) : participant.Roles;
            var generated = ApiKeys.Generate(site);
            var secret = ApiKeys.GenerateClientSecret();
            await store.AddApiKeyAsync(new ApiKeyRecord(generated.KeyId, generated.KeyHash, generated.KeySalt, site,
                parse.GetValue(name)?.Trim() is { Length: > 0 } n ? n : participant.Name, keyRoles, secret, Disabled: false, NowMs()), ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => { w.WriteString("keyId", generated.KeyId); w.WriteString("apiKey", generated.Key); w.WriteString("secret", secret); });
            else
            {
                await _out.WriteLineAsync($"Issued API key {generated.KeyId} for site {site} with roles {Roles.Format(keyRoles)}.");
                await _out.WriteLineAsync($"  API key:       {generated.Key}");
                await _out.WriteLineAsync($"  Client secret: {secret}");
                await _out.WriteLineAsync("Store them now: only the key's hash is kept, so it cannot be shown again.");
            }
            return generated.KeyId;
        }));

        var siteFilter = new Option<int?>("--site-id") { Description = "Only this participant's keys." };
        var list = new Command("list", "List API keys by key id (never the key or its secret).") { siteFilter };
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var keys = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).ApiKeys
                .Where(k => parse.GetValue(siteFilter) is not { } s || k.SiteId == s).ToList();
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w => WriteApiKeys(w, keys));
                return 0;
            }
            foreach (var k in keys)
                await _out.WriteLineAsync($"{k.KeyId,-24}  site {k.SiteId,-8}  {(k.Disabled ? "revoked" : "active ")}  {Roles.Format(k.Roles),-40}  {k.Name}");
            return 0;
        });

        var keyId = new Option<string>("--key-id") { Description = "The key id (the key's prefix, e.g. UID2-C-L-1234-abcde).", Required = true };
        var revoke = new Command("revoke", "Revoke an API key: every running operator answers 401 for it within its store poll (at once on PostgreSQL).")
        {
            keyId,
        };
        revoke.SetAction((parse, ct) => AuditedAsync(parse, "apikey.revoke", $"api key {parse.GetValue(keyId)}", ct, async store =>
        {
            if (!await Admin(store).SetApiKeyDisabledAsync(parse.GetValue(keyId)!, true, ct))
                throw new CliException($"No API key with key id {parse.GetValue(keyId)}.");
            await _out.WriteLineAsync($"Revoked API key {parse.GetValue(keyId)}.");
        }));

        return new Command("apikey", "Manage API keys: a participant may hold several.") { issue, list, revoke };
    }

    // ------------------------------------------------------------------ audit

    private Command BuildAudit()
    {
        var limit = new Option<int>("--limit") { Description = "How many entries, newest first (default 50).", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Every administrative action: when, who, what, on what, and how it ended (never a secret).") { limit };
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var entries = await Admin(store).ListAuditAsync(parse.GetValue(limit), ct);
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteStartArray("entries");
                    foreach (var e in entries)
                    {
                        w.WriteStartObject();
                        w.WriteString("at", e.At.ToString("O", CultureInfo.InvariantCulture));
                        w.WriteString("actor", e.Actor);
                        w.WriteString("action", e.Action);
                        w.WriteString("target", e.Target);
                        w.WriteString("outcome", e.Outcome);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return 0;
            }
            foreach (var e in entries) await _out.WriteLineAsync($"{e.At:u}  {e.Actor,-16}  {e.Action,-22}  {e.Target,-32}  {e.Outcome}");
            return 0;
        });
        return new Command("audit", "The audit log of administrative actions.") { list };
    }

    private static IStoreAdministration Admin(IUid2Store store) =>
        store as IStoreAdministration ?? throw new CliException("This store does not support administration.");

    /// <summary>Who runs the CLI, for the audit log: the OS user (no secret, no personal data beyond the account name).</summary>
    private static string Actor => "cli:" + Environment.UserName;

    /// <summary>Runs a write and records it in the audit log with its outcome, failures included.</summary>
    private Task<int> AuditedAsync(ParseResult parse, string action, string target, CancellationToken ct, Func<IUid2Store, Task> write) =>
        AuditedAsync(parse, action, target, ct, async store => { await write(store); return (string?)null; });

    private async Task<int> AuditedAsync(ParseResult parse, string action, string target, CancellationToken ct, Func<IUid2Store, Task<string?>> write)
    {
        await using var store = await OpenAsync(parse, ct);
        try
        {
            var detail = await write(store);
            await Admin(store).AppendAuditAsync(Actor, action, detail is null ? target : $"{target} ({detail})", "ok", NowMs(), ct);
            return 0;
        }
        catch (Exception ex) when (ex is CliException or StoreConflictException)
        {
            await Admin(store).AppendAuditAsync(Actor, action, target, "refused: " + Program.OneLine(ex.Message), NowMs(), ct);
            throw;
        }
    }

    private static readonly string[] ValidRoleNames =
        Enum.GetValues<Role>().Where(r => r != Role.None).Select(r => Roles.Format(r).ToLowerInvariant()).ToArray();

    internal static Role ParseRoles(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException("No roles given. Valid roles: " + string.Join(", ", ValidRoleNames) + ".");
        var result = Role.None;
        foreach (var part in parts)
        {
            if (!Roles.TryParseOne(part, out var role))
                throw new CliException($"Unknown role '{part}'. Valid roles: {string.Join(", ", ValidRoleNames)}.");
            result |= role;
        }
        return result;
    }

    private async Task<int> CreateParticipantAsync(ParseResult parse, string name, int siteId, string rolesText, CancellationToken ct)
    {
        name = name.Trim();
        if (name.Length == 0) throw new CliException("--name must not be empty.");
        if (siteId <= 0) throw new CliException($"Invalid site id {siteId}: site ids are positive.");
        if (siteId == ReservedSites.FallbackPublisher)
            throw new CliException($"Site id {siteId} is reserved for the fallback publisher keys.");
        var roles = ParseRoles(rolesText);

        await using var store = await OpenAsync(parse, ct);
        await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
        if (await store.GetParticipantAsync(siteId, ct) is { } existing)
            throw new CliException($"A participant with site id {siteId} already exists ('{existing.Name}').");

        var now = NowMs();
        var apiKey = ApiKeys.Generate(siteId);
        var secret = ApiKeys.GenerateClientSecret();
        await store.CreateParticipantAsync(
            new Participant(siteId, name, roles, Enabled: true, now),
            new ApiKeyRecord(apiKey.KeyId, apiKey.KeyHash, apiKey.KeySalt, siteId, name, roles, secret, Disabled: false, now),
            ct);
        var keys = await KeyMaintenance.EnsureActiveKeysAsync(store, [siteId], _time, new KeyPolicy(), ct);
        await Admin(store).AppendAuditAsync(Actor, "participant.create", $"site {siteId} (api key {apiKey.KeyId}, roles {Roles.Format(roles)})", "ok", now, ct);

        if (parse.GetValue(_json))
        {
            await WriteJsonAsync(w =>
            {
                w.WriteNumber("siteId", siteId);
                w.WriteString("apiKey", apiKey.Key);
                w.WriteString("secret", secret);
            });
        }
        else
        {
            var siteKey = keys.FirstOrDefault(k => k.SiteId == siteId);
            await _out.WriteLineAsync($"Created participant '{name}' (site {siteId}) with roles {Roles.Format(roles)}.");
            await _out.WriteLineAsync($"  API key:       {apiKey.Key}");
            await _out.WriteLineAsync($"  Client secret: {secret}");
            if (siteKey is not null)
                await _out.WriteLineAsync($"  Site key:      id {siteKey.Id}, active {siteKey.Activates:u} to {siteKey.Expires:u}");
            await _out.WriteLineAsync("Store the API key now: only its hash is kept, so it cannot be shown again.");
        }
        return 0;
    }

    // ------------------------------------------------------------------ keys

    private Command BuildKeys()
    {
        var ensure = new Command("ensure",
            "Add missing and successor encryption keys for the master, refresh and fallback keysets and every generator participant.");
        ensure.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var sites = snapshot.Participants.Where(p => p.Enabled && (p.Roles & Role.Generator) != 0).Select(p => p.SiteId);
            var added = await KeyMaintenance.EnsureActiveKeysAsync(store, sites, _time, new KeyPolicy(), ct);
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteStartArray("added");
                    foreach (var k in added)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("id", k.Id);
                        w.WriteNumber("siteId", k.SiteId);
                        w.WriteNumber("activates", k.Activates.ToUnixTimeMilliseconds());
                        w.WriteNumber("expires", k.Expires.ToUnixTimeMilliseconds());
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
            }
            else if (added.Count == 0)
            {
                await _out.WriteLineAsync("All keysets have an active key and a successor in time; nothing to do.");
            }
            else
            {
                foreach (var k in added)
                    await _out.WriteLineAsync($"Added key {k.Id} for site {k.SiteId}: active {k.Activates:u} to {k.Expires:u}.");
            }
            return 0;
        });
        return new Command("keys", "Manage encryption keys.") { ensure };
    }

    // ------------------------------------------------------------------ salts

    private Command BuildSalts()
    {
        var fraction = new Option<double>("--fraction")
        {
            Description = "Fraction of buckets to re-salt, between 0 and 1 (e.g. 0.05).",
            Required = true,
        };
        var rotate = new Command("rotate", "Give a random fraction of the salt buckets new salts (the old one becomes the previous salt).")
        {
            fraction,
        };
        rotate.SetAction(async (parse, ct) =>
        {
            var f = parse.GetValue(fraction);
            if (double.IsNaN(f) || f < 0 || f > 1) throw new CliException("--fraction must be between 0 and 1.");
            await using var store = await OpenAsync(parse, ct);
            await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
            var current = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).Salts
                          ?? throw new CliException("The store has no salts.");
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var rotated = SaltSetFactory.Rotate(current, f, nowMs);
            await store.SaveSaltsAsync(rotated, ct);
            await Admin(store).AppendAuditAsync(Actor, "salts.rotate", $"fraction {f.ToString(CultureInfo.InvariantCulture)}", "ok", NowMs(), ct);
            var changed = rotated.Buckets.Where((b, i) => b.CurrentSalt != current.Buckets[i].CurrentSalt).Count();
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => { w.WriteNumber("rotated", changed); w.WriteNumber("buckets", rotated.Buckets.Count); });
            else
                await _out.WriteLineAsync($"Rotated {changed} of {rotated.Buckets.Count} salt buckets.");
            return 0;
        });
        return new Command("salts", "Manage salts.") { rotate };
    }

    // ------------------------------------------------------------------ optout

    private Command BuildOptOut()
    {
        var email = new Option<string>("--email") { Description = "Email address (normalized before hashing)." };
        var emailHash = new Option<string>("--email-hash") { Description = "SHA-256 of a normalized email, base64 or hex." };
        var phone = new Option<string>("--phone") { Description = "Phone number in E.164 form (+15551234567)." };
        var phoneHash = new Option<string>("--phone-hash") { Description = "SHA-256 of an E.164 phone number, base64 or hex." };
        var scope = new Option<string>("--scope") { Description = "Identity scope of the stored raw UID: uid2 (default) or euid.", DefaultValueFactory = _ => "uid2" };
        scope.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "uid2", "euid");

        var add = new Command("add", "Record an opt-out for one identity (exactly one of --email, --email-hash, --phone, --phone-hash).")
        {
            email, emailHash, phone, phoneHash, scope,
        };
        add.SetAction((parse, ct) =>
        {
            var given = new (DiiKind Kind, string? Value)[]
            {
                (DiiKind.Email, parse.GetValue(email)), (DiiKind.EmailHash, parse.GetValue(emailHash)),
                (DiiKind.Phone, parse.GetValue(phone)), (DiiKind.PhoneHash, parse.GetValue(phoneHash)),
            }.Where(g => g.Value is not null).ToArray();
            if (given.Length != 1)
                throw new CliException("Give exactly one of --email, --email-hash, --phone, --phone-hash.");
            var identityScope = string.Equals(parse.GetValue(scope), "euid", StringComparison.OrdinalIgnoreCase) ? IdentityScope.Euid : IdentityScope.Uid2;
            return AddOptOutAsync(parse, given[0].Kind, given[0].Value!, identityScope, ct);
        });

        var rawUid = new Option<string>("--raw-uid") { Description = "A raw UID2 (base64), as identity map or a DSP sees it." };
        var lookup = new Command("lookup", "Is one identity opted out, and since when (exactly one of --email, --email-hash, --phone, --phone-hash, --raw-uid)?")
        {
            email, emailHash, phone, phoneHash, rawUid,
        };
        lookup.SetAction(async (parse, ct) =>
        {
            var given = new (DiiKind? Kind, string? Value)[]
            {
                (DiiKind.Email, parse.GetValue(email)), (DiiKind.EmailHash, parse.GetValue(emailHash)),
                (DiiKind.Phone, parse.GetValue(phone)), (DiiKind.PhoneHash, parse.GetValue(phoneHash)), (null, parse.GetValue(rawUid)),
            }.Where(g => g.Value is not null).ToArray();
            if (given.Length != 1) throw new CliException("Give exactly one of --email, --email-hash, --phone, --phone-hash, --raw-uid.");
            await using var store = await OpenAsync(parse, ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: true, ct);
            Func<OptOutRecord, bool> match;
            if (given[0].Kind is { } kind)
            {
                if (!IdentityInputParser.TryParse(kind, given[0].Value, out var input)) throw new CliException($"Invalid {kind.ParameterName()}.");
                var salts = snapshot.Salts ?? throw new CliException("The store has no salts.");
                var flh = new IdentityDeriver(salts, IdentityScope.Uid2).FirstLevelHash(input);
                match = o => o.FirstLevelHash.AsSpan().SequenceEqual(flh);
            }
            else
            {
                var raw = new byte[40];
                if (!Convert.TryFromBase64String(given[0].Value!, raw, out var n) || n is not (32 or 33))
                    throw new CliException("Invalid --raw-uid: expected the base64 of a 32- or 33-byte raw UID2.");
                var tail = raw.AsSpan(n - 32, 32).ToArray();
                match = o => o.AdvertisingId.Length >= 32 && o.AdvertisingId.AsSpan(o.AdvertisingId.Length - 32).SequenceEqual(tail);
            }
            var found = snapshot.OptOuts.Where(match).MaxBy(o => o.Timestamp);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w =>
                {
                    w.WriteBoolean("optedOut", found is not null);
                    if (found is not null) w.WriteNumber("since", found.Timestamp.ToUnixTimeMilliseconds());
                });
            else
                await _out.WriteLineAsync(found is null ? "Not opted out." : $"Opted out since {found.Timestamp:u} (opt-out #{found.Id}).");
            return 0;
        });

        var count = new Command("count", "How many identities are opted out.");
        count.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var n = (await store.LoadOptOutsAfterAsync(0, ct)).Count;
            if (parse.GetValue(_json)) await WriteJsonAsync(w => w.WriteNumber("count", n));
            else await _out.WriteLineAsync($"{n} opted-out identities.");
            return 0;
        });
        return new Command("optout", "Manage opt-outs.") { add, lookup, count };
    }

    private async Task<int> AddOptOutAsync(ParseResult parse, DiiKind kind, string value, IdentityScope scope, CancellationToken ct)
    {
        if (!IdentityInputParser.TryParse(kind, value, out var input))
        {
            throw new CliException(kind switch
            {
                DiiKind.Email => "Invalid email address.",
                DiiKind.Phone => "Invalid phone number: expected E.164, '+' followed by 10 to 15 digits.",
                DiiKind.EmailHash => "Invalid email hash: expected the SHA-256 of a normalized email as base64 (44 chars) or hex (64 chars).",
                _ => "Invalid phone hash: expected the SHA-256 of an E.164 phone number as base64 (44 chars) or hex (64 chars).",
            });
        }

        await using var store = await OpenAsync(parse, ct);
        await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
        var salts = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).Salts
                    ?? throw new CliException("The store has no salts.");
        var now = NowMs();
        var derived = new IdentityDeriver(salts, scope).Derive(input, now);
        var record = await store.AddOptOutAsync(derived.FirstLevelHash, derived.RawUid, now, ct);
        await Admin(store).AppendAuditAsync(Actor, "optout.add", $"opt-out #{record.Id} ({kind.ToIdentityType().ToString().ToLowerInvariant()})", "ok", now, ct);

        if (parse.GetValue(_json))
        {
            await WriteJsonAsync(w =>
            {
                w.WriteNumber("id", record.Id);
                w.WriteString("type", derived.Type == IdentityType.Phone ? "phone" : "email");
                w.WriteString("firstLevelHash", Convert.ToBase64String(record.FirstLevelHash));
                w.WriteString("advertisingId", Convert.ToBase64String(record.AdvertisingId));
                w.WriteNumber("timestamp", record.Timestamp.ToUnixTimeMilliseconds());
            });
        }
        else
        {
            await _out.WriteLineAsync(
                $"Opted out {(derived.Type == IdentityType.Phone ? "phone" : "email")} identity (opt-out #{record.Id.ToString(CultureInfo.InvariantCulture)}, " +
                $"first-level hash {Convert.ToBase64String(record.FirstLevelHash)}) at {record.Timestamp:u}.");
        }
        return 0;
    }

    // ------------------------------------------------------------------ cstg

    private const string SubscriptionIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A subscription id as the reference makes them: 10 random alphanumeric characters.</summary>
    internal static string NewSubscriptionId() =>
        new(System.Security.Cryptography.RandomNumberGenerator.GetItems<char>(SubscriptionIdAlphabet, 10));

    private Command BuildClientSide()
    {
        var siteId = new Option<int>("--site-id") { Description = "Site id of an existing participant.", Required = true };
        var create = new Command("create",
            "Create a client-side token generation key pair for a site; prints its subscription id and server public key " +
            "(the private key stays in the store).")
        {
            siteId,
        };
        create.SetAction((parse, ct) => CreateClientSideKeypairAsync(parse, parse.GetValue(siteId), ct));

        var subscriptionId = new Option<string>("--subscription-id") { Description = "Subscription id of the key pair.", Required = true };
        var disable = new Command("disable", "Disable a key pair: its requests are refused with 401.") { subscriptionId };
        disable.SetAction((parse, ct) => SetClientSideKeypairDisabledAsync(parse, parse.GetValue(subscriptionId)!, true, ct));
        var enable = new Command("enable", "Enable a disabled key pair again.") { subscriptionId };
        enable.SetAction((parse, ct) => SetClientSideKeypairDisabledAsync(parse, parse.GetValue(subscriptionId)!, false, ct));

        return new Command("cstg", "Manage client-side token generation (CSTG) key pairs.") { create, disable, enable };
    }

    private async Task<int> CreateClientSideKeypairAsync(ParseResult parse, int siteId, CancellationToken ct)
    {
        if (siteId <= 0) throw new CliException($"Invalid site id {siteId}: site ids are positive.");
        await using var store = await OpenAsync(parse, ct);
        await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
        if (await store.GetParticipantAsync(siteId, ct) is null)
            throw new CliException($"No participant with site id {siteId}: create it first with 'uid2-admin participant create'.");

        var pair = ClientSideKeys.Generate();
        var keypair = new ClientSideKeypair(NewSubscriptionId(), siteId, pair.PublicKey, pair.PrivateKey, NowMs(), Disabled: false);
        await store.AddClientSideKeypairAsync(keypair, ct);
        // CSTG tokens are encrypted with the site's own key.
        await KeyMaintenance.EnsureActiveKeysAsync(store, [siteId], _time, new KeyPolicy(), ct);
        var domains = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).DomainNames?.GetValueOrDefault(siteId) ?? [];

        if (parse.GetValue(_json))
        {
            await WriteJsonAsync(w =>
            {
                w.WriteString("subscriptionId", keypair.SubscriptionId);
                w.WriteString("serverPublicKey", keypair.PublicKey);
            });
        }
        else
        {
            await _out.WriteLineAsync($"Created a CSTG key pair for site {siteId}.");
            await _out.WriteLineAsync($"  Subscription id:   {keypair.SubscriptionId}");
            await _out.WriteLineAsync($"  Server public key: {keypair.PublicKey}");
            await _out.WriteLineAsync(domains.Count == 0
                ? $"The site has no domain names yet: set them with 'uid2-admin site domains --site-id {siteId} --set example.com'."
                : $"Allowed domains: {string.Join(", ", domains)}.");
        }
        return 0;
    }

    private async Task<int> SetClientSideKeypairDisabledAsync(ParseResult parse, string subscriptionId, bool disabled, CancellationToken ct)
    {
        await using var store = await OpenAsync(parse, ct);
        if (!await store.SetClientSideKeypairDisabledAsync(subscriptionId.Trim(), disabled, ct))
            throw new CliException($"No CSTG key pair with subscription id '{subscriptionId.Trim()}'.");
        if (parse.GetValue(_json))
            await WriteJsonAsync(w => { w.WriteString("subscriptionId", subscriptionId.Trim()); w.WriteBoolean("disabled", disabled); });
        else
            await _out.WriteLineAsync($"{(disabled ? "Disabled" : "Enabled")} CSTG key pair {subscriptionId.Trim()}.");
        return 0;
    }

    // ------------------------------------------------------------------ site

    private Command BuildSite()
    {
        var siteId = new Option<int>("--site-id") { Description = "Site id of an existing participant.", Required = true };
        var setDomains = new Option<string>("--set")
        {
            Description = "Comma-separated domain names replacing the current list (registrable domains such as example.com " +
                          "or example.co.uk, 'localhost' or an IPv4 address); \"\" clears it. Without --set: prints the list.",
        };
        var domains = new Command("domains", "Show or replace the domain names allowed to call CSTG for a site (matched on the Origin's registrable domain).")
        {
            siteId, setDomains,
        };
        domains.SetAction((parse, ct) => SiteNamesAsync(parse, parse.GetValue(siteId), parse.GetValue(setDomains), appNames: false, ct));

        var setApps = new Option<string>("--set")
        {
            Description = "Comma-separated mobile app names (bundle or package ids, matched case-insensitively) replacing the current list; \"\" clears it.",
        };
        var apps = new Command("app-names", "Show or replace the mobile app names allowed to call CSTG for a site.") { siteId, setApps };
        apps.SetAction((parse, ct) => SiteNamesAsync(parse, parse.GetValue(siteId), parse.GetValue(setApps), appNames: true, ct));

        return new Command("site", "Manage a site's client-side token generation settings.") { domains, apps };
    }

    internal static IReadOnlyList<string> ParseDomainNames(string text)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!SiteDomainNames.TryNormalizeSiteDomainName(part, out var name, out var error)) throw new CliException(error!);
            result.Add(name);
        }
        return result.ToArray();
    }

    internal static IReadOnlyList<string> ParseAppNames(string text)
    {
        var result = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Length > 255 || part.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                throw new CliException($"'{part}' is not a valid app name: at most 255 characters, no spaces.");
            result.Add(part);
        }
        return result.ToArray();
    }

    private async Task<int> SiteNamesAsync(ParseResult parse, int siteId, string? set, bool appNames, CancellationToken ct)
    {
        if (siteId <= 0) throw new CliException($"Invalid site id {siteId}: site ids are positive.");
        var names = set is null ? null : appNames ? ParseAppNames(set) : ParseDomainNames(set);
        var what = appNames ? "app names" : "domain names";
        await using var store = await OpenAsync(parse, ct);
        if (await store.GetParticipantAsync(siteId, ct) is null)
            throw new CliException($"No participant with site id {siteId}.");
        if (names is not null)
        {
            if (appNames) await store.SetAppNamesAsync(siteId, names, ct);
            else await store.SetDomainNamesAsync(siteId, names, ct);
        }
        else
        {
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            names = (appNames ? snapshot.AppNames : snapshot.DomainNames)?.GetValueOrDefault(siteId) ?? [];
        }

        if (parse.GetValue(_json))
        {
            await WriteJsonAsync(w =>
            {
                w.WriteNumber("siteId", siteId);
                w.WriteStartArray(appNames ? "appNames" : "domainNames");
                foreach (var n in names) w.WriteStringValue(n);
                w.WriteEndArray();
            });
        }
        else if (names.Count == 0)
        {
            await _out.WriteLineAsync($"Site {siteId} has no {what}.");
        }
        else
        {
            await _out.WriteLineAsync($"Site {siteId} {what}{(set is null ? "" : " set to")}: {string.Join(", ", names)}.");
        }
        return 0;
    }

    // ------------------------------------------------------------------ kek

    private Command BuildKek()
    {
        var file = new Option<string>("--file") { Description = "Path of the key file to create.", Required = true };
        var create = new Command("new", "Create a key file with one new random key-encryption key (mode 0600); refuses to overwrite.") { file };
        create.SetAction(async (parse, ct) =>
        {
            var path = Path.GetFullPath(parse.GetValue(file)!);
            if (File.Exists(path)) throw new CliException($"{path} exists; not overwritten.");
            var id = KeyEncryptionKeyRing.NewId();
            KeyEncryptionKeys.WriteKeyFile(path, [(id, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))], createOnly: true);
            await Report(parse, $"Created {path} with key-encryption key {id}.", w => { w.WriteString("file", path); w.WriteString("kekId", id); });
            return 0;
        });

        var rotate = new Command("rotate",
            "Add a new key-encryption key at the head of the key file, then reseal every secret in the store under it " +
            "(the old keys stay in the file so running operators keep reading; drop them later with 'kek prune').");
        rotate.SetAction(async (parse, ct) =>
        {
            var path = KeyFileOf(parse);
            var old = KeyEncryptionKeys.ReadKeyFile(path);
            var id = KeyEncryptionKeyRing.NewId();
            IReadOnlyList<(string, byte[])> keys = [(id, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), .. old];
            KeyEncryptionKeys.WriteKeyFile(path, keys); // first: a crash below leaves every value readable
            var count = await ResealAsync(parse, new KeyEncryptionKeyRing(keys, path), ct);
            await Report(parse, $"New key-encryption key {id} in {path}; {count} secrets are now sealed under it. " +
                                $"Older keys kept for running operators: {string.Join(", ", old.Select(k => k.Id))}.",
                w => { w.WriteString("kekId", id); w.WriteNumber("sealed", count); });
            return 0;
        });

        var reseal = new Command("reseal",
            "Reseal every secret under the first configured key-encryption key (after adding a new first key to UID2_KEK or the key file).");
        reseal.SetAction(async (parse, ct) =>
        {
            var kek = ResolveKek(parse);
            var count = await ResealAsync(parse, kek, ct);
            await Report(parse, $"{count} secrets are sealed under key-encryption key {kek.PrimaryId}.",
                w => { w.WriteString("kekId", kek.PrimaryId); w.WriteNumber("sealed", count); });
            return 0;
        });

        var prune = new Command("prune", "Reseal under the first key of the key file, then remove every other key from the file.");
        prune.SetAction(async (parse, ct) =>
        {
            var path = KeyFileOf(parse);
            var keys = KeyEncryptionKeys.ReadKeyFile(path);
            var ring = new KeyEncryptionKeyRing(keys, path);
            await ResealAsync(parse, ring, ct);
            await using (var store = await OpenAsync(parse, ring, ct))
            {
                var counts = await ((IStoreSecretSealing)store).CountSecretsBySealingKeyAsync(ct);
                if (counts.Keys.Any(k => k != ring.PrimaryId))
                    throw new CliException("Some secrets are still not sealed by " + ring.PrimaryId + "; nothing removed.");
            }
            KeyEncryptionKeys.WriteKeyFile(path, [keys[0]]);
            await Report(parse, $"Kept key-encryption key {keys[0].Id}; removed {keys.Count - 1} older key(s) from {path}.",
                w => { w.WriteString("kekId", keys[0].Id); w.WriteNumber("removed", keys.Count - 1); });
            return 0;
        });

        var status = new Command("status", "Show the configured key-encryption key ids and how many stored secrets each one sealed (never a key).");
        status.SetAction(async (parse, ct) =>
        {
            var kek = ResolveKek(parse);
            await using var store = await OpenAsync(parse, kek, ct);
            var counts = await ((IStoreSecretSealing)store).CountSecretsBySealingKeyAsync(ct);
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteString("primary", kek.PrimaryId);
                    w.WriteStartArray("configured");
                    foreach (var id in kek.Ids) w.WriteStringValue(id);
                    w.WriteEndArray();
                    w.WriteStartObject("sealed");
                    foreach (var (id, n) in counts) w.WriteNumber(id, n);
                    w.WriteEndObject();
                });
            }
            else
            {
                await _out.WriteLineAsync($"Key-encryption keys: {string.Join(", ", kek.Ids)} (seals with {kek.PrimaryId}).");
                foreach (var (id, n) in counts.OrderBy(kv => kv.Key)) await _out.WriteLineAsync($"  {id}: {n} secrets");
            }
            return 0;
        });

        return new Command("kek", "Key-encryption keys: the keys that seal client secrets, encryption keys, CSTG private keys and salts at rest.")
        {
            create, rotate, reseal, prune, status,
        };
    }

    /// <summary>Reseals every secret under <paramref name="kek"/>'s first key; returns how many secrets that key now seals.</summary>
    private async Task<int> ResealAsync(ParseResult parse, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        await using var store = await OpenAsync(parse, kek, ct); // initializing reseals what needs it
        var sealing = (IStoreSecretSealing)store;
        await sealing.ResealAsync(ct);
        return (await sealing.CountSecretsBySealingKeyAsync(ct)).GetValueOrDefault(kek.PrimaryId);
    }

    /// <summary>The key file the kek commands rotate: --kek-file, $UID2_KEK_FILE, or the SQLite database's default.</summary>
    private string KeyFileOf(ParseResult parse)
    {
        var path = parse.GetValue(_kekFile) ?? Environment.GetEnvironmentVariable(KeyEncryptionKeys.FileVariable);
        if (string.IsNullOrWhiteSpace(path))
        {
            if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(KeyEncryptionKeys.InlineVariable)))
                throw new CliException($"The keys come from {KeyEncryptionKeys.InlineVariable}: put a new key first there on every instance, " +
                                       "run 'uid2-admin kek reseal', then remove the old key.");
            path = ResolveKek(parse).SourceFile;
        }
        if (string.IsNullOrWhiteSpace(path) || !File.Exists(path)) throw new CliException("No key-encryption key file to rotate.");
        return Path.GetFullPath(path);
    }

    private async Task Report(ParseResult parse, string text, Action<Utf8JsonWriter> json)
    {
        if (parse.GetValue(_json)) await WriteJsonAsync(json);
        else await _out.WriteLineAsync(text);
    }

    // ------------------------------------------------------------------ helpers

    private string ConnectionString(ParseResult parse)
    {
        var connectionString = parse.GetValue(_connectionString);
        return string.IsNullOrWhiteSpace(connectionString) ? DefaultConnectionString() : connectionString;
    }

    private KeyEncryptionKeyRing ResolveKek(ParseResult parse) =>
        KeyEncryptionKeys.Resolve(ConnectionString(parse), null, parse.GetValue(_kekFile), createIfMissing: true);

    private Task<IUid2Store> OpenAsync(ParseResult parse, CancellationToken ct) => OpenAsync(parse, ResolveKek(parse), ct);

    private async Task<IUid2Store> OpenAsync(ParseResult parse, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        var store = Uid2StoreFactory.Create(ConnectionString(parse), kek);
        try
        {
            await store.InitializeAsync(ct);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    private int SaltBuckets(ParseResult parse)
    {
        var count = parse.GetValue(_saltBuckets);
        if (count is < 1 or > 1 << 20) throw new CliException("--salt-buckets must be between 1 and 1048576.");
        return count;
    }

    private DateTimeOffset NowMs() => DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());

    private async Task WriteJsonAsync(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        await _out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
