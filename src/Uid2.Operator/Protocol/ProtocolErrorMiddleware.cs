namespace Uid2.Operator.Protocol;

/// <summary>
/// Last line of defence: every failure leaves in the protocol's error shape, never as a stack trace.
/// Malformed HTTP (oversized body, bad framing) → its 4xx; bugs → 500 <c>unknown</c>; empty 404/405 → JSON.
/// </summary>
public sealed class ProtocolErrorMiddleware(RequestDelegate next, ILogger<ProtocolErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex)
        {
            if (context.Response.HasStarted) throw;
            var status = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? ProtocolResults.BodyTooLargeMessage : "Bad request";
            await Write(context, ex.StatusCode, Statuses.ClientError, status);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            // Log the exception type and stack only: no headers, no query, no body (they may hold keys or DII).
            logger.LogError("Unhandled {Exception} on {Method} {Path}: {Stack}", ex.GetType().Name, context.Request.Method,
                context.Request.Path.Value, ex.StackTrace);
            if (context.Response.HasStarted) throw;
            context.Response.Clear();
            await Write(context, StatusCodes.Status500InternalServerError, Statuses.Unknown, "Internal server error");
            return;
        }

        if (context.Response is { HasStarted: false, StatusCode: 404 or 405 } && context.Response.ContentLength is null or 0)
            await Write(context, context.Response.StatusCode, Statuses.ClientError,
                context.Response.StatusCode == 404 ? "Unknown endpoint" : "Method not allowed");
    }

    private static Task Write(HttpContext context, int statusCode, string status, string message)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(ProtocolResults.ErrorJson(status, message)).AsTask();
    }
}
