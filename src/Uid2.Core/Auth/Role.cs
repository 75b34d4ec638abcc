namespace Uid2.Core.Auth;

/// <summary>Participant roles. Stored and printed as their upper-case names (GENERATOR, MAPPER, ...).</summary>
[Flags]
public enum Role
{
    None = 0,
    Generator = 1 << 0,
    Mapper = 1 << 1,
    IdReader = 1 << 2,
    Sharer = 1 << 3,
    Operator = 1 << 4,
    Optout = 1 << 5,
    OptoutService = 1 << 6,

    /// <summary>
    /// An operator's administrator (the admin page and <c>/admin/api</c>), never a participant's role: admin credentials
    /// are made by <c>uid2-admin admin create</c> and can call no protocol endpoint.
    /// </summary>
    Admin = 1 << 7,
}

public static class Roles
{
    private static readonly (Role Role, string Name)[] Names =
    [
        (Role.Generator, "GENERATOR"), (Role.Mapper, "MAPPER"), (Role.IdReader, "ID_READER"), (Role.Sharer, "SHARER"),
        (Role.Operator, "OPERATOR"), (Role.Optout, "OPTOUT"), (Role.OptoutService, "OPTOUT_SERVICE"),
        (Role.Admin, "ADMIN"),
    ];

    /// <summary>Parses a comma-separated list, case-insensitive (<c>generator,sharer</c>). Unknown names are ignored, as in the reference.</summary>
    public static Role Parse(string? text)
    {
        var result = Role.None;
        if (string.IsNullOrWhiteSpace(text)) return result;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            result |= TryParseOne(part, out var r) ? r : Role.None;
        return result;
    }

    public static bool TryParseOne(string name, out Role role)
    {
        var normalized = name.Trim().Replace('-', '_');
        foreach (var (r, n) in Names)
            if (string.Equals(n, normalized, StringComparison.OrdinalIgnoreCase)) { role = r; return true; }
        role = Role.None;
        return false;
    }

    /// <summary>Formats as a comma-separated upper-case list (<c>GENERATOR,SHARER</c>).</summary>
    public static string Format(Role roles) => string.Join(',', Names.Where(n => (roles & n.Role) != 0).Select(n => n.Name));
}
