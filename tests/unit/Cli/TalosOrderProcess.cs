using System.Diagnostics;

namespace TalosImage.Tests.Cli;

/// <summary>Runs the built talos-order as a separate process, as cron or a person would.</summary>
public static class TalosOrderProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, params string[] args) =>
        RunAsync(workingDirectory, environment, openFileLimit: null, args);

    /// <summary>As <see cref="RunAsync(string, IDictionary{string, string}?, string[])"/>, under <c>ulimit -n</c> <paramref name="openFileLimit"/> when given (bash's ulimit, then exec).</summary>
    public static async Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, int? openFileLimit, params string[] args)
    {
        using var process = Start(workingDirectory, environment, openFileLimit, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // a hung run must not outlive the test
            throw;
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts talos-order and returns the running process (stdout and stderr redirected: read them or drain them).</summary>
    public static Process Start(string workingDirectory, IDictionary<string, string>? environment, params string[] args) =>
        Start(workingDirectory, environment, openFileLimit: null, args);

    private static Process Start(string workingDirectory, IDictionary<string, string>? environment, int? openFileLimit, string[] args)
    {
        var start = new ProcessStartInfo(openFileLimit is null ? "dotnet" : "bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (openFileLimit is { } limit)
        {
            // A cron job's limit: the soft and hard limit of the process, which cannot raise it again.
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"ulimit -n {limit} && exec dotnet \"$@\"");
            start.ArgumentList.Add("talos-order");
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "talos-order.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        // Never reach the public factory from a test, whatever the config says.
        start.Environment["TALOS_FACTORY_URL"] = "http://127.0.0.1:9";
        start.Environment.Remove("GITHUB_TOKEN");
        start.Environment.Remove("GH_TOKEN");
        foreach (var kv in environment ?? new Dictionary<string, string>())
        {
            start.Environment[kv.Key] = kv.Value;
        }
        return Process.Start(start)!;
    }
}
