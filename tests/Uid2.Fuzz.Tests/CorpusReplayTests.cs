using Uid2.Fuzz.Targets;

namespace Uid2.Fuzz.Tests;

/// <summary>
/// Issue "Trust": every input the coverage-guided fuzzer kept (fuzz/corpus/&lt;target&gt;/, found by `fuzz/run.sh`) runs
/// through its target again on every CI run, so a decoder that starts throwing on one of them fails the build.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets => new(FuzzTargetNames.All);

    [Fact]
    public void The_names_and_the_targets_agree() => Assert.Equal(FuzzTargetNames.All.Order(), FuzzTargets.All.Keys.Order());

    private static string CorpusRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Uid2.slnx"))) return Path.Combine(dir.FullName, "fuzz", "corpus");
            throw new DirectoryNotFoundException("The repository root (Uid2.slnx) is not above the test's folder.");
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_runs_through_its_target_without_an_exception(string target)
    {
        var dir = Path.Combine(CorpusRoot, target);
        Assert.True(Directory.Exists(dir), $"{dir} is missing: run fuzz/run.sh {target}");
        var files = Directory.GetFiles(dir);
        Assert.True(files.Length >= 5, $"{dir} holds {files.Length} inputs: run fuzz/run.sh {target}");
        var run = FuzzTargets.All[target];
        foreach (var file in files)
        {
            var exception = Record.Exception(() => run(File.ReadAllBytes(file)));
            Assert.True(exception is null, $"{target} throws on {Path.GetFileName(file)}: {exception}");
        }
    }

    [Fact]
    public void Every_corpus_folder_belongs_to_a_target()
    {
        foreach (var dir in Directory.GetDirectories(CorpusRoot))
            Assert.Contains(Path.GetFileName(dir), FuzzTargets.All.Keys);
    }
}
