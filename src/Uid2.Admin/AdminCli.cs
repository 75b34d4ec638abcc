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

    private readonly Option<string> _storeProvider = new("--store-provider")
    {
        Description = "sqlite or postgres (default: $Uid2__StoreProvider, else inferred from the connection string: 'Data Source=' or 'Host=').",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Uid2__StoreProvider") ?? "",
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
            _connectionString, _storeProvider, _saltBuckets, _json, _kekFile,
            BuildInit(), BuildParticipant(), BuildApiKey(), BuildSecret(), BuildKeys(), BuildKeyset(), BuildSalts(), BuildOptOut(), BuildClientSide(),
            BuildSite(), BuildWebhook(), BuildKek(), BuildAudit(), BuildBackup(), BuildAdminCredentials(),
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
            cmd.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
            {
                await service.SetParticipantEnabledAsync(Actor, parse.GetValue(siteOnly), enabled, ct);
                await Report(parse, $"Participant {parse.GetValue(siteOnly)} {verb}d.", w => { w.WriteNumber("siteId", parse.GetValue(siteOnly)); w.WriteBoolean("enabled", enabled); });
            }));
            return cmd;
        }

        var rolesOnly = new Option<string>("--roles") { Description = "Comma-separated roles: " + string.Join(",", ValidRoleNames), Required = true };
        var setRoles = new Command("set-roles", "Replace a participant's roles (and those of its API keys).") { siteOnly, rolesOnly };
        setRoles.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var r = ParseRoles(parse.GetValue(rolesOnly)!);
            await service.SetParticipantRolesAsync(Actor, parse.GetValue(siteOnly), r, ct);
            await Report(parse, $"Participant {parse.GetValue(siteOnly)} now has roles {Roles.Format(r)}.",
                w => { w.WriteNumber("siteId", parse.GetValue(siteOnly)); w.WriteString("roles", Roles.Format(r)); });
        }));

        var nameOnly = new Option<string>("--name") { Description = "The new name.", Required = true };
        var setName = new Command("set-name", "Rename a participant.") { siteOnly, nameOnly };
        setName.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            await service.SetParticipantNameAsync(Actor, parse.GetValue(siteOnly), parse.GetValue(nameOnly)!, ct);
            await Report(parse, $"Participant {parse.GetValue(siteOnly)} renamed.", w => w.WriteNumber("siteId", parse.GetValue(siteOnly)));
        }));

        var typesOnly = new Option<string>("--types")
        {
            Description = "Comma-separated participant types (DSP, ADVERTISER, DATA_PROVIDER, PUBLISHER); \"\" clears them. Keysets can be shared by type.",
            Required = true,
        };
        var setTypes = new Command("set-types", "Replace what kind of business a participant is.") { siteOnly, typesOnly };
        setTypes.SetAction((parse, ct) => AuditedAsync(parse, "participant.set-types", $"site {parse.GetValue(siteOnly)}", ct, async store =>
        {
            var t = ParseClientTypes(parse.GetValue(typesOnly));
            if (!await Admin(store).SetParticipantTypesAsync(parse.GetValue(siteOnly), t, ct))
                throw new CliException($"No participant with site id {parse.GetValue(siteOnly)}.");
            await Report(parse, $"Participant {parse.GetValue(siteOnly)} now has types {(t == ClientTypes.None ? "(none)" : ClientTypeNames.Format(t))}.",
                w => { w.WriteNumber("siteId", parse.GetValue(siteOnly)); w.WriteString("types", ClientTypeNames.Format(t)); });
            return ClientTypeNames.Format(t);
        }));

        return new Command("participant", "Manage participants (publishers, advertisers, DSPs…).")
        {
            create, list, show, Toggle("disable", false), Toggle("enable", true), setRoles, setName, setTypes,
        };
    }

    private static void WriteParticipant(Utf8JsonWriter w, Participant p, StoreSnapshot snapshot)
    {
        w.WriteStartObject();
        w.WriteNumber("siteId", p.SiteId);
        w.WriteString("name", p.Name);
        w.WriteString("types", ClientTypeNames.Format(p.Types));
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
            if (k.PreviousSecretExpires is { } until)
                w.WriteString("previousSecretAcceptedUntil", until.ToString("O", CultureInfo.InvariantCulture));
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
        issue.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var site = parse.GetValue(siteId);
            var key = await service.IssueApiKeyAsync(Actor, site, parse.GetValue(roles) is { } r ? ParseRoles(r) : null, parse.GetValue(name), ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => { w.WriteString("keyId", key.KeyId); w.WriteString("apiKey", key.ApiKey); w.WriteString("secret", key.ClientSecret); });
            else
            {
                await _out.WriteLineAsync($"Issued API key {key.KeyId} for site {site} with roles {Roles.Format(key.Roles)}.");
                await _out.WriteLineAsync($"  API key:       {key.ApiKey}");
                await _out.WriteLineAsync($"  Client secret: {key.ClientSecret}");
                await _out.WriteLineAsync("Store them now: only the key's hash is kept, so it cannot be shown again.");
            }
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
        revoke.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            await service.RevokeApiKeyAsync(Actor, parse.GetValue(keyId)!, ct);
            await Report(parse, $"Revoked API key {parse.GetValue(keyId)}.", w => { w.WriteString("keyId", parse.GetValue(keyId)); w.WriteBoolean("revoked", true); });
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

    private AdminService Service(IUid2Store store) => new(store, _time);

    /// <summary>Opens the store and runs an action of <see cref="AdminService"/> (which records it in the audit log).</summary>
    private async Task<int> WithServiceAsync(ParseResult parse, CancellationToken ct, Func<AdminService, Task> action, bool initialize = false)
    {
        await using var store = await OpenAsync(parse, ct);
        if (initialize) await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
        await action(Service(store));
        return 0;
    }

    // ------------------------------------------------------------------ admin credentials

    private Command BuildAdminCredentials()
    {
        var name = new Option<string>("--name") { Description = "Who the credential is for (shown in the audit log as admin:<name>).", Required = true };
        var create = new Command("create",
            "Create an admin credential (the ADMIN role) for the admin page /admin and the JSON API /admin/api; printed once, stored hashed.") { name };
        create.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var key = await service.CreateAdminCredentialAsync(Actor, parse.GetValue(name)!, ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => { w.WriteString("keyId", key.KeyId); w.WriteString("adminKey", key.ApiKey); });
            else
            {
                await _out.WriteLineAsync($"Created admin credential {key.KeyId} for {parse.GetValue(name)!.Trim()}.");
                await _out.WriteLineAsync($"  Admin key: {key.ApiKey}");
                await _out.WriteLineAsync("Sign in at /admin with it (or send it as 'Authorization: Bearer …' to /admin/api). It is not shown again.");
            }
        }));

        var list = new Command("list", "List admin credentials by key id (never the key).");
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var keys = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).ApiKeys.Where(k => (k.Roles & Role.Admin) != 0).ToList();
            if (parse.GetValue(_json)) await WriteJsonAsync(w => WriteApiKeys(w, keys));
            else
                foreach (var k in keys)
                    await _out.WriteLineAsync($"{k.KeyId,-24}  {(k.Disabled ? "revoked" : "active ")}  created {k.Created:u}  {k.Name}");
            return 0;
        });

        var keyId = new Option<string>("--key-id") { Description = "The admin credential's key id.", Required = true };
        var revoke = new Command("revoke", "Revoke an admin credential: its sessions end at their next request.") { keyId };
        revoke.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            await service.RevokeApiKeyAsync(Actor, parse.GetValue(keyId)!, ct);
            await Report(parse, $"Revoked admin credential {parse.GetValue(keyId)}.", w => w.WriteString("keyId", parse.GetValue(keyId)));
        }));
        return new Command("admin", "Admin credentials for the admin page and /admin/api.") { create, list, revoke };
    }

    // ------------------------------------------------------------------ backup

    private Command BuildBackup()
    {
        var output = new Option<string>("--out") { Description = "The backup file to write (refuses to overwrite; created 0600).", Required = true };
        var create = new Command("create",
            "Write a consistent, sealed backup of the whole state (participants, API keys, client secrets, keys, salts, CSTG, opt-outs). " +
            "Restoring it needs the same key-encryption key: back that up separately.")
        {
            output,
        };
        create.SetAction((parse, ct) => AuditedAsync(parse, "backup.create", "store", ct, async store =>
        {
            var path = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(path)) throw new CliException($"{path} exists: choose a new file name.");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            BackupSummary summary;
            try
            {
                await using var file = new FileStream(path, options);
                summary = await StoreBackup.WriteAsync(store, ResolveKek(parse), file, _time, ct);
                file.Flush(flushToDisk: true);
            }
            catch
            {
                File.Delete(path);
                throw;
            }
            await ReportBackup(parse, $"Backed up to {path}", summary);
            return Describe(summary);
        }));

        var file = new Option<string>("--file") { Description = "The backup file.", Required = true };
        var verify = new Command("verify", "Read a backup through and check it can be restored here (seal, order, completeness); writes nothing.") { file };
        verify.SetAction(async (parse, ct) =>
        {
            await using var stream = OpenBackup(parse.GetValue(file)!);
            var summary = await StoreBackup.VerifyAsync(stream, ResolveKek(parse), ct);
            await ReportBackup(parse, "The backup is complete and can be opened with the configured key-encryption key", summary);
            return 0;
        });

        var restore = new Command("restore",
            "Restore a backup into a new, empty store (the --connection-string one; SQLite or PostgreSQL, whichever the backup came from).") { file };
        restore.SetAction((parse, ct) => AuditedAsync(parse, "backup.restore", "store", ct, async store =>
        {
            await using var stream = OpenBackup(parse.GetValue(file)!);
            var summary = await StoreBackup.RestoreAsync(store, stream, ResolveKek(parse), ct);
            await ReportBackup(parse, "Restored the backup", summary);
            return $"backup of {summary.Created:O}: " + Describe(summary);
        }));
        return new Command("backup", "Back up and restore the operator's whole state.") { create, verify, restore };
    }

    private static FileStream OpenBackup(string path)
    {
        try
        {
            return new FileStream(Path.GetFullPath(path), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot read {path}: {ex.Message}");
        }
    }

    private static string Describe(BackupSummary s) =>
        $"{s.Participants} participants, {s.ApiKeys} API keys, {s.Keys} keys, {s.SaltBuckets} salt buckets, {s.ClientSideKeypairs} CSTG key pairs, {s.OptOuts} opt-outs";

    private Task ReportBackup(ParseResult parse, string what, BackupSummary s) =>
        Report(parse, $"{what} ({Describe(s)}; taken {s.Created:u}).", w =>
        {
            w.WriteNumber("created", s.Created.ToUnixTimeMilliseconds());
            w.WriteNumber("participants", s.Participants);
            w.WriteNumber("apiKeys", s.ApiKeys);
            w.WriteNumber("keys", s.Keys);
            w.WriteNumber("saltBuckets", s.SaltBuckets);
            w.WriteNumber("clientSideKeypairs", s.ClientSideKeypairs);
            w.WriteNumber("optOuts", s.OptOuts);
        });

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
        catch (Exception ex) when (ex is CliException or StoreConflictException or AdminException or BackupException)
        {
            await Admin(store).AppendAuditAsync(Actor, action, target, "refused: " + Program.OneLine(ex.Message), NowMs(), ct);
            throw;
        }
    }

    private static readonly string[] ValidRoleNames =
        Enum.GetValues<Role>().Where(r => r is not Role.None and not Role.Admin).Select(r => Roles.Format(r).ToLowerInvariant()).ToArray();

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
        var roles = ParseRoles(rolesText);
        await using var store = await OpenAsync(parse, ct);
        await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
        var (participant, key, siteKey) = await Service(store).CreateParticipantAsync(Actor, name, siteId, roles, ct);

        if (parse.GetValue(_json))
        {
            await WriteJsonAsync(w =>
            {
                w.WriteNumber("siteId", siteId);
                w.WriteString("keyId", key.KeyId);
                w.WriteString("apiKey", key.ApiKey);
                w.WriteString("secret", key.ClientSecret);
            });
        }
        else
        {
            await _out.WriteLineAsync($"Created participant '{participant.Name}' (site {siteId}) with roles {Roles.Format(roles)}.");
            await _out.WriteLineAsync($"  API key:       {key.ApiKey}");
            await _out.WriteLineAsync($"  Client secret: {key.ClientSecret}");
            if (siteKey is not null)
                await _out.WriteLineAsync($"  Site key:      id {siteKey.Id}, active {siteKey.Activates:u} to {siteKey.Expires:u}");
            await _out.WriteLineAsync("Store the API key now: only its hash is kept, so it cannot be shown again.");
        }
        return 0;
    }

    // ------------------------------------------------------------------ secret

    private Command BuildSecret()
    {
        var keyId = new Option<string>("--key-id") { Description = "The API key whose client secret to rotate (its key id).", Required = true };
        var overlap = new Option<string>("--overlap")
        {
            Description = "How long the current secret stays accepted besides the new one, e.g. 7d, 36h, 90m, 0 (default 7d, at most 90d).",
            DefaultValueFactory = _ => "7d",
        };
        var rotate = new Command("rotate",
            "Give an API key a new client secret (printed once); the current one keeps working until the overlap ends, so the publisher can roll without downtime.")
        {
            keyId, overlap,
        };
        rotate.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var rotated = await service.RotateClientSecretAsync(Actor, parse.GetValue(keyId)!, ParseDuration(parse.GetValue(overlap)!, "--overlap"), ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w =>
                {
                    w.WriteString("keyId", rotated.KeyId);
                    w.WriteString("secret", rotated.ClientSecret);
                    w.WriteString("previousAcceptedUntil", rotated.PreviousAcceptedUntil.ToString("O", CultureInfo.InvariantCulture));
                });
            else
            {
                await _out.WriteLineAsync($"Rotated the client secret of API key {rotated.KeyId}.");
                await _out.WriteLineAsync($"  New client secret: {rotated.ClientSecret}");
                await _out.WriteLineAsync($"The previous secret is accepted until {rotated.PreviousAcceptedUntil:u}. Store the new one now: it is not shown again.");
            }
        }));
        return new Command("secret", "Client secrets (the v2 envelope keys of API keys).") { rotate };
    }

    /// <summary>A duration as <c>7d</c>, <c>36h</c>, <c>90m</c>, <c>30s</c> or <c>0</c>.</summary>
    internal static TimeSpan ParseDuration(string text, string option)
    {
        text = text.Trim();
        if (text == "0") return TimeSpan.Zero;
        if (text.Length >= 2 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
            && n >= 0 && n < 1e6)
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 'd': return TimeSpan.FromDays(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 's': return TimeSpan.FromSeconds(n);
            }
        }
        throw new CliException($"Invalid {option} '{text}': use a number with d, h, m or s (7d, 36h, 90m) or 0.");
    }

    // ------------------------------------------------------------------ key, keyset

    private Command BuildKeys()
    {
        var ensure = new Command("ensure",
            "Add missing and successor encryption keys for the master, refresh and fallback keysets and every generator participant.");
        ensure.SetAction((parse, ct) => AuditedAsync(parse, "key.ensure", "all keysets", ct, async store =>
        {
            await StoreBootstrapper.EnsureInitializedAsync(store, _time, SaltBuckets(parse), ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var sites = snapshot.Participants.Where(p => p.Enabled && (p.Roles & (Role.Generator | Role.Sharer)) != 0).Select(p => p.SiteId)
                .Concat((snapshot.ClientSideKeypairs ?? []).Select(c => c.SiteId));
            var added = await KeyMaintenance.EnsureActiveKeysAsync(store, sites, _time, new KeyPolicy(), ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => WriteKeys(w, "added", added, NowMs()));
            else if (added.Count == 0)
                await _out.WriteLineAsync("All keysets have an active key and a successor in time; nothing to do.");
            else
                foreach (var k in added)
                    await _out.WriteLineAsync($"Added key {k.Id} for site {k.SiteId}: active {k.Activates:u} to {k.Expires:u}.");
            return added.Count == 0 ? null : "added " + string.Join(",", added.Select(k => k.Id));
        }));

        var siteFilter = new Option<int?>("--site-id") { Description = "Only this keyset's keys (site id; -1 master, -2 refresh, 2 fallback publisher)." };
        var all = new Option<bool>("--all") { Description = "Include expired keys." };
        var list = new Command("list", "List encryption keys: id, keyset, created, active from/to, state (never key material).") { siteFilter, all };
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var now = NowMs();
            var keys = (await store.LoadSnapshotAsync(includeOptOuts: false, ct)).Keys
                .Where(k => parse.GetValue(siteFilter) is not { } s || k.SiteId == s)
                .Where(k => parse.GetValue(all) || k.Expires > now).ToList();
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w => WriteKeys(w, "keys", keys, now));
                return 0;
            }
            foreach (var k in keys)
                await _out.WriteLineAsync($"{k.Id,6}  {Keysets.Name(k.SiteId),-22}  {Keysets.State(k, now),-8}  active {k.Activates:u} to {k.Expires:u}  age {Keysets.Age(now - k.Created)}");
            return 0;
        });

        var site = new Option<int>("--site-id") { Description = "The keyset (site id; -1 master, -2 refresh, 2 fallback publisher).", Required = true };
        var rotate = new Command("rotate",
            "Add a key to a keyset that is active at once: new tokens use it as soon as the operators read it (at once on PostgreSQL).") { site };
        rotate.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var k = await service.RotateKeyAsync(Actor, parse.GetValue(site), ct);
            await Report(parse, $"Added key {k.Id} for {Keysets.Name(k.SiteId)}: active {k.Activates:u} to {k.Expires:u}.",
                w => WriteKeys(w, "added", [k], NowMs()));
        }));

        var keyId = new Option<int>("--key-id") { Description = "The key's id.", Required = true };
        var revoke = new Option<bool>("--revoke")
        {
            Description = "Also delete the key (it may have leaked): the key endpoints stop sharing it and every token encrypted with it stops decrypting.",
        };
        var retire = new Command("retire",
            "Retire a key now: it expires (no new token uses it; tokens already issued keep decrypting until they expire) and its keyset gets a new active key.")
        {
            keyId, revoke,
        };
        retire.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var added = await service.RetireKeyAsync(Actor, parse.GetValue(keyId), parse.GetValue(revoke), ct);
            await Report(parse, $"{(parse.GetValue(revoke) ? "Revoked" : "Retired")} key {parse.GetValue(keyId)}." +
                                (added.Count == 0 ? "" : $" Added key {string.Join(", ", added.Select(k => k.Id))}."),
                w => { w.WriteNumber("retired", parse.GetValue(keyId)); WriteKeys(w, "added", added, NowMs()); });
        }));

        var cmd = new Command("key", "Manage encryption keys.") { ensure, list, rotate, retire };
        cmd.Aliases.Add("keys");
        return cmd;
    }

    private Command BuildKeyset()
    {
        var list = new Command("list", "List keysets as the operators share them: keyset id, owner, keys, active key.");
        list.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var now = NowMs();
            var sets = snapshot.Keys.GroupBy(k => k.SiteId).OrderBy(g => g.Key).ToList();
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteStartArray("keysets");
                    foreach (var g in sets) WriteKeyset(w, g.Key, g.ToList(), snapshot, now, withKeys: false);
                    w.WriteEndArray();
                });
                return 0;
            }
            foreach (var g in sets)
            {
                var active = Keysets.ActiveKey(g, now);
                await _out.WriteLineAsync($"{Keysets.KeysetId(g.Key),8}  {Keysets.Name(g.Key),-22}  {Keysets.Owner(g.Key, snapshot),-24}  {g.Count(k => k.Expires > now)} key(s)  " +
                                          $"active key {(active is null ? "none" : active.Id.ToString(CultureInfo.InvariantCulture))}");
            }
            return 0;
        });

        var keysetId = new Option<int>("--keyset-id") { Description = "The keyset id (a site id; 9999999 or -1 for master, -2 refresh).", Required = true };
        var show = new Command("show", "Show one keyset: owner, who it is shared with, its keys.") { keysetId };
        show.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var site = Keysets.SiteOf(parse.GetValue(keysetId));
            var keys = snapshot.Keys.Where(k => k.SiteId == site).ToList();
            if (keys.Count == 0) throw new CliException($"No keyset with id {parse.GetValue(keysetId)}.");
            var now = NowMs();
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w => { w.WritePropertyName("keyset"); WriteKeyset(w, site, keys, snapshot, now, withKeys: true); });
                return 0;
            }
            await _out.WriteLineAsync($"Keyset {Keysets.KeysetId(site)}: {Keysets.Name(site)}, owner {Keysets.Owner(site, snapshot)}; shared with {Keysets.SharedWith(site, snapshot)}.");
            foreach (var k in keys)
                await _out.WriteLineAsync($"  key {k.Id,6}  {Keysets.State(k, now),-8}  active {k.Activates:u} to {k.Expires:u}  age {Keysets.Age(now - k.Created)}");
            return 0;
        });
        var sharedSiteId = new Option<int>("--site-id") { Description = "The site whose keyset (keyset id = site id) is shared.", Required = true };
        var sites = new Option<string>("--sites") { Description = "Comma-separated site ids." };
        var types = new Option<string>("--types") { Description = "Comma-separated participant types: DSP, ADVERTISER, DATA_PROVIDER, PUBLISHER." };
        var allow = new Command("allow",
            "Let sites (or every participant of a type) decrypt the tokens a site shares; the first allowance replaces 'every ID reader' " +
            "with an explicit list, as in the reference.") { sharedSiteId, sites, types };
        allow.SetAction((parse, ct) => ChangeSharingAsync(parse, "keyset.allow", parse.GetValue(sharedSiteId), ct, s =>
            s with
            {
                AllowedSites = (s.AllowedSites ?? []).Union(ParseSiteIds(parse.GetValue(sites))).Order().ToArray(),
                AllowedTypes = s.AllowedTypes | ParseClientTypes(parse.GetValue(types)),
            }));
        var disallow = new Command("disallow", "Revoke an allowance: the sites (or types) given no longer receive the site's keys.") { sharedSiteId, sites, types };
        disallow.SetAction((parse, ct) => ChangeSharingAsync(parse, "keyset.disallow", parse.GetValue(sharedSiteId), ct, s =>
            s with
            {
                AllowedSites = (s.AllowedSites ?? []).Except(ParseSiteIds(parse.GetValue(sites))).Order().ToArray(),
                AllowedTypes = s.AllowedTypes & ~ParseClientTypes(parse.GetValue(types)),
            }));
        var reset = new Command("reset", "Back to the default: no allowance list, every ID reader (DSP) receives the site's keys.") { sharedSiteId };
        reset.SetAction((parse, ct) => ChangeSharingAsync(parse, "keyset.reset", parse.GetValue(sharedSiteId), ct,
            s => s with { AllowedSites = null, AllowedTypes = ClientTypes.None }));
        Command ToggleKeyset(string verb, bool enabled)
        {
            var cmd = new Command(verb, enabled ? "Enable a site's keyset again." : "Disable a site's keyset: nobody (not even its owner) receives its keys.")
            {
                sharedSiteId,
            };
            cmd.SetAction((parse, ct) => ChangeSharingAsync(parse, "keyset." + verb, parse.GetValue(sharedSiteId), ct, s => s with { Enabled = enabled }));
            return cmd;
        }
        return new Command("keyset", "Keysets: the keys of one owner (a site, or master/refresh), shared as the key endpoints do.")
        {
            list, show, allow, disallow, reset, ToggleKeyset("disable", false), ToggleKeyset("enable", true),
        };
    }

    private Task<int> ChangeSharingAsync(ParseResult parse, string action, int siteId, CancellationToken ct, Func<KeysetSharing, KeysetSharing> change) =>
        AuditedAsync(parse, action, $"keyset {siteId}", ct, async store =>
        {
            if (siteId <= 0) throw new CliException("Only a site's keyset can be shared (not master or refresh).");
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            if (snapshot.Participants.All(p => p.SiteId != siteId) && siteId != ReservedSites.FallbackPublisher)
                throw new CliException($"No participant with site id {siteId}.");
            var updated = change(new KeysetAccessPolicy(snapshot).SettingsOf(siteId));
            await Admin(store).SetKeysetSharingAsync(updated, ct);
            snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            var sharedWith = Keysets.SharedWith(siteId, snapshot);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w => { w.WritePropertyName("keyset"); WriteKeyset(w, siteId, snapshot.Keys.Where(k => k.SiteId == siteId).ToList(), snapshot, NowMs(), withKeys: false); });
            else
                await _out.WriteLineAsync($"Keyset {siteId} is shared with {sharedWith}.");
            return sharedWith;
        });

    internal static IReadOnlyList<int> ParseSiteIds(string? text)
    {
        var result = new List<int>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
                throw new CliException($"'{part}' is not a site id (a positive integer).");
            result.Add(id);
        }
        return result;
    }

    internal static ClientTypes ParseClientTypes(string? text) =>
        ClientTypeNames.TryParse(text, out var types) ? types
            : throw new CliException($"Unknown participant type in '{text}'. Valid types: DSP, ADVERTISER, DATA_PROVIDER, PUBLISHER.");

    private static void WriteKeys(Utf8JsonWriter w, string name, IEnumerable<EncryptionKey> keys, DateTimeOffset now)
    {
        w.WriteStartArray(name);
        foreach (var k in keys)
        {
            w.WriteStartObject();
            w.WriteNumber("id", k.Id);
            w.WriteNumber("siteId", k.SiteId);
            w.WriteNumber("keysetId", Keysets.KeysetId(k.SiteId));
            w.WriteNumber("created", k.Created.ToUnixTimeMilliseconds());
            w.WriteNumber("activates", k.Activates.ToUnixTimeMilliseconds());
            w.WriteNumber("expires", k.Expires.ToUnixTimeMilliseconds());
            w.WriteString("state", Keysets.State(k, now));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteKeyset(Utf8JsonWriter w, int siteId, IReadOnlyList<EncryptionKey> keys, StoreSnapshot snapshot, DateTimeOffset now, bool withKeys)
    {
        w.WriteStartObject();
        w.WriteNumber("keysetId", Keysets.KeysetId(siteId));
        w.WriteNumber("siteId", siteId);
        w.WriteString("name", Keysets.Name(siteId));
        w.WriteString("owner", Keysets.Owner(siteId, snapshot));
        w.WriteString("sharedWith", Keysets.SharedWith(siteId, snapshot));
        if (siteId > 0)
        {
            var settings = new KeysetAccessPolicy(snapshot).SettingsOf(siteId);
            w.WriteBoolean("enabled", settings.Enabled);
            if (settings.AllowedSites is { } allowed)
            {
                w.WriteStartArray("allowedSites");
                foreach (var s in allowed) w.WriteNumberValue(s);
                w.WriteEndArray();
            }
            else w.WriteNull("allowedSites");
            w.WriteString("allowedTypes", ClientTypeNames.Format(settings.AllowedTypes));
        }
        if (Keysets.ActiveKey(keys, now) is { } active) w.WriteNumber("activeKeyId", active.Id);
        else w.WriteNull("activeKeyId");
        w.WriteNumber("keyCount", keys.Count(k => k.Expires > now));
        if (withKeys) WriteKeys(w, "keys", keys, now);
        w.WriteEndObject();
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
        rotate.SetAction((parse, ct) => WithServiceAsync(parse, ct, async service =>
        {
            var changed = await service.RotateSaltsAsync(Actor, parse.GetValue(fraction), ct);
            var total = (await service.SaltStatusAsync(ct))?.Buckets ?? 0;
            await Report(parse, $"Rotated {changed} of {total} salt buckets.", w => { w.WriteNumber("rotated", changed); w.WriteNumber("buckets", total); });
        }, initialize: true));

        var status = new Command("status", "Salt buckets: how many, the oldest and newest rotation, and how many were rotated in the last year.");
        status.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var s = await Service(store).SaltStatusAsync(ct) ?? throw new CliException("The store has no salts.");
            await Report(parse,
                $"{s.Buckets} buckets; oldest rotation {s.Oldest:u}, newest {s.Newest:u}; {s.RotatedLastYear} rotated in the last 365 days.",
                w =>
                {
                    w.WriteNumber("buckets", s.Buckets);
                    w.WriteNumber("oldest", s.Oldest.ToUnixTimeMilliseconds());
                    w.WriteNumber("newest", s.Newest.ToUnixTimeMilliseconds());
                    w.WriteNumber("rotatedLastYear", s.RotatedLastYear);
                });
            return 0;
        });
        var cmd = new Command("salt", "Manage salts (the operator also rotates them on a schedule: Uid2:SaltRotation).") { rotate, status };
        cmd.Aliases.Add("salts");
        return cmd;
    }

    // ------------------------------------------------------------------ optout

    private Command BuildOptOut()
    {
        // One option per DII kind, from the identity-kind table: --email, --email-hash, --phone, --phone-hash.
        var identityOptions = new List<(DiiKind Kind, Option<string> Option)>();
        foreach (var kind in IdentityKinds.All)
        {
            var descriptor = IdentityKinds.Of(kind);
            identityOptions.Add((kind, new Option<string>(descriptor.CliOption) { Description = descriptor.CliDescription }));
        }
        var identityNames = string.Join(", ", identityOptions.Select(o => o.Option.Name));
        var scope = new Option<string>("--scope") { Description = "Identity scope of the stored raw UID: uid2 (default) or euid.", DefaultValueFactory = _ => "uid2" };
        scope.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "uid2", "euid");

        var add = new Command("add", $"Record an opt-out for one identity (exactly one of {identityNames}).");
        foreach (var (_, option) in identityOptions) add.Options.Add(option);
        add.Options.Add(scope);
        add.SetAction((parse, ct) =>
        {
            var given = identityOptions.Select(o => (o.Kind, Value: parse.GetValue(o.Option))).Where(g => g.Value is not null).ToArray();
            if (given.Length != 1)
                throw new CliException($"Give exactly one of {identityNames}.");
            var identityScope = string.Equals(parse.GetValue(scope), "euid", StringComparison.OrdinalIgnoreCase) ? IdentityScope.Euid : IdentityScope.Uid2;
            return AddOptOutAsync(parse, given[0].Kind, given[0].Value!, identityScope, ct);
        });

        var rawUid = new Option<string>("--raw-uid") { Description = "A raw UID2 (base64), as identity map or a DSP sees it." };
        var lookup = new Command("lookup", $"Is one identity opted out, and since when (exactly one of {identityNames}, --raw-uid)?");
        foreach (var (_, option) in identityOptions) lookup.Options.Add(option);
        lookup.Options.Add(rawUid);
        lookup.SetAction(async (parse, ct) =>
        {
            var given = identityOptions.Select(o => ((DiiKind?)o.Kind, Value: parse.GetValue(o.Option)))
                .Append((null, parse.GetValue(rawUid))).Where(g => g.Value is not null).ToArray();
            if (given.Length != 1) throw new CliException($"Give exactly one of {identityNames}, --raw-uid.");
            await using var store = await OpenAsync(parse, ct);
            var found = await Service(store).LookupOptOutAsync(given[0].Item1, given[0].Value, ct);
            if (parse.GetValue(_json))
                await WriteJsonAsync(w =>
                {
                    w.WriteBoolean("optedOut", found.OptedOut);
                    if (found.Since is { } since) w.WriteNumber("since", since.ToUnixTimeMilliseconds());
                });
            else
                await _out.WriteLineAsync(!found.OptedOut ? "Not opted out." : $"Opted out since {found.Since:u} (opt-out #{found.Id}).");
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

    private Task<int> AddOptOutAsync(ParseResult parse, DiiKind kind, string value, IdentityScope scope, CancellationToken ct) =>
        WithServiceAsync(parse, ct, async service =>
        {
            var record = await service.AddOptOutAsync(Actor, kind, value, scope, ct);
            var type = IdentityKinds.Of(IdentityKinds.Of(kind).Type).Name;
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteNumber("id", record.Id);
                    w.WriteString("type", type);
                    w.WriteString("firstLevelHash", Convert.ToBase64String(record.FirstLevelHash));
                    w.WriteString("advertisingId", Convert.ToBase64String(record.AdvertisingId));
                    w.WriteNumber("timestamp", record.Timestamp.ToUnixTimeMilliseconds());
                });
            }
            else
            {
                await _out.WriteLineAsync(
                    $"Opted out {type} identity (opt-out #{record.Id.ToString(CultureInfo.InvariantCulture)}, " +
                    $"first-level hash {Convert.ToBase64String(record.FirstLevelHash)}) at {record.Timestamp:u}.");
            }
        }, initialize: true);

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

    private Task<int> CreateClientSideKeypairAsync(ParseResult parse, int siteId, CancellationToken ct) =>
        AuditedAsync(parse, "cstg.create", $"site {siteId}", ct, async store =>
    {
        if (siteId <= 0) throw new CliException($"Invalid site id {siteId}: site ids are positive.");
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
        return $"subscription {keypair.SubscriptionId}";
    });

    private Task<int> SetClientSideKeypairDisabledAsync(ParseResult parse, string subscriptionId, bool disabled, CancellationToken ct) =>
        AuditedAsync(parse, disabled ? "cstg.disable" : "cstg.enable", $"subscription {subscriptionId.Trim()}", ct, async store =>
    {
        if (!await store.SetClientSideKeypairDisabledAsync(subscriptionId.Trim(), disabled, ct))
            throw new CliException($"No CSTG key pair with subscription id '{subscriptionId.Trim()}'.");
        if (parse.GetValue(_json))
            await WriteJsonAsync(w => { w.WriteString("subscriptionId", subscriptionId.Trim()); w.WriteBoolean("disabled", disabled); });
        else
            await _out.WriteLineAsync($"{(disabled ? "Disabled" : "Enabled")} CSTG key pair {subscriptionId.Trim()}.");
    });

    // ------------------------------------------------------------------ site

    private Command BuildWebhook()
    {
        var siteId = new Option<int>("--site-id") { Description = "The DSP's site id (an existing participant).", Required = true };
        var url = new Option<string>("--url")
        {
            Description = "URL template: %%identity%% is replaced by the raw UID2 (base64, URL-encoded), %%timestamp%% by the opt-out time " +
                          "(epoch seconds), e.g. https://dsp.example.com/optout?user=%%identity%%&optouttime=%%timestamp%%. https only " +
                          "(http for a loopback address).",
            Required = true,
        };
        var method = new Option<string>("--method") { Description = "GET (default) or POST (no body)." };
        var disabled = new Option<bool>("--disabled") { Description = "Store it disabled: no opt-out is queued for it until enabled." };
        var set = new Command("set", "Set a DSP's opt-out webhook: every opt-out from now on is delivered to it, at least once, in order.")
        {
            siteId, url, method, disabled,
        };
        set.SetAction((parse, ct) => AuditedAsync(parse, "webhook.set", $"site {parse.GetValue(siteId)}", ct, async store =>
        {
            var template = parse.GetValue(url)!.Trim();
            if (OptOutWebhookUrls.Validate(template) is { } problem) throw new CliException(problem);
            var verb = (parse.GetValue(method) ?? "GET").Trim().ToUpperInvariant();
            if (verb is not ("GET" or "POST")) throw new CliException("The method must be GET or POST.");
            var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct);
            if (snapshot.Participants.All(p => p.SiteId != parse.GetValue(siteId)))
                throw new CliException($"No participant with site id {parse.GetValue(siteId)}.");
            await Webhooks(store).SetOptOutWebhookAsync(new OptOutWebhook(parse.GetValue(siteId), template, verb, !parse.GetValue(disabled)), NowMs(), ct);
            await Report(parse, $"Opt-out webhook of site {parse.GetValue(siteId)} set ({verb} {OptOutWebhookUrls.Mask(template)}).",
                w => { w.WriteNumber("siteId", parse.GetValue(siteId)); w.WriteString("method", verb); w.WriteString("url", OptOutWebhookUrls.Mask(template)); });
            return OptOutWebhookUrls.Mask(template);
        }));

        var siteOnly = new Option<int>("--site-id") { Description = "The DSP's site id.", Required = true };
        var remove = new Command("remove", "Remove a DSP's opt-out webhook and the opt-outs still waiting for it.") { siteOnly };
        remove.SetAction((parse, ct) => AuditedAsync(parse, "webhook.remove", $"site {parse.GetValue(siteOnly)}", ct, async store =>
        {
            if (!await Webhooks(store).RemoveOptOutWebhookAsync(parse.GetValue(siteOnly), ct))
                throw new CliException($"Site {parse.GetValue(siteOnly)} has no opt-out webhook.");
            await Report(parse, $"Opt-out webhook of site {parse.GetValue(siteOnly)} removed.", w => w.WriteNumber("siteId", parse.GetValue(siteOnly)));
        }));

        var status = new Command("status", "Each DSP webhook: backlog, oldest waiting opt-out, delivered, failures, last error, next attempt.");
        status.SetAction(async (parse, ct) =>
        {
            await using var store = await OpenAsync(parse, ct);
            var list = await Webhooks(store).ListOptOutWebhooksAsync(ct);
            var now = NowMs();
            if (parse.GetValue(_json))
            {
                await WriteJsonAsync(w =>
                {
                    w.WriteStartArray("webhooks");
                    foreach (var s in list)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("siteId", s.Webhook.SiteId);
                        w.WriteString("url", OptOutWebhookUrls.Mask(s.Webhook.UrlTemplate));
                        w.WriteString("method", s.Webhook.Method);
                        w.WriteBoolean("enabled", s.Webhook.Enabled);
                        w.WriteNumber("backlog", s.Backlog);
                        if (s.OldestPendingEnqueued is { } oldest) w.WriteNumber("oldestPendingAgeSeconds", Math.Max(0, (long)(now - oldest).TotalSeconds));
                        w.WriteNumber("delivered", s.Delivered);
                        w.WriteNumber("failedAttempts", s.FailedAttempts);
                        w.WriteNumber("consecutiveFailures", s.ConsecutiveFailures);
                        if (s.LastDelivered is { } last) w.WriteString("lastDelivered", last.ToString("O", CultureInfo.InvariantCulture));
                        if (s.LastDelayMs is { } delay) w.WriteNumber("lastDelayMs", delay);
                        if (s.LastError is not null) w.WriteString("lastError", s.LastError);
                        if (s.NextAttempt > now) w.WriteString("nextAttempt", s.NextAttempt.ToString("O", CultureInfo.InvariantCulture));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return 0;
            }
            if (list.Count == 0) await _out.WriteLineAsync("No opt-out webhooks.");
            foreach (var s in list)
            {
                var oldest = s.OldestPendingEnqueued is { } o ? $", oldest waiting {Keysets.Age(now - o)}" : "";
                var failing = s.ConsecutiveFailures > 0 ? $"; FAILING x{s.ConsecutiveFailures}: {s.LastError}, next attempt {s.NextAttempt:u}" : "";
                await _out.WriteLineAsync($"{s.Webhook.SiteId,8}  {(s.Webhook.Enabled ? "enabled " : "DISABLED")}  {s.Webhook.Method,-4} " +
                                          $"{OptOutWebhookUrls.Mask(s.Webhook.UrlTemplate)}  backlog {s.Backlog}{oldest}; delivered {s.Delivered}, " +
                                          $"failed attempts {s.FailedAttempts}{failing}");
            }
            return 0;
        });
        return new Command("webhook", "Opt-out webhooks: how DSPs learn of every opt-out (delivered by the running operators).") { set, remove, status };
    }

    private static IStoreOptOutWebhooks Webhooks(IUid2Store store) =>
        store as IStoreOptOutWebhooks ?? throw new CliException("This store does not support opt-out webhooks.");

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
            await Admin(store).AppendAuditAsync(Actor, appNames ? "site.app-names" : "site.domains", $"site {siteId} ({names.Count} names)", "ok", NowMs(), ct);
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
        await Admin(store).AppendAuditAsync(Actor, "kek.reseal", $"sealed under kek {kek.PrimaryId}", "ok", NowMs(), ct);
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
        var store = Uid2StoreFactory.Create(ConnectionString(parse), kek, parse.GetValue(_storeProvider));
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
