using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>
/// For each identity scope, a real operator run as that scope (<c>Uid2:IdentityScope</c>) and the publisher sample configured
/// for it, all in-process on loopback, shared by the sample's browser tests.
/// </summary>
public sealed class PublisherSampleFixture : IAsyncLifetime
{
    private readonly Dictionary<string, (OperatorServer Operator, SampleServer Sample)> _byScope = [];

    public OperatorServer Operator => _byScope["UID2"].Operator;
    public SampleServer Sample => _byScope["UID2"].Sample;

    /// <summary>The sample (and its operator) for <c>UID2</c> or <c>EUID</c>.</summary>
    public (OperatorServer Operator, SampleServer Sample) For(string scope) => _byScope[scope];

    public async Task InitializeAsync()
    {
        foreach (var scope in new[] { "UID2", "EUID" })
        {
            var op = await OperatorServer.StartAsync(identityScope: scope);
            _byScope[scope] = (op, null!);
            _byScope[scope] = (op, await SampleServer.StartAsync(op.Url, scope));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var (op, sample) in _byScope.Values)
        {
            if (sample is not null) await sample.DisposeAsync();
            await op.DisposeAsync();
        }
    }
}
