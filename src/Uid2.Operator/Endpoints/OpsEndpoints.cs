using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

public static class OpsEndpoints
{
    public static void MapOps(this IEndpointRouteBuilder app)
    {
        app.MapGet("/ops/healthcheck", (OperatorStateProvider state, TimeProvider time) =>
        {
            if (!state.IsLoaded) return Results.Text("not loaded", "text/plain", statusCode: 503);
            var reason = state.Current.NotReadyReason(time.GetUtcNow());
            if (reason is not null) return Results.Text(reason, "text/plain", statusCode: 503);
            if (state.LastSyncError is not null) return Results.Text("degraded: store unreachable", "text/plain", statusCode: 200);
            return Results.Text("OK", "text/plain");
        }).WithTags("ops");
    }
}
