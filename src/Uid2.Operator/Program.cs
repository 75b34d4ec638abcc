using Uid2.Operator;

if (args is [HealthCheckCommand.Name, ..]) return await HealthCheckCommand.RunAsync(args, Console.Out);

var app = OperatorApp.Build(args);
try
{
    await OperatorApp.InitializeAsync(app);
}
catch (Exception ex) when (OperatorApp.IsStartupFailure(ex))
{
    // One clear line and a non-zero exit, not a stack trace: the store is missing, unreachable, read-only or misconfigured.
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Uid2.Operator")
        .LogCritical("Cannot start: the store is not usable ({Error}).", OperatorApp.Describe(ex));
    // The console logger writes from a queue: disposing the app flushes it, so the line is out before the process exits.
    try
    {
        await app.DisposeAsync();
    }
    catch (Exception)
    {
        // The store that could not start may not stop cleanly either; the line above is what matters.
    }
    return 2;
}
await app.RunAsync();
return 0;
