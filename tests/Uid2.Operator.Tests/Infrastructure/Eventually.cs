namespace Uid2.Operator.Tests.Infrastructure;

/// <summary>Waits for a condition that another task or a background service makes true. The timeout is a generous
/// upper bound for a stuck test, never a speed assertion.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (cts.IsCancellationRequested) Assert.Fail($"not true after {timeout.TotalSeconds:F0} s: {what}");
            await Task.Delay(100);
        }
    }
}
