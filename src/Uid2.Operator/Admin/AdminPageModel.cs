using Microsoft.AspNetCore.Mvc.RazorPages;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Admin;

/// <summary>
/// Base of the admin pages: the shared <see cref="AdminService"/> (rules and audit), the store for reading, and
/// <see cref="ActAsync"/> which runs an action as the signed-in admin, shows a refusal as the page's error, and
/// reloads this instance's state so the change is served at once (others pick it up from the store).
/// </summary>
public abstract class AdminPageModel(AdminService admin, IUid2Store store, OperatorStateProvider state) : PageModel
{
    protected AdminService Admin => admin;
    protected IUid2Store Store => store;
    protected string Actor => AdminAuth.Actor(User);
    public DateTimeOffset Now => admin.Now;

    /// <summary>Runs <paramref name="action"/>; true if it succeeded. A refusal becomes the page's error message.</summary>
    protected async Task<bool> ActAsync(Func<Task> action)
    {
        try
        {
            await action();
            await state.ReloadAsync(HttpContext.RequestAborted);
            return true;
        }
        catch (AdminException ex)
        {
            ViewData["Error"] = ex.Message;
            return false;
        }
    }

    protected Task<StoreSnapshot> SnapshotAsync() => store.LoadSnapshotAsync(includeOptOuts: false, HttpContext.RequestAborted);
}
