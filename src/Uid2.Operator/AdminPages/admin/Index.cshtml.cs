using Microsoft.AspNetCore.Mvc;
using Uid2.Operator.Admin;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class IndexModel(AdminService admin, IUid2Store store, OperatorStateProvider state) : AdminPageModel(admin, store, state)
{
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    [BindProperty] public string? Name { get; set; }
    [BindProperty] public int SiteId { get; set; }
    [BindProperty] public List<string> Roles { get; set; } = [];

    public IReadOnlyList<Participant> Participants { get; private set; } = [];
    public IssuedApiKey? Issued { get; private set; }
    private StoreSnapshot? _snapshot;

    public int ActiveKeys(int siteId) => _snapshot?.ApiKeys.Count(k => k.SiteId == siteId && !k.Disabled) ?? 0;

    public async Task OnGetAsync() => await LoadAsync();

    public async Task OnPostAsync()
    {
        await ActAsync(async () =>
        {
            var (_, key, _) = await Admin.CreateParticipantAsync(Actor, Name ?? "", SiteId, AdminViews.ParseRoles(string.Join(',', Roles)), HttpContext.RequestAborted);
            Issued = key;
        });
        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        _snapshot = await SnapshotAsync();
        Participants = AdminViews.Search(_snapshot, Q).ToList();
    }
}
