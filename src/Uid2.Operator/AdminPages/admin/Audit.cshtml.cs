using Uid2.Operator.Admin;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class AuditModel(AdminService admin, IUid2Store store, OperatorStateProvider state) : AdminPageModel(admin, store, state)
{
    public IReadOnlyList<AuditEntry> Entries { get; private set; } = [];

    public async Task OnGetAsync() => Entries = await Admin.ListAuditAsync(200, HttpContext.RequestAborted);
}
