using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// The generated corpus of damaged inputs (<see cref="BadInputCorpus"/>) through the loader and a dry-run plan
/// in-process, and its worst members through talos-order as a process: every input either loads or is refused with
/// a message naming the file (and line), never another exception, never a stack trace, in bounded time and memory.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;
    /// <summary>A hang guard only, not a speed claim.</summary>
    private static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(20);
    /// <summary>Bytes one load may allocate: the largest accepted file is 4 MiB; an expanding alias bomb would take gigabytes.</summary>
    private const long AllocationLimit = 400L * 1024 * 1024;

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();

    public BadInputTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_generated_bad_input_loads_or_is_refused_with_a_message_naming_the_file_in_bounded_time_and_memory()
    {
        var generation = Stopwatch.StartNew();
        var variants = BadInputCorpus.Generate(_dir.Path);
        _output.WriteLine($"generated in {generation.ElapsedMilliseconds} ms");
        var loadTime = TimeSpan.Zero;
        var planTime = TimeSpan.Zero;
        var config = _dir.File("config.yaml");
        var orders = _dir.File("orders.yaml");
        var failures = new List<string>();
        var outcomes = new Dictionary<string, int>();
        long maxAllocated = 0;
        var maxAllocatedBy = "";
        var slowest = TimeSpan.Zero;
        var slowestBy = "";

        foreach (var v in variants)
        {
            File.WriteAllText(config, v.Config);
            File.WriteAllText(orders, v.Orders);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            Exception? error = null;
            OrderInput? input = null;
            try
            {
                input = OrderLoader.Load(config, orders, NoEnvironment);
            }
            catch (Exception e)
            {
                error = e;
            }
            watch.Stop();
            loadTime += watch.Elapsed;
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > maxAllocated)
            {
                (maxAllocated, maxAllocatedBy) = (allocated, v.Name);
            }
            if (watch.Elapsed > slowest)
            {
                (slowest, slowestBy) = (watch.Elapsed, v.Name);
            }
            if (watch.Elapsed > PerInputLimit)
            {
                failures.Add($"{v.Name}: took {watch.Elapsed}");
            }
            if (allocated > AllocationLimit)
            {
                failures.Add($"{v.Name}: allocated {allocated / 1048576} MiB");
            }

            string outcome;
            if (error is null)
            {
                // It loaded: planning it (dry run, offline: reads the cache, writes nothing) is refused cleanly too, or works.
                var planWatch = Stopwatch.StartNew();
                try
                {
                    await new OrderRunner(new RunOptions
                    {
                        ConfigPath = config,
                        OrdersPath = orders,
                        DryRun = true,
                        Offline = true,
                        BaseDirectory = _dir.Path,
                        Environment = NoEnvironment,
                    }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
                    outcome = "loaded+planned";
                }
                catch (TalosException e)
                {
                    outcome = "loaded, plan refused";
                    CheckMessage(v, e, config, orders, failures, requireFile: e is TalosValidationException);
                }
                catch (Exception e)
                {
                    outcome = "loaded, plan crashed";
                    failures.Add($"{v.Name}: the dry run threw {e.GetType().Name}: {Short(e.Message)}");
                }
                planTime += planWatch.Elapsed;
            }
            else if (error is TalosValidationException invalid)
            {
                outcome = "refused";
                CheckMessage(v, invalid, config, orders, failures, requireFile: true);
                foreach (var p in invalid.Problems)
                {
                    if (p.File != config && p.File != orders)
                    {
                        failures.Add($"{v.Name}: a problem names '{p.File}', not one of the input files");
                    }
                }
            }
            else if (error is TalosException other)
            {
                outcome = "refused (" + other.ErrorId + ")";
                CheckMessage(v, other, config, orders, failures, requireFile: true);
            }
            else
            {
                outcome = "crashed";
                failures.Add($"{v.Name}: threw {error.GetType().Name}: {Short(error.Message)}");
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        _output.WriteLine($"{variants.Count} inputs in {variants.Select(v => v.Family).Distinct().Count()} families: " +
                          string.Join(", ", variants.GroupBy(v => v.Family).Select(g => $"{g.Key} {g.Count()}")));
        _output.WriteLine("outcomes: " + string.Join(", ", outcomes.Select(kv => $"{kv.Key} {kv.Value}")));
        _output.WriteLine($"loading took {loadTime.TotalMilliseconds:F0} ms, planning {planTime.TotalMilliseconds:F0} ms");
        _output.WriteLine($"most allocated: {maxAllocated / 1048576} MiB by {maxAllocatedBy}; slowest: {slowest.TotalMilliseconds:F0} ms by {slowestBy}");
        Assert.True(variants.Count >= 300, $"only {variants.Count} inputs generated");
        Assert.True(failures.Count == 0, $"{failures.Count} of {variants.Count} inputs broke a promise:\n" + string.Join("\n", failures.Take(40)));
        // The corpus reaches both outcomes: it is not all syntax errors.
        Assert.True(outcomes.GetValueOrDefault("refused") > 100, "fewer than 100 refusals");
        Assert.True(outcomes.GetValueOrDefault("loaded+planned") > 20, "fewer than 20 inputs that still load and plan");
    }

    /// <summary>The message names the file (and line where there is one), carries no stack trace and no raw control character, and stays readable in size.</summary>
    private static void CheckMessage(BadInputVariant v, TalosException e, string config, string orders, List<string> failures, bool requireFile)
    {
        var message = e.Message;
        if (requireFile && !message.Contains(config) && !message.Contains(orders))
        {
            failures.Add($"{v.Name}: the message names neither file: {Short(message)}");
        }
        if (e is TalosValidationException invalid)
        {
            foreach (var p in invalid.Problems.Where(p => p.Line > 0 && !message.Contains($"{p.File}:{p.Line}:")))
            {
                failures.Add($"{v.Name}: line {p.Line} of a problem is not in the message: {Short(message)}");
            }
        }
        if (message.Contains("   at "))
        {
            failures.Add($"{v.Name}: a stack trace in the message");
        }
        if (message.Any(c => char.IsControl(c) && c != '\n'))
        {
            failures.Add($"{v.Name}: a raw control character in the message: {Short(message)}");
        }
        if (message.Split('\n').Any(line => line.Length > 2000))
        {
            failures.Add($"{v.Name}: a message line of {message.Split('\n').Max(l => l.Length)} characters");
        }
    }

    private static string Short(string s) => s.Length > 300 ? s[..300] + "..." : s;

    /// <summary>The worst of the corpus through talos-order, a real run (not a dry run): exit 2 and nothing written.</summary>
    public static TheoryData<string> WorstInputs => new()
    {
        "billion-laughs-in-orders", "billion-laughs-top-level", "merge-key-bomb", "10MB-comment", "deep-flow-10000", "garbage#0",
        "raw-nul", "duplicate-first-key", "orderid-terminal-escape", "orderid-3MB", "host-100k-list", "bom+crlf+tab-indent",
    };

    [Theory]
    [MemberData(nameof(WorstInputs))]
    public async Task The_worst_inputs_make_talos_order_exit_2_with_one_error_line_no_stack_trace_and_no_write(string name)
    {
        var config = _dir.Write("config.yaml", BadInputCorpus.RichConfig(_dir.Path));
        var orders = _dir.Write("orders.yaml", Worst(name));
        var before = Snapshot(_dir.Path);
        var pwned = Directory.GetFiles(Path.GetTempPath(), "talos-pwned-*").Length;

        var r = await TalosOrderProcess.RunAsync(_dir.Path, null, "--config", config, "--orders", orders, "--log", _dir.File("logs/run.log"));

        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {Short(r.Stderr)}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: ", lines[0]);
        // After the error line only the problem list: "  FILE:LINE:COLUMN: ..." or "  FILE: ...".
        Assert.All(lines.Skip(1), l => Assert.StartsWith("  " + orders, l));
        Assert.Contains(orders, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain('\u001b', r.Stderr);
        Assert.True(r.Stderr.Length < 20_000, $"{r.Stderr.Length} characters of error output");
        Assert.Equal("", r.Stdout);
        // Nothing written: no cache, no manifest folder, no log, no other file in the folder the run started in.
        Assert.Equal(before, Snapshot(_dir.Path));
        Assert.Equal(pwned, Directory.GetFiles(Path.GetTempPath(), "talos-pwned-*").Length);
    }

    /// <summary>The orders files of the corpus do not depend on the folder; generated once for the process runs.</summary>
    private static readonly Lazy<IReadOnlyList<BadInputVariant>> Corpus = new(() => BadInputCorpus.Generate("/nonexistent"));

    private static string Worst(string name)
    {
        const string position = "    positions:\n      - {product: talos, version: v1.11.5, customization: {}}\n";
        return name switch
        {
            "orderid-terminal-escape" => "orders:\n  - orderid: \"A\\e[2J\\e[31mX\\nerror: forged\"\n" + position,
            "orderid-3MB" => "orders:\n  - orderid: " + new string('A', 3 * 1024 * 1024) + "\n" + position,
            "host-100k-list" => "orders:\n  - orderid: A\n    positions:\n      - product: talos\n        customization: {}\n        push:\n          enabled: true\n          hosts:\n" +
                                string.Concat(Enumerable.Range(0, 100_000).Select(i => $"            - \"h{i};touch /tmp/talos-pwned-{i}\"\n")),
            _ => Corpus.Value.First(v => v.Name == "rich:orders:" + name).Orders,
        };
    }

    /// <summary>Every entry under <paramref name="root"/> with size and write time.</summary>
    internal static string Snapshot(string root) =>
        string.Join("\n", Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => File.Exists(p) ? $"{p} {new FileInfo(p).Length} {File.GetLastWriteTimeUtc(p).Ticks}" : p + "/"));
}
