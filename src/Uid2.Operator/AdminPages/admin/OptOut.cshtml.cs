using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Admin;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class OptOutModel(AdminService admin, IUid2Store store, OperatorStateProvider state) : AdminPageModel(admin, store, state)
{
    private readonly OperatorStateProvider _state = state;
    public string? Result { get; private set; }
    public long Count => _state.OptOuts.Count;

    public void OnGet() { }

    public async Task OnPostLookupAsync(string kind, string value)
    {
        DiiKind? k = kind == "raw_uid" ? null : Kind(kind);
        try
        {
            var found = await Admin.LookupOptOutAsync(k, value, HttpContext.RequestAborted);
            Result = found.OptedOut ? $"Opted out since {found.Since:u} (opt-out #{found.Id})." : "Not opted out.";
        }
        catch (AdminException ex)
        {
            ViewData["Error"] = ex.Message;
        }
    }

    public async Task OnPostAddAsync(string kind, string value)
    {
        await ActAsync(async () =>
        {
            var record = await Admin.AddOptOutAsync(Actor, Kind(kind), value, _state.Current.Scope, HttpContext.RequestAborted);
            Result = $"Opted out (opt-out #{record.Id}, {record.Timestamp:u}). Refreshing this user's tokens now answers optout.";
        });
    }

    private static DiiKind Kind(string kind) =>
        kind is not null && IdentityKinds.TryParseParameterName(kind, out var k) ? k : throw new AdminException(AdminErrorKind.Invalid, "Unknown kind.");
}
