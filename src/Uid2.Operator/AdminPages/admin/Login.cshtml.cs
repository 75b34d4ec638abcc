using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Uid2.Core.Auth;
using Uid2.Operator.Admin;
using Uid2.Operator.Auth;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.AdminPages.Admin;

public sealed class LoginModel(OperatorStateProvider state, AdminService admin) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    [BindProperty] public string? AdminKey { get; set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        var outcome = AdminAuth.Authenticate("Bearer " + (AdminKey ?? "").Trim(), state.Current, out var client);
        AdminKey = null; // never rendered back
        if (outcome != AuthOutcome.Authenticated || client is null || !client.Has(Role.Admin))
        {
            await admin.RecordAsync("admin:?", "admin.login", "admin page", "refused: not an admin credential", HttpContext.RequestAborted);
            ViewData["Error"] = "That is not a valid admin credential.";
            return Page();
        }
        await HttpContext.SignInAsync(AdminAuth.Scheme, AdminAuth.Principal(client));
        await admin.RecordAsync("admin:" + client.Key.Name, "admin.login", $"admin page (key {client.Key.KeyId})", "ok", HttpContext.RequestAborted);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) && ReturnUrl!.StartsWith("/admin", StringComparison.Ordinal) ? ReturnUrl : "/admin");
    }
}
