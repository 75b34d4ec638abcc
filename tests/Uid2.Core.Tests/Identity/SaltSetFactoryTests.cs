using Uid2.Core.Identity;

namespace Uid2.Core.Tests.Identity;

public class SaltSetFactoryTests
{
    private const long Now = 1_700_000_000_000;
    private const long Day = 24L * 60 * 60 * 1000;

    [Fact]
    public void CreateRandom_builds_fresh_buckets()
    {
        var set = SaltSetFactory.CreateRandom(2000, Now);
        Assert.Equal(2000, set.Buckets.Count);
        Assert.Equal(32, Convert.FromBase64String(set.FirstLevelSalt).Length);
        var salts = new HashSet<string> { set.FirstLevelSalt };
        for (var i = 0; i < set.Buckets.Count; i++)
        {
            var b = set.Buckets[i];
            Assert.Equal(i, b.Id);
            Assert.Equal(Now, b.LastUpdatedMs);
            Assert.Equal(Now + 30 * Day, b.RefreshFromMs);
            Assert.Null(b.PreviousSalt);
            Assert.Equal(44, b.CurrentSalt.Length);
            Assert.Equal(32, Convert.FromBase64String(b.CurrentSalt).Length);
            Assert.True(salts.Add(b.CurrentSalt));
        }
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.1, 100)]
    [InlineData(0.5, 500)]
    [InlineData(1.0, 1000)]
    [InlineData(7.0, 1000)]
    [InlineData(-1.0, 0)]
    public void Rotate_changes_the_requested_fraction(double fraction, int expectedRotated)
    {
        var before = SaltSetFactory.CreateRandom(1000, Now);
        var later = Now + 40 * Day;
        var after = SaltSetFactory.Rotate(before, fraction, later);

        Assert.Equal(before.FirstLevelSalt, after.FirstLevelSalt);
        Assert.Equal(1000, after.Buckets.Count);
        var rotated = 0;
        for (var i = 0; i < 1000; i++)
        {
            var old = before.Buckets[i];
            var now = after.Buckets[i];
            Assert.Equal(i, now.Id);
            if (ReferenceEquals(old, now)) continue;
            rotated++;
            Assert.Equal(later, now.LastUpdatedMs);
            Assert.Equal(later + 30 * Day, now.RefreshFromMs);
            Assert.Equal(old.CurrentSalt, now.PreviousSalt);
            Assert.NotEqual(old.CurrentSalt, now.CurrentSalt);
        }
        Assert.Equal(expectedRotated, rotated);
    }

    [Fact]
    public void Rotated_bucket_yields_previous_raw_uid()
    {
        var set = SaltSetFactory.CreateRandom(1, Now);
        var rotated = SaltSetFactory.Rotate(set, 1.0, Now + Day);
        var input = Uid2.Core.Normalization.IdentityInputParser.FromNormalized(IdentityType.Email, "a@b.com");
        var before = new IdentityDeriver(set).Derive(input, DateTimeOffset.FromUnixTimeMilliseconds(Now + Day));
        var after = new IdentityDeriver(rotated).Derive(input, DateTimeOffset.FromUnixTimeMilliseconds(Now + 2 * Day));
        Assert.Equal(before.RawUid, after.PreviousRawUid);
        Assert.NotEqual(before.RawUid, after.RawUid);
    }

    [Fact]
    public void Invalid_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SaltSetFactory.CreateRandom(0, Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaltSetFactory.Rotate(SaltSetFactory.CreateRandom(1, Now), double.NaN, Now));
    }
}
