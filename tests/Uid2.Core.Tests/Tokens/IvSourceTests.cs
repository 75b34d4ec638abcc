using Uid2.Core.Tokens;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// The pooled IV source must hand out each random byte once: a repeated AES-GCM IV under one key breaks the cipher.
/// </summary>
public sealed class IvSourceTests
{
    [Fact]
    public void Ivs_never_repeat_within_a_thread_across_pool_refills_nor_across_threads()
    {
        var seen = new HashSet<string>();
        // 12-byte GCM and 16-byte CBC IVs interleaved, so draws straddle the 4 KiB refill boundary at odd offsets.
        for (var i = 0; i < 5_000; i++)
        {
            Span<byte> iv = stackalloc byte[i % 3 == 0 ? 16 : 12];
            IvSource.Fill(iv);
            Assert.True(seen.Add(Convert.ToHexString(iv)), $"IV {i} repeated");
            Assert.False(iv.IndexOfAnyExcept((byte)0) < 0, "an all-zero IV");
        }
        var fromThreads = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                var iv = new byte[12];
                IvSource.Fill(iv);
                fromThreads.Add(Convert.ToHexString(iv));
            }
        });
        Assert.Equal(fromThreads.Count, fromThreads.Distinct().Count());
        Assert.Empty(fromThreads.Intersect(seen));
    }
}
