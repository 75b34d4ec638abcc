namespace Uid2.Fuzz.Targets;

/// <summary>
/// The target names, apart from <see cref="FuzzTargets"/>: under AFL++ no instrumented code (Uid2.Core, Uid2.Operator)
/// may run before SharpFuzz maps the coverage memory, and <see cref="FuzzTargets"/>' static fields build keys with it.
/// </summary>
public static class FuzzTargetNames
{
    public static readonly string[] All = ["envelope", "refresh-wrapper", "advertising-token", "refresh-token", "cstg", "identity", "json"];
}
