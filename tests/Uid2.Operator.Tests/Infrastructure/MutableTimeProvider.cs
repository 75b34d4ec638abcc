namespace Uid2.Operator.Tests.Infrastructure;

/// <summary>Real time plus an adjustable offset, so tests can jump past expiries while Kestrel runs for real.</summary>
public sealed class MutableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
