using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Uid2.Operator.Services;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Internet scale": logouts are group-committed — opt-outs that wait while a batch commits go together in the
/// next transaction, each acknowledged only after its batch committed, and a failed commit fails the whole batch.
/// </summary>
public sealed class OptOutWriterTests
{
    /// <summary>A real store whose batch writes can be held at a gate and made to fail; it records each batch's size.</summary>
    public class GatedStore : DispatchProxy
    {
        public interface IBatchStore : IUid2Store, IStoreOptOutBatches;

        private IUid2Store _inner = null!;
        public readonly List<int> Batches = [];
        public TaskCompletionSource FirstBatchGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource FirstBatchStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public volatile bool Fail;

        public static (IUid2Store Store, GatedStore Control) Wrap(IUid2Store inner)
        {
            var proxy = Create<IBatchStore, GatedStore>();
            var self = (GatedStore)(object)proxy;
            self._inner = inner;
            return (proxy, self);
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(IStoreOptOutBatches.AddOptOutsAsync)) return AddAsync((IReadOnlyList<OptOutWrite>)args![0]!);
            try { return method.Invoke(_inner, args); }
            catch (TargetInvocationException ex) when (ex.InnerException is not null) { throw ex.InnerException; }
        }

        private async Task<IReadOnlyList<OptOutRecord>> AddAsync(IReadOnlyList<OptOutWrite> writes)
        {
            bool first;
            lock (Batches)
            {
                first = Batches.Count == 0;
                Batches.Add(writes.Count);
            }
            if (first)
            {
                FirstBatchStarted.TrySetResult();
                await FirstBatchGate.Task;
            }
            if (Fail) throw new IOException("No space left on device");
            return await ((IStoreOptOutBatches)_inner).AddOptOutsAsync(writes);
        }
    }

    private static OptOutWrite Write(int i) =>
        new([.. BitConverter.GetBytes(i), .. new byte[28]], [(byte)i], DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + i));

    [Fact]
    public async Task Opt_outs_that_wait_while_a_batch_commits_go_together_in_the_next_one()
    {
        await using var inner = new SqliteUid2Store("Data Source=:memory:");
        await inner.InitializeAsync();
        var (store, control) = GatedStore.Wrap(inner);
        using var writer = new OptOutWriter(store, NullLogger<OptOutWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        var first = writer.WriteAsync(Write(0), CancellationToken.None);
        await control.FirstBatchStarted.Task;
        var rest = Enumerable.Range(1, 99).Select(i => writer.WriteAsync(Write(i), CancellationToken.None)).ToList();
        Assert.False(first.IsCompleted); // not acknowledged before its commit
        Assert.All(rest, t => Assert.False(t.IsCompleted));
        control.FirstBatchGate.SetResult();

        var records = await Task.WhenAll([first, .. rest]);
        Assert.Equal([1, 99], control.Batches);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (byte)i), records.Select(r => r.AdvertisingId[0]));
        Assert.Equal(100, (await inner.LoadOptOutsAfterAsync(0)).Count);
        await writer.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_failed_commit_fails_every_opt_out_of_its_batch_and_the_next_batch_still_works()
    {
        await using var inner = new SqliteUid2Store("Data Source=:memory:");
        await inner.InitializeAsync();
        var (store, control) = GatedStore.Wrap(inner);
        using var writer = new OptOutWriter(store, NullLogger<OptOutWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);

        control.Fail = true;
        var doomed = writer.WriteAsync(Write(0), CancellationToken.None);
        await control.FirstBatchStarted.Task;
        var alsoDoomed = Enumerable.Range(1, 9).Select(i => writer.WriteAsync(Write(i), CancellationToken.None)).ToList();
        control.FirstBatchGate.SetResult();
        await Assert.ThrowsAsync<IOException>(() => doomed);
        foreach (var t in alsoDoomed) await Assert.ThrowsAsync<IOException>(() => t);
        Assert.Empty(await inner.LoadOptOutsAfterAsync(0));

        control.Fail = false;
        var ok = await writer.WriteAsync(Write(42), CancellationToken.None);
        Assert.Equal(42, ok.AdvertisingId[0]);
        Assert.Single(await inner.LoadOptOutsAfterAsync(0));
        await writer.StopAsync(CancellationToken.None);
    }
}
