using SharpFuzz;
using Uid2.Fuzz.Targets;

// The fuzzing harness: `dotnet Uid2.Fuzz.dll <target>` under afl-fuzz (SharpFuzz's out-of-process mode),
// `dotnet Uid2.Fuzz.dll <target> <file>…` to run files once (what the corpus replay does, outside AFL), or
// `dotnet Uid2.Fuzz.dll seed <target> <dir>` to write the target's seed inputs.
if (args is ["seed", var seedTarget, var seedDir])
{
    Directory.CreateDirectory(seedDir);
    var i = 0;
    foreach (var seed in FuzzTargets.Seeds(seedTarget)) File.WriteAllBytes(Path.Combine(seedDir, $"seed-{i++:D2}"), seed);
    return 0;
}
if (args.Length == 0 || !FuzzTargetNames.All.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Uid2.Fuzz <{string.Join("|", FuzzTargetNames.All)}> [file…]");
    return 2;
}
var name = args[0];
if (args.Length > 1)
{
    foreach (var file in args.Skip(1)) FuzzTargets.All[name](File.ReadAllBytes(file));
    return 0;
}
// Nothing instrumented may run before Run maps AFL++'s coverage memory: the target is looked up inside.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    FuzzTargets.All[name](buffer.ToArray());
});
return 0;
