using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>A real operator and the publisher sample, both in-process on loopback, shared by the sample's browser tests.</summary>
public sealed class PublisherSampleFixture : IAsyncLifetime
{
    public OperatorServer Operator { get; private set; } = null!;
    public SampleServer Sample { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Operator = await OperatorServer.StartAsync();
        Sample = await SampleServer.StartAsync(Operator.Url);
    }

    public async Task DisposeAsync()
    {
        if (Sample is not null) await Sample.DisposeAsync();
        if (Operator is not null) await Operator.DisposeAsync();
    }
}
