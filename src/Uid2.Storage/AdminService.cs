using System.Globalization;
using Uid2.Core;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Core.Normalization;

namespace Uid2.Storage;

/// <summary>What went wrong with an administrative action: the caller's input, a missing thing, or a clash with what is stored.</summary>
public enum AdminErrorKind { Invalid, NotFound, Conflict }

/// <summary>An administrative action refused; its message is meant for the person who asked (never a secret in it).</summary>
public sealed class AdminException(AdminErrorKind kind, string message) : Exception(message)
{
    public AdminErrorKind Kind { get; } = kind;
}

/// <summary>A new API key and its client secret: shown once to the person who asked, then only the key's hash is kept.</summary>
public sealed record IssuedApiKey(string KeyId, string ApiKey, string ClientSecret, int SiteId, Role Roles)
{
    public override string ToString() => $"IssuedApiKey {{ KeyId = {KeyId}, SiteId = {SiteId}, Roles = {Roles} }}";
}

/// <summary>A client secret after rotation: the new one (shown once) and until when the previous one is still accepted.</summary>
public sealed record RotatedClientSecret(string KeyId, string ClientSecret, DateTimeOffset PreviousAcceptedUntil)
{
    public override string ToString() => $"RotatedClientSecret {{ KeyId = {KeyId}, PreviousAcceptedUntil = {PreviousAcceptedUntil:O} }}";
}

/// <summary>The salt buckets at a glance: how many, the oldest and newest (re)salting, how many in the last 365 days.</summary>
public sealed record SaltStatus(int Buckets, DateTimeOffset Oldest, DateTimeOffset Newest, int RotatedLastYear);

/// <summary>
/// Scheduled salt rotation: every <see cref="Interval"/>, the <see cref="Fraction"/> of buckets salted longest ago get
/// new salts. The defaults (daily, 1/365) re-salt every bucket about once a year, as the reference does.
/// </summary>
public sealed record SaltSchedule
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromDays(1);
    public double Fraction { get; init; } = 1.0 / 365;

    /// <summary>When the next scheduled rotation is due, given the newest (re)salting.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset newest) => newest + Interval;

    /// <summary>How many buckets one run re-salts (at least one).</summary>
    public int CountFor(int buckets) => Math.Clamp((int)Math.Ceiling(Fraction * buckets), 1, buckets);

    public void Validate()
    {
        if (Interval < TimeSpan.FromMinutes(1)) throw new ArgumentException("The salt rotation interval must be at least one minute.");
        if (double.IsNaN(Fraction) || Fraction <= 0 || Fraction > 1) throw new ArgumentException("The salt rotation fraction must be in (0, 1].");
    }
}

/// <summary>Whether an identity is opted out, and since when.</summary>
public sealed record OptOutLookup(bool OptedOut, DateTimeOffset? Since, long? Id);

/// <summary>
/// The administrative actions and their rules, written once for the admin CLI and the operator's admin page: input
/// checks, the store writes, and an audit entry for each (who, what, on what, how it ended; failures too, never a
/// secret). Refusals are <see cref="AdminException"/>s whose message is fit to show.
/// </summary>
public sealed class AdminService(IUid2Store store, TimeProvider time)
{
    /// <summary>How long a rotated client secret stays accepted by default.</summary>
    public static readonly TimeSpan DefaultSecretOverlap = TimeSpan.FromDays(7);

    /// <summary>The longest overlap a rotation may keep the previous secret for.</summary>
    public static readonly TimeSpan MaxSecretOverlap = TimeSpan.FromDays(90);

    private IStoreAdministration Admin => store as IStoreAdministration
                                         ?? throw new AdminException(AdminErrorKind.Invalid, "This store does not support administration.");

    /// <summary>Now, at the store's millisecond precision.</summary>
    public DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    // ------------------------------------------------------------------ participants

    public Task<(Participant Participant, IssuedApiKey Key, EncryptionKey? SiteKey)> CreateParticipantAsync(
        string actor, string name, int siteId, Role roles, CancellationToken ct) =>
        AuditedAsync(actor, "participant.create", $"site {siteId}", async () =>
        {
            name = (name ?? "").Trim();
            if (name.Length == 0) throw Invalid("The name must not be empty.");
            if (name.Length > 200) throw Invalid("The name must be at most 200 characters.");
            if (siteId <= 0) throw Invalid($"Invalid site id {siteId}: site ids are positive.");
            if (siteId == ReservedSites.FallbackPublisher) throw Invalid($"Site id {siteId} is reserved for the fallback publisher keys.");
            if (roles == Role.None) throw Invalid("A participant needs at least one role.");
            if ((roles & Role.Admin) != 0) throw Invalid(AdminIsNotAParticipantRole);
            if (await store.GetParticipantAsync(siteId, ct).ConfigureAwait(false) is { } existing)
                throw new AdminException(AdminErrorKind.Conflict, $"A participant with site id {siteId} already exists ('{existing.Name}').");

            var now = Now;
            var generated = ApiKeys.Generate(siteId);
            var secret = ApiKeys.GenerateClientSecret();
            var participant = new Participant(siteId, name, roles, Enabled: true, now);
            try
            {
                await store.CreateParticipantAsync(participant,
                    new ApiKeyRecord(generated.KeyId, generated.KeyHash, generated.KeySalt, siteId, name, roles, secret, Disabled: false, now), ct).ConfigureAwait(false);
            }
            catch (StoreConflictException ex)
            {
                throw new AdminException(AdminErrorKind.Conflict, ex.Message);
            }
            var keys = await KeyMaintenance.EnsureActiveKeysAsync(store, [siteId], time, new KeyPolicy(), ct).ConfigureAwait(false);
            var result = (participant, new IssuedApiKey(generated.KeyId, generated.Key, secret, siteId, roles), keys.FirstOrDefault(k => k.SiteId == siteId));
            return (result, $"api key {generated.KeyId}, roles {Roles.Format(roles)}");
        });

    public Task SetParticipantEnabledAsync(string actor, int siteId, bool enabled, CancellationToken ct) =>
        AuditedAsync(actor, enabled ? "participant.enable" : "participant.disable", $"site {siteId}", async () =>
        {
            if (!await Admin.SetParticipantEnabledAsync(siteId, enabled, ct).ConfigureAwait(false)) throw NoParticipant(siteId);
            return (true, (string?)null);
        });

    public Task SetParticipantRolesAsync(string actor, int siteId, Role roles, CancellationToken ct) =>
        AuditedAsync(actor, "participant.set-roles", $"site {siteId}", async () =>
        {
            if (roles == Role.None) throw Invalid("A participant needs at least one role.");
            if ((roles & Role.Admin) != 0) throw Invalid(AdminIsNotAParticipantRole);
            if (!await Admin.SetParticipantRolesAsync(siteId, roles, ct).ConfigureAwait(false)) throw NoParticipant(siteId);
            return (true, (string?)Roles.Format(roles));
        });

    public Task SetParticipantNameAsync(string actor, int siteId, string name, CancellationToken ct) =>
        AuditedAsync(actor, "participant.set-name", $"site {siteId}", async () =>
        {
            name = (name ?? "").Trim();
            if (name.Length is 0 or > 200) throw Invalid("The name must be 1 to 200 characters.");
            if (!await Admin.SetParticipantNameAsync(siteId, name, ct).ConfigureAwait(false)) throw NoParticipant(siteId);
            return (true, (string?)null);
        });

    // ------------------------------------------------------------------ API keys and client secrets

    /// <summary>Issues another API key (its own client secret) for a participant; roles default to the participant's.</summary>
    public Task<IssuedApiKey> IssueApiKeyAsync(string actor, int siteId, Role? roles, string? name, CancellationToken ct) =>
        AuditedAsync(actor, "apikey.issue", $"site {siteId}", async () =>
        {
            var participant = await store.GetParticipantAsync(siteId, ct).ConfigureAwait(false) ?? throw NoParticipant(siteId);
            var keyRoles = roles ?? participant.Roles;
            if (keyRoles == Role.None) throw Invalid("An API key needs at least one role.");
            if ((keyRoles & Role.Admin) != 0) throw Invalid(AdminIsNotAParticipantRole);
            var keyName = name?.Trim() is { Length: > 0 } n ? n : participant.Name;
            if (keyName.Length > 200) throw Invalid("The name must be at most 200 characters.");
            var generated = ApiKeys.Generate(siteId);
            var secret = ApiKeys.GenerateClientSecret();
            await store.AddApiKeyAsync(new ApiKeyRecord(generated.KeyId, generated.KeyHash, generated.KeySalt, siteId, keyName, keyRoles, secret,
                Disabled: false, Now), ct).ConfigureAwait(false);
            return (new IssuedApiKey(generated.KeyId, generated.Key, secret, siteId, keyRoles), $"api key {generated.KeyId}");
        });

    /// <summary>Revokes an API key: every operator answers 401 for it once it has read the change.</summary>
    public Task RevokeApiKeyAsync(string actor, string keyId, CancellationToken ct) =>
        AuditedAsync(actor, "apikey.revoke", $"api key {keyId = KeyId(keyId)}", async () =>
        {
            if (!await Admin.SetApiKeyDisabledAsync(keyId, true, ct).ConfigureAwait(false)) throw NoApiKey(keyId);
            return (true, (string?)null);
        });

    /// <summary>
    /// Gives an API key a new client secret; the current one stays accepted for <paramref name="overlap"/> (0: at once
    /// not), so a publisher can deploy the new secret without failed calls.
    /// </summary>
    public Task<RotatedClientSecret> RotateClientSecretAsync(string actor, string keyId, TimeSpan overlap, CancellationToken ct) =>
        AuditedAsync(actor, "secret.rotate", $"api key {keyId = KeyId(keyId)}", async () =>
        {
            if (overlap < TimeSpan.Zero || overlap > MaxSecretOverlap)
                throw Invalid($"The overlap must be between 0 and {MaxSecretOverlap.TotalDays:0} days.");
            var secret = ApiKeys.GenerateClientSecret();
            var until = Now + overlap;
            if (!await Admin.RotateClientSecretAsync(keyId, secret, until, ct).ConfigureAwait(false)) throw NoApiKey(keyId);
            return (new RotatedClientSecret(keyId, secret, until), $"previous accepted until {until:O}");
        });

    // ------------------------------------------------------------------ admin credentials

    /// <summary>The site id admin credentials are filed under: no participant has it, so they reach no protocol endpoint.</summary>
    public const int AdminSiteId = 0;

    private const string AdminIsNotAParticipantRole = "ADMIN is not a participant role: create an admin credential with 'uid2-admin admin create'.";

    /// <summary>Creates an admin credential (an API key with only the ADMIN role) for a person; printed once, stored hashed.</summary>
    public Task<IssuedApiKey> CreateAdminCredentialAsync(string actor, string name, CancellationToken ct) =>
        AuditedAsync(actor, "admin.create", $"admin {name?.Trim()}", async () =>
        {
            name = (name ?? "").Trim();
            if (name.Length is 0 or > 100 || name.Any(char.IsControl)) throw Invalid("The admin's name must be 1 to 100 printable characters.");
            var generated = ApiKeys.Generate(AdminSiteId, environment: 'A');
            await store.AddApiKeyAsync(new ApiKeyRecord(generated.KeyId, generated.KeyHash, generated.KeySalt, AdminSiteId, name, Role.Admin,
                ApiKeys.GenerateClientSecret(), Disabled: false, Now), ct).ConfigureAwait(false);
            return (new IssuedApiKey(generated.KeyId, generated.Key, "", AdminSiteId, Role.Admin), $"key {generated.KeyId}");
        });

    // ------------------------------------------------------------------ encryption keys

    /// <summary>Adds a key for a keyset (site) that is active at once: new tokens use it from the next state reload.</summary>
    public Task<EncryptionKey> RotateKeyAsync(string actor, int siteId, CancellationToken ct) =>
        AuditedAsync(actor, "key.rotate", $"keyset of site {siteId}", async () =>
        {
            if (siteId != ReservedSites.Master && siteId != ReservedSites.Refresh && siteId != ReservedSites.FallbackPublisher
                && await store.GetParticipantAsync(siteId, ct).ConfigureAwait(false) is null)
                throw NoParticipant(siteId);
            var now = Now;
            var policy = new KeyPolicy();
            var added = await store.AddKeysAtomicallyAsync(existing =>
            {
                var id = existing.Count == 0 ? 1 : Math.Max(1, existing.Max(k => k.Id) + 1);
                return [new EncryptionKey(id, siteId, now, now, now + policy.Lifetime, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))];
            }, ct).ConfigureAwait(false);
            return (added[0], $"key {added[0].Id}");
        });

    /// <summary>
    /// Retires a key now: it expires, so no new token uses it, and its keyset gets a new active key. Tokens already
    /// encrypted with it keep decrypting until they expire — unless <paramref name="revoke"/>: then the key is deleted
    /// (for a key that may have leaked), the key endpoints stop sharing it and every token encrypted with it stops
    /// decrypting (for a master or refresh key: every such token in the wild; their users sign in again).
    /// </summary>
    public Task<IReadOnlyList<EncryptionKey>> RetireKeyAsync(string actor, int keyId, bool revoke, CancellationToken ct) =>
        AuditedAsync(actor, revoke ? "key.revoke" : "key.retire", $"key {keyId}", async () =>
        {
            var key = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Keys.FirstOrDefault(k => k.Id == keyId)
                      ?? throw new AdminException(AdminErrorKind.NotFound, $"No encryption key with id {keyId}.");
            var now = Now;
            if (revoke) await Admin.DeleteKeyAsync(keyId, ct).ConfigureAwait(false);
            else if (key.Expires <= now) throw Invalid($"Key {keyId} has already expired (revoke it to stop sharing it).");
            else await Admin.SetKeyExpiresAsync(keyId, now, ct).ConfigureAwait(false);
            var added = await KeyMaintenance.EnsureActiveKeysAsync(store, [key.SiteId], time, new KeyPolicy(), ct).ConfigureAwait(false);
            var replacement = added.Where(k => k.SiteId == key.SiteId).Select(k => k.Id).ToList();
            return (added, replacement.Count == 0 ? null : "replaced by key " + string.Join(",", replacement));
        });

    // ------------------------------------------------------------------ salts

    /// <summary>Gives a random fraction of the salt buckets new salts; returns how many changed.</summary>
    public Task<int> RotateSaltsAsync(string actor, double fraction, CancellationToken ct) =>
        AuditedAsync(actor, "salt.rotate", $"fraction {fraction.ToString(CultureInfo.InvariantCulture)}", async () =>
        {
            if (double.IsNaN(fraction) || fraction < 0 || fraction > 1) throw Invalid("The fraction must be between 0 and 1.");
            var current = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Salts
                          ?? throw Invalid("The store has no salts.");
            var rotated = SaltSetFactory.Rotate(current, fraction, Now.ToUnixTimeMilliseconds());
            var changed = await SaveRotationAsync(current, rotated, ct).ConfigureAwait(false);
            return (changed, $"{changed} of {rotated.Buckets.Count} buckets");
        });

    /// <summary>The salt buckets at a glance; null when the store has no salts.</summary>
    public async Task<SaltStatus?> SaltStatusAsync(CancellationToken ct)
    {
        var salts = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Salts;
        if (salts is null) return null;
        long oldest = long.MaxValue, newest = long.MinValue;
        var yearAgo = Now.AddDays(-365).ToUnixTimeMilliseconds();
        var recent = 0;
        foreach (var b in salts.Buckets)
        {
            oldest = Math.Min(oldest, b.LastUpdatedMs);
            newest = Math.Max(newest, b.LastUpdatedMs);
            if (b.LastUpdatedMs >= yearAgo && b.PreviousSalt is not null) recent++;
        }
        return new SaltStatus(salts.Buckets.Count, DateTimeOffset.FromUnixTimeMilliseconds(oldest), DateTimeOffset.FromUnixTimeMilliseconds(newest), recent);
    }

    /// <summary>
    /// Runs the scheduled rotation if it is due (the newest re-salting is at least <see cref="SaltSchedule.Interval"/>
    /// old): re-salts the buckets salted longest ago. Returns how many changed (0: not due). Callers on several instances
    /// hold the maintenance lock, so one instance runs it.
    /// </summary>
    public async Task<int> RunScheduledSaltRotationAsync(string actor, SaltSchedule schedule, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        schedule.Validate();
        var salts = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Salts;
        if (salts is null) return 0;
        var newest = DateTimeOffset.FromUnixTimeMilliseconds(salts.Buckets.Max(b => b.LastUpdatedMs));
        if (Now < schedule.NextAfter(newest)) return 0;
        return await AuditedAsync(actor, "salt.rotate-scheduled", $"{schedule.CountFor(salts.Buckets.Count)} oldest buckets", async () =>
        {
            var rotated = SaltSetFactory.RotateOldest(salts, schedule.CountFor(salts.Buckets.Count), Now.ToUnixTimeMilliseconds());
            return (await SaveRotationAsync(salts, rotated, ct).ConfigureAwait(false), (string?)null);
        }).ConfigureAwait(false);
    }

    /// <summary>Writes only the buckets a rotation changed (a rotation of 1% writes 1% of the rows). Returns how many.</summary>
    private async Task<int> SaveRotationAsync(SaltSet current, SaltSet rotated, CancellationToken ct)
    {
        var changed = new List<SaltBucket>();
        for (var i = 0; i < rotated.Buckets.Count; i++)
            if (!ReferenceEquals(rotated.Buckets[i], current.Buckets[i])) changed.Add(rotated.Buckets[i]);
        if (changed.Count > 0) await Admin.UpdateSaltBucketsAsync(changed, ct).ConfigureAwait(false);
        return changed.Count;
    }

    // ------------------------------------------------------------------ opt-outs

    /// <summary>Parses an identity the way the API does (email normalized, phone E.164, hashes base64 or hex).</summary>
    public static IdentityInput ParseIdentity(DiiKind kind, string? value)
    {
        if (IdentityInputParser.TryParse(kind, value, out var input)) return input;
        throw Invalid(IdentityKinds.TryGet(kind, out var descriptor) ? descriptor.InvalidValueMessage : "Unknown identity kind.");
    }

    /// <summary>Records an opt-out for one identity; the audit entry names its row and kind, never the identity.</summary>
    public Task<OptOutRecord> AddOptOutAsync(string actor, DiiKind kind, string? value, IdentityScope scope, CancellationToken ct) =>
        AuditedAsync(actor, "optout.add", IdentityKinds.TryGet(kind, out var descriptor) ? IdentityKinds.Of(descriptor.Type).Name : "unknown", async () =>
        {
            var input = ParseIdentity(kind, value);
            var salts = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Salts ?? throw Invalid("The store has no salts.");
            var now = Now;
            var derived = new IdentityDeriver(salts, scope).Derive(input, now);
            var record = await store.AddOptOutAsync(derived.FirstLevelHash, derived.RawUid, now, ct).ConfigureAwait(false);
            return (record, $"opt-out #{record.Id}");
        });

    /// <summary>
    /// Is an identity (or, with a null kind, a raw UID2 in base64) opted out, and since when. By identity: one indexed
    /// read. By raw UID2: a scan of the opt-outs a page at a time (the store has no index on raw UID2s; memory stays at a page).
    /// </summary>
    public async Task<OptOutLookup> LookupOptOutAsync(DiiKind? kind, string? value, CancellationToken ct)
    {
        if (kind is { } k)
        {
            var input = ParseIdentity(k, value);
            var salts = (await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false)).Salts ?? throw Invalid("The store has no salts.");
            var flh = new IdentityDeriver(salts, IdentityScope.Uid2).FirstLevelHash(input);
            var row = await Admin.FindOptOutAsync(flh, ct).ConfigureAwait(false);
            return new OptOutLookup(row is not null, row?.Timestamp, row?.Id);
        }

        var raw = new byte[40];
        if (value is null || !Convert.TryFromBase64String(value.Trim(), raw, out var n) || n is not (32 or 33))
            throw Invalid("Invalid raw UID2: expected the base64 of a 32- or 33-byte raw UID2.");
        var tail = raw.AsSpan(n - 32, 32).ToArray();
        OptOutRecord? found = null;
        await IStoreOptOutPages.ReadAllAsync(store, 0, 100_000, page =>
        {
            foreach (var o in page)
                if (o.AdvertisingId.Length >= 32 && o.AdvertisingId.AsSpan(o.AdvertisingId.Length - 32).SequenceEqual(tail)
                    && (found is null || o.Timestamp > found.Timestamp))
                    found = o;
            return Task.CompletedTask;
        }, ct).ConfigureAwait(false);
        return new OptOutLookup(found is not null, found?.Timestamp, found?.Id);
    }

    // ------------------------------------------------------------------ audit

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct) => Admin.ListAuditAsync(limit, ct);

    /// <summary>Records an action done elsewhere (a CLI command outside this service) with its outcome.</summary>
    public Task RecordAsync(string actor, string action, string target, string outcome, CancellationToken ct) =>
        Admin.AppendAuditAsync(actor, action, target, outcome, Now, ct);

    /// <summary>Runs an action and records it with its outcome: "ok" (with a detail), or "refused: …" for an <see cref="AdminException"/>.</summary>
    private async Task<T> AuditedAsync<T>(string actor, string action, string target, Func<Task<(T Result, string? Detail)>> run)
    {
        try
        {
            var (result, detail) = await run().ConfigureAwait(false);
            await Admin.AppendAuditAsync(actor, action, detail is null ? target : $"{target} ({detail})", "ok", Now).ConfigureAwait(false);
            return result;
        }
        catch (AdminException ex)
        {
            await Admin.AppendAuditAsync(actor, action, target, "refused: " + ex.Message, Now).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            try
            {
                await Admin.AppendAuditAsync(actor, action, target, "failed: " + ex.GetType().Name, Now).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The store is failing: the original error is what the caller needs.
            }
            throw;
        }
    }

    /// <summary>A key id as given, or the key id of a whole API key pasted by mistake (so the key itself is never recorded).</summary>
    private static string KeyId(string? keyIdOrKey) => ApiKeys.KeyIdOf((keyIdOrKey ?? "").Trim());

    private static AdminException Invalid(string message) => new(AdminErrorKind.Invalid, message);
    private static AdminException NoParticipant(int siteId) => new(AdminErrorKind.NotFound, $"No participant with site id {siteId}.");
    private static AdminException NoApiKey(string? keyId) => new(AdminErrorKind.NotFound, $"No API key with key id {keyId}.");
}
