using Uid2.Core.Normalization;
using Uid2.Operator.Observability;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Services;

/// <summary>
/// Records opt-outs durably — through the group-commit <see cref="OptOutWriter"/> when the store takes batches — then
/// applies them to this instance's index before acknowledging.
/// </summary>
public sealed class OptOutService(IUid2Store store, OptOutWriter writer, OperatorStateProvider stateProvider, WriteHealth writeHealth,
    OperatorMetrics metrics, TimeProvider time, ILogger<OptOutService> logger, OptOutWebhookDelivery webhooks)
{
    /// <summary>Returns false when the store could not take the write (the caller answers 503 and the client retries).</summary>
    public async Task<bool> OptOutAsync(IdentityInput input, CancellationToken ct)
    {
        var state = stateProvider.Current;
        if (state.Deriver is null) return false;
        var now = time.GetUtcNow();
        var derived = state.Deriver.Derive(input, now);
        var write = metrics.TimeStoreWrite("optout");
        try
        {
            var record = writer.IsAvailable
                ? await writer.WriteAsync(new OptOutWrite(derived.FirstLevelHash, derived.RawUid, now), ct)
                : await store.AddOptOutAsync(derived.FirstLevelHash, derived.RawUid, now, ct);
            write.Succeeded();
            metrics.OptOutRecorded();
            writeHealth.Succeeded();
            stateProvider.ApplyLocalOptOut(record);
            webhooks.Wake(); // the store queued it for every DSP webhook in the same transaction
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            write.Failed();
            logger.LogError("Opt-out write failed: {Error}", ex.GetType().Name + ": " + ex.Message);
            writeHealth.Failed(ex);
            return false;
        }
    }
}
