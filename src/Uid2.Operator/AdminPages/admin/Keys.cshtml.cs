using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Uid2.Core.Keys;
using Uid2.Operator.Admin;
using Uid2.Operator.Configuration;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class KeysModel(AdminService admin, IUid2Store store, OperatorStateProvider state, IOptions<OperatorOptions> options)
    : AdminPageModel(admin, store, state)
{
    public SaltStatus? Salts { get; private set; }
    public DateTimeOffset? NextSaltRotation { get; private set; }
    public IReadOnlyList<EncryptionKey> Keys { get; private set; } = [];
    public IReadOnlyList<IGrouping<int, EncryptionKey>> Keysets { get; private set; } = [];
    private StoreSnapshot? _snapshot;

    public string Owner(int siteId) => _snapshot is null ? "" : Uid2.Storage.Keysets.Owner(siteId, _snapshot);

    public Task OnGetAsync() => LoadAsync();

    public async Task OnPostRotateSaltsAsync(double fraction)
    {
        if (await ActAsync(async () => TempData["Notice"] = $"Re-salted {await Admin.RotateSaltsAsync(Actor, fraction, HttpContext.RequestAborted)} buckets."))
            await LoadAsync();
        else await LoadAsync();
    }

    public async Task OnPostRotateKeyAsync(int siteId)
    {
        await ActAsync(async () => TempData["Notice"] = $"Added key {(await Admin.RotateKeyAsync(Actor, siteId, HttpContext.RequestAborted)).Id}, active now.");
        await LoadAsync();
    }

    public async Task OnPostRetireAsync(int keyId, bool revoke)
    {
        await ActAsync(async () =>
        {
            await Admin.RetireKeyAsync(Actor, keyId, revoke, HttpContext.RequestAborted);
            TempData["Notice"] = revoke ? $"Key {keyId} revoked: no longer shared." : $"Key {keyId} retired.";
        });
        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        _snapshot = await SnapshotAsync();
        Salts = await Admin.SaltStatusAsync(HttpContext.RequestAborted);
        NextSaltRotation = Salts is null ? null : AdminViews.NextSaltRotation(Salts, options.Value.SaltRotation);
        Keys = _snapshot.Keys.Where(k => k.Expires > Now - TimeSpan.FromDays(30)).OrderByDescending(k => k.Id).ToList();
        Keysets = _snapshot.Keys.GroupBy(k => k.SiteId).OrderBy(g => g.Key).ToList();
    }
}
