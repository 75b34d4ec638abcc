using Uid2.Core.Tokens;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// The pooled random source must hand out each random byte once: a repeated AES-GCM IV under one key breaks the cipher,
/// and a repeated response key would let one reply's key open another's.
/// </summary>
public sealed class PooledRandomTests
{
    [Fact]
    public void Ivs_never_repeat_within_a_thread_across_pool_refills_nor_across_threads()
    {
        var seen = new HashSet<string>();
        // 12-byte GCM and 16-byte CBC IVs interleaved, so draws straddle the 4 KiB refill boundary at odd offsets.
        for (var i = 0; i < 5_000; i++)
        {
            Span<byte> iv = stackalloc byte[i % 3 == 0 ? 16 : 12];
            PooledRandom.Fill(iv);
            Assert.True(seen.Add(Convert.ToHexString(iv)), $"IV {i} repeated");
            Assert.False(iv.IndexOfAnyExcept((byte)0) < 0, "an all-zero IV");
        }
        var fromThreads = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                var iv = new byte[12];
                PooledRandom.Fill(iv);
                fromThreads.Add(Convert.ToHexString(iv));
            }
        });
        Assert.Equal(fromThreads.Count, fromThreads.Distinct().Count());
        Assert.Empty(fromThreads.Intersect(seen));
    }

    [Fact]
    public void Response_keys_and_ivs_drawn_together_never_share_bytes_and_long_draws_bypass_the_pool()
    {
        // 32-byte response keys interleaved with IVs, as a v2 generate draws them: every draw distinct.
        var seen = new HashSet<string>();
        for (var i = 0; i < 2_000; i++)
        {
            var draw = new byte[i % 2 == 0 ? 32 : 12];
            PooledRandom.Fill(draw);
            Assert.True(seen.Add(Convert.ToHexString(draw)), $"draw {i} repeated");
        }
        var large = new byte[5000]; // longer than the pool: straight from the CSPRNG, filled all the way
        PooledRandom.Fill(large);
        Assert.True(large.AsSpan(4096).IndexOfAnyExcept((byte)0) >= 0);
    }
}
