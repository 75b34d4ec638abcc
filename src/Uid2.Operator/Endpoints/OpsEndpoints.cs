using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

public static class OpsEndpoints
{
    public static void MapOps(this IEndpointRouteBuilder app)
    {
        // 200 "OK" only when this instance can serve tokens from fresh state AND record an opt-out durably; else 503
        // with the reason, so a load balancer takes it out until it recovers by itself.
        app.MapGet("/ops/healthcheck", (OperatorStateProvider state, WriteHealth writes, TimeProvider time) =>
        {
            var reason = !state.IsLoaded ? "not loaded"
                : state.Current.NotReadyReason(time.GetUtcNow())
                ?? (state.LastSyncError is { } sync ? $"store unreachable ({sync})"
                : writes.Failure is { } write ? $"durable writes failing ({write})" : null);
            return reason is null ? Results.Text("OK", "text/plain") : Results.Text(reason, "text/plain", statusCode: 503);
        }).WithTags("ops");
    }
}
