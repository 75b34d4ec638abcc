using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

public sealed class OptOutIndexTests
{
    private static OptOutRecord Row(long id, byte tag) =>
        new(id, Enumerable.Repeat(tag, 32).ToArray(), Enumerable.Repeat(tag, 33).ToArray(), DateTimeOffset.UnixEpoch.AddSeconds(id));

    [Fact]
    public void A_local_write_is_honoured_at_once_but_does_not_skip_rows_other_writers_committed_below_it()
    {
        var index = new OptOutIndex();
        index.Apply([Row(1, 1)]);
        index.ApplyLocal(Row(5, 5));
        Assert.True(index.IsOptedOut(Enumerable.Repeat((byte)5, 32).ToArray(), out _));
        Assert.Equal(1, index.LastId);
        Assert.Equal(0, index.SyncFromId); // rows 2..4 (other instances) are still asked for
    }

    [Fact]
    public void Syncs_reread_a_window_below_the_highest_id_for_rows_committed_out_of_order()
    {
        var index = new OptOutIndex();
        index.Apply([Row(1000, 1)]);
        Assert.Equal(1000 - OptOutIndex.ReReadWindow, index.SyncFromId);
        index.Apply([Row(999, 2)]); // committed late, below the highest id seen
        Assert.True(index.IsAdvertisingIdOptedOut(Enumerable.Repeat((byte)2, 33).ToArray(), out _));
        Assert.Equal(1000, index.LastId);
    }
}
