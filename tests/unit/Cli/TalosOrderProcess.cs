namespace TalosImage.Tests.Cli;

/// <summary>
/// Runs the built talos-order as a separate process, as cron or a person would (through <see cref="ChildProcess"/>):
/// the IL build beside the tests (<c>dotnet talos-order.dll</c>), or the program that TALOS_ORDER_UNDER_TEST names
/// (the native linux-x64 build that the tool package carries; build.ps1 runs these tests against it too).
/// </summary>
public static class TalosOrderProcess
{
    /// <summary>The environment variable that names a talos-order executable to test instead of the IL build.</summary>
    public const string UnderTestVariable = "TALOS_ORDER_UNDER_TEST";

    private static readonly string? UnderTest = Environment.GetEnvironmentVariable(UnderTestVariable) is { Length: > 0 } path ? path : null;

    /// <summary>How long one run may take before its process tree is killed (a hung run must not outlive the test).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, params string[] args) =>
        RunAsync(workingDirectory, environment, openFileLimit: null, args);

    /// <summary>As <see cref="RunAsync(string, IDictionary{string, string}?, string[])"/>, under <c>ulimit -n</c> <paramref name="openFileLimit"/> when given (bash's ulimit, then exec).</summary>
    public static async Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? environment, int? openFileLimit, params string[] args)
    {
        using var process = Start(workingDirectory, environment, openFileLimit, args);
        var r = await process.WaitAsync(Timeout);
        return new Result(r.ExitCode, r.Stdout, r.Stderr);
    }

    /// <summary>Starts talos-order and returns the running process (its stdout and stderr are collected in the background).</summary>
    public static ChildProcess Start(string workingDirectory, IDictionary<string, string>? environment, params string[] args) =>
        Start(workingDirectory, environment, openFileLimit: null, args);

    private static ChildProcess Start(string workingDirectory, IDictionary<string, string>? environment, int? openFileLimit, string[] args)
    {
        var arguments = new List<string>();
        if (openFileLimit is { } limit)
        {
            // A cron job's limit: the soft and hard limit of the process, which cannot raise it again.
            arguments.AddRange(new[] { "-c", $"ulimit -n {limit} && exec \"$@\"", "talos-order", UnderTest ?? "dotnet" });
        }
        if (UnderTest is null)
        {
            arguments.Add(Path.Combine(AppContext.BaseDirectory, "talos-order.dll"));
        }
        arguments.AddRange(args);
        var env = new List<KeyValuePair<string, string?>>
        {
            // Never reach the public factory from a test, whatever the config says.
            new("TALOS_FACTORY_URL", "http://127.0.0.1:9"),
            new("GITHUB_TOKEN", null),
            new("GH_TOKEN", null),
        };
        env.AddRange((environment ?? new Dictionary<string, string>()).Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
        return ChildProcess.Start(openFileLimit is not null ? "bash" : UnderTest ?? "dotnet", arguments,
            new ChildOptions { WorkingDirectory = workingDirectory, Environment = env, Timeout = Timeout });
    }
}
