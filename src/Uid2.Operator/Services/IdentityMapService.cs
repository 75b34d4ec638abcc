using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Observability;
using Uid2.Operator.State;

namespace Uid2.Operator.Services;

public enum MapOutcome { Mapped, OptOut, Invalid }

/// <summary>One identity-map answer: the derived identity when mapped.</summary>
public readonly record struct MapResult(MapOutcome Outcome, DerivedIdentity? Identity);

/// <summary>Maps DII to raw UID2s for advertisers (MAPPER role), honouring opt-outs and the test identities.</summary>
public sealed class IdentityMapService(OperatorStateProvider stateProvider, TimeProvider time, OperatorMetrics metrics)
{
    /// <summary>Batches at least this large are derived on all cores.</summary>
    private const int ParallelThreshold = 256;

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Maps each value of one kind; results are in input order.</summary>
    public MapResult[] Map(OperatorState state, DiiKind kind, IReadOnlyList<string?> values, DateTimeOffset now)
    {
        var results = new MapResult[values.Count];
        if (state.Deriver is null || state.TestIdentities is null) throw new InvalidOperationException("Salts are not loaded.");
        if (values.Count >= ParallelThreshold)
            Parallel.For(0, values.Count, i => results[i] = MapOne(state, kind, values[i], now));
        else
            for (var i = 0; i < values.Count; i++) results[i] = MapOne(state, kind, values[i], now);
        int mapped = 0, optOut = 0;
        foreach (var r in results)
        {
            if (r.Outcome == MapOutcome.Mapped) mapped++;
            else if (r.Outcome == MapOutcome.OptOut) optOut++;
        }
        metrics.Mapped("mapped", mapped);
        metrics.Mapped("optout", optOut);
        metrics.Mapped("invalid", results.Length - mapped - optOut);
        return results;
    }

    private MapResult MapOne(OperatorState state, DiiKind kind, string? value, DateTimeOffset now)
    {
        if (value is null || !IdentityInputParser.TryParse(kind, value, out var input)) return new MapResult(MapOutcome.Invalid, null);
        var flh = state.Deriver!.FirstLevelHash(input);
        if (stateProvider.IsOptedOut(state, flh)) return new MapResult(MapOutcome.OptOut, null);
        return new MapResult(MapOutcome.Mapped, state.Deriver.DeriveFromFirstLevelHash(input.Type, flh, now));
    }
}
