using Microsoft.AspNetCore.Mvc;
using Uid2.Operator.Admin;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class ParticipantModel(AdminService admin, IUid2Store store, OperatorStateProvider state) : AdminPageModel(admin, store, state)
{
    [BindProperty(SupportsGet = true)] public int SiteId { get; set; }

    public Participant? Participant { get; private set; }
    public IReadOnlyList<ApiKeyRecord> ApiKeys { get; private set; } = [];
    public IReadOnlyList<ClientSideKeypair> ClientSide { get; private set; } = [];
    public IReadOnlyList<string> Domains { get; private set; } = [];
    public IReadOnlyList<string> Apps { get; private set; } = [];
    public IReadOnlyList<AuditEntry> Activity { get; private set; } = [];

    /// <summary>A secret shown once, right after it was made.</summary>
    public sealed record ShownSecret(string Title, string? ApiKey, string Secret, DateTimeOffset? Until);
    public ShownSecret? Shown { get; private set; }

    public Task OnGetAsync() => LoadAsync();

    public async Task OnPostEnabledAsync(bool enabled)
    {
        if (await ActAsync(() => Admin.SetParticipantEnabledAsync(Actor, SiteId, enabled, HttpContext.RequestAborted)))
            TempData["Notice"] = enabled ? "Participant enabled." : "Participant disabled: its API keys answer 401.";
        await LoadAsync();
    }

    public async Task OnPostRolesAsync(List<string> roles)
    {
        await ActAsync(() => Admin.SetParticipantRolesAsync(Actor, SiteId, AdminViews.ParseRoles(string.Join(',', roles)), HttpContext.RequestAborted));
        await LoadAsync();
    }

    public async Task OnPostIssueAsync(string? keyName)
    {
        await ActAsync(async () =>
        {
            var key = await Admin.IssueApiKeyAsync(Actor, SiteId, null, keyName, HttpContext.RequestAborted);
            Shown = new ShownSecret($"Issued API key {key.KeyId}.", key.ApiKey, key.ClientSecret, null);
        });
        await LoadAsync();
    }

    public async Task OnPostRevokeAsync(string keyId)
    {
        await ActAsync(async () =>
        {
            await OwnKeyAsync(keyId);
            await Admin.RevokeApiKeyAsync(Actor, keyId, HttpContext.RequestAborted);
        });
        await LoadAsync();
    }

    public async Task OnPostRotateSecretAsync(string keyId, double overlapHours)
    {
        await ActAsync(async () =>
        {
            await OwnKeyAsync(keyId);
            if (double.IsNaN(overlapHours) || overlapHours < 0 || overlapHours > AdminService.MaxSecretOverlap.TotalHours)
                throw new AdminException(AdminErrorKind.Invalid, $"The overlap must be between 0 and {AdminService.MaxSecretOverlap.TotalHours:0} hours.");
            var rotated = await Admin.RotateClientSecretAsync(Actor, keyId, TimeSpan.FromHours(overlapHours), HttpContext.RequestAborted);
            Shown = new ShownSecret($"New client secret for {rotated.KeyId}.", null, rotated.ClientSecret, rotated.PreviousAcceptedUntil);
        });
        await LoadAsync();
    }

    /// <summary>A form posts a key id; it must belong to this participant (no acting on another site's key from here).</summary>
    private async Task OwnKeyAsync(string keyId)
    {
        if (!(await SnapshotAsync()).ApiKeys.Any(k => k.KeyId == keyId && k.SiteId == SiteId))
            throw new AdminException(AdminErrorKind.NotFound, $"Site {SiteId} has no API key {keyId}.");
    }

    private async Task LoadAsync()
    {
        var snapshot = await SnapshotAsync();
        Participant = snapshot.Participants.FirstOrDefault(p => p.SiteId == SiteId);
        ApiKeys = snapshot.ApiKeys.Where(k => k.SiteId == SiteId).ToList();
        ClientSide = (snapshot.ClientSideKeypairs ?? []).Where(c => c.SiteId == SiteId).ToList();
        Domains = snapshot.DomainNames?.GetValueOrDefault(SiteId) ?? [];
        Apps = snapshot.AppNames?.GetValueOrDefault(SiteId) ?? [];
        Activity = AdminViews.ActivityOf(await Admin.ListAuditAsync(500, HttpContext.RequestAborted), SiteId, ApiKeys.Select(k => k.KeyId)).Take(20).ToList();
        if (Participant is null) Response.StatusCode = StatusCodes.Status404NotFound;
    }
}
