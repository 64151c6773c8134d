using System.Diagnostics;

namespace TalosImage.Tests.Cli;

/// <summary>Runs the built talos-order as a separate process, as cron or a person would.</summary>
public static class TalosOrderProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(workingDirectory, environment, args);
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
    public static Process Start(string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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
