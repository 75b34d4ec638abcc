using System.Diagnostics;
using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Operator.State;

/// <summary>
/// Starts the opt-out index from its snapshot file (<see cref="OptOutSnapshot"/>) and keeps the file up to date:
/// written once the index holds <see cref="OptOutSnapshotOptions.MinOptOuts"/> and the file is missing or behind, then
/// at most every <see cref="OptOutSnapshotOptions.IntervalMinutes"/> while new opt-outs arrive. Instances sharing a
/// file each rewrite it atomically; any whole file is a valid start.
/// </summary>
public sealed class OptOutSnapshotService(
    OperatorStateProvider state,
    IUid2Store store,
    IOptions<OperatorOptions> options,
    TimeProvider time,
    ILogger<OptOutSnapshotService> logger) : BackgroundService
{
    private readonly OptOutSnapshotOptions _options = options.Value.OptOutSnapshot;
    private long _writtenAnchor = -1;
    private DateTimeOffset _writtenAt = DateTimeOffset.MinValue;

    /// <summary>The snapshot file, or null when snapshots are off or there is nowhere to put one.</summary>
    public string? FilePath { get; } = ResolvePath(options.Value.OptOutSnapshot, store);

    private KeyEncryptionKeyRing? Kek => (store as IStoreSecretSealing)?.Kek;

    private static string? ResolvePath(OptOutSnapshotOptions options, IUid2Store store)
    {
        if (!options.Enabled) return null;
        if (!string.IsNullOrWhiteSpace(options.Path)) return Path.GetFullPath(options.Path);
        return store is SqliteUid2Store { DatabasePath: { } db } ? db + ".optouts" : null;
    }

    /// <summary>
    /// Before the first load: fills the empty index from the snapshot file when there is one that this store's key opens
    /// and whose anchor row the store still has. Anything else leaves the index empty (the store is then read whole).
    /// </summary>
    public async Task<bool> TryLoadAsync(CancellationToken ct)
    {
        if (FilePath is null || Kek is not { } kek || store is not IStoreOptOutPages pages || !File.Exists(FilePath)) return false;
        var index = state.OptOuts;
        var watch = Stopwatch.StartNew();
        try
        {
            var header = OptOutSnapshot.Load(index, kek, FilePath);
            var anchor = header.AnchorId == 0 ? [] : await pages.LoadOptOutsPageAsync(header.AnchorId - 1, 1, ct);
            if (header.AnchorId != 0 && (anchor.Count == 0 || anchor[0].Id != header.AnchorId
                                         || !anchor[0].FirstLevelHash.AsSpan().SequenceEqual(header.AnchorHash)))
            {
                logger.LogWarning("The opt-out snapshot {File} does not match the store (its last row {Row} is not there any more: " +
                    "restored or replaced store, or that opt-out was renewed); reading every opt-out from the store instead.", FilePath, header.AnchorId);
                index.Clear();
                return false;
            }
            _writtenAnchor = header.AnchorId;
            _writtenAt = header.Created;
            logger.LogInformation("Loaded {Count} opt-outs up to row {Row} from the snapshot {File} (written {Created:u}) in {Seconds:F1} s.",
                header.FirstLevelHashes, header.AnchorId, FilePath, header.Created, watch.Elapsed.TotalSeconds);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or OutOfMemoryException)
        {
            logger.LogWarning("The opt-out snapshot {File} was not used ({Reason}); reading every opt-out from the store instead.",
                FilePath, ex.Message);
            index.Clear();
            return false;
        }
    }

    /// <summary>Writes the snapshot now if it is due (or, with <paramref name="force"/>, whenever the index moved on). True if it wrote.</summary>
    public bool WriteIfDue(bool force = false)
    {
        lock (_writeLock) return WriteIfDueLocked(force);
    }

    private readonly object _writeLock = new();

    private bool WriteIfDueLocked(bool force)
    {
        if (FilePath is null || Kek is not { } kek || !state.IsLoaded) return false;
        var index = state.OptOuts;
        var anchor = index.Anchor.Id;
        if (anchor == 0 || anchor <= _writtenAnchor || index.ByFirstLevelHash.MergedCount + index.ByFirstLevelHash.DeltaCount < _options.MinOptOuts) return false;
        if (!force && _writtenAnchor >= 0 && time.GetUtcNow() - _writtenAt < TimeSpan.FromMinutes(_options.IntervalMinutes)) return false;
        var watch = Stopwatch.StartNew();
        var header = OptOutSnapshot.Write(index, kek, FilePath, time);
        _writtenAnchor = header.AnchorId;
        _writtenAt = header.Created;
        logger.LogInformation("Wrote {Count} opt-outs up to row {Row} to the snapshot {File} in {Seconds:F1} s.",
            header.FirstLevelHashes, header.AnchorId, FilePath, watch.Elapsed.TotalSeconds);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (FilePath is null) return;
        // Checked every minute; the interval decides when a write is due.
        var period = TimeSpan.FromMinutes(Math.Min(1, _options.IntervalMinutes));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Off the request threads: sealing a large index takes a few seconds of one core.
                await Task.Run(() => WriteIfDue(), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The snapshot is a cache: failing to write it never stops the operator (a full disk, a read-only mount…).
                logger.LogWarning("Could not write the opt-out snapshot {File} ({Reason}); will try again.", FilePath, ex.GetType().Name + ": " + ex.Message);
                _writtenAt = time.GetUtcNow(); // not again before the next interval
                if (_writtenAnchor < 0) _writtenAnchor = 0;
            }
            try
            {
                await Task.Delay(period, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
