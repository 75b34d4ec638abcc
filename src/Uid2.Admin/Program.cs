using System.CommandLine;
using System.Data.Common;

namespace Uid2.Admin;

/// <summary>Entry point of <c>uid2-admin</c>.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>
    /// Runs the CLI in-process (what tests call). Returns the exit code: 0 on success, 1 on any error. Errors are one line
    /// on <paramref name="error"/>, without stack traces.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider? time = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var cli = new AdminCli(output, time ?? TimeProvider.System);
        var parse = cli.Root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await error.WriteLineAsync("error: " + OneLine(string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')))) + ".");
            await error.WriteLineAsync("Run 'uid2-admin --help' for usage.");
            return 1;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
            }, ct);
        }
        catch (Exception ex)
        {
            await error.WriteLineAsync("error: " + Describe(ex));
            return 1;
        }
    }

    /// <summary>A one-line description of a failure that carries no secrets (messages only, never values or stacks).</summary>
    internal static string Describe(Exception ex) => ex switch
    {
        ArgumentException { ParamName: { } param } arg => OneLine(arg.Message.Replace($" (Parameter '{param}')", "")),
        CliException or Storage.AdminException or Storage.BackupException or Storage.StoreConflictException or Storage.Secrets.KeyEncryptionKeyException or ArgumentException or NotSupportedException
            => OneLine(ex.Message),
        OperationCanceledException => "cancelled.",
        DbException db => OneLine("store error: " + db.Message),
        IOException or UnauthorizedAccessException => OneLine("cannot access the store: " + ex.Message),
        _ => OneLine($"unexpected failure ({ex.GetType().Name}): {ex.Message}"),
    };

    internal static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>A user error: bad input or a state the command refuses. Its message is printed as is.</summary>
public sealed class CliException(string message) : Exception(message);
