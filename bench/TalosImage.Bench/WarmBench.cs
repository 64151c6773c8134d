using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests;
using TalosImage.Tests.Servers;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench warm [RAW_MIB] [ISO_MIB] [ROUNDS]: the whole <c>talos-order</c> process (the built CLI,
/// src/TalosImage.Cli/bin/Release/net10.0, or TALOS_ORDER=path) on issue 18's order: 10 positions, each its own
/// schematic, 5 ISOs pushed as they are and 5 raw.xz expanded and pushed as .raw, every position to TWO ssh hosts.
/// The two hosts are two host entries of one real sshd on 127.0.0.1 (<c>user@127.0.0.1</c> and <c>127.0.0.1</c>,
/// each its own remote folders): to ssh and to the engine they are two hosts (two connections, two masters).
/// Per round: a cold run (empty cache and remote folders), then a warm re-run (everything cached and published); all
/// rounds first against an sshd whose sessions get this machine's root login shell, then against one with a stock root
/// shell (Debian's .bashrc, as a Proxmox VE node has: <see cref="SshServerFixture"/>'s stockLoginShell).
/// Prints, per shell, the medians, warm/cold and the goals (warm &lt;= 0.6 s, &lt;= 0.25x of cold), and the ssh
/// connections sshd accepted during the last warm run. The packaged linux-x64 tool is native (Native AOT): measure it
/// with <c>dotnet publish src/TalosImage.Cli -c Release -r linux-x64 -o DIR</c> and <c>TALOS_ORDER=DIR/talos-order</c>
/// (the bench says which build ran). <c>--hold</c> after the rounds keeps the stock-shell servers and the warm state,
/// and prints the command line of a warm run, until stdin closes (for tracing a run by hand); <c>--hold-machine</c>
/// does the same with the servers of this machine's own shell.
/// </summary>
public static class WarmBench
{
    private const int Positions = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        var rawMib = args.Length > 0 ? int.Parse(args[0]) : 64;
        var isoMib = args.Length > 1 ? int.Parse(args[1]) : 16;
        var rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        var missing = SshServerFixture.MissingTools() ?? (SshServerFixture.FindOnPath("xz") is null ? "xz is not installed" : null);
        var cli = TalosOrder();
        if (missing is null && cli is null)
        {
            missing = "talos-order is not built (dotnet build -c Release src/TalosImage.Cli), or set TALOS_ORDER";
        }
        if (missing is not null)
        {
            Console.Error.WriteLine("cannot run: " + missing);
            return 2;
        }
        // First against this machine's root login shell, then against a stock one (a Proxmox node's root has
        // Debian's stock .bashrc; this machine's starts pyenv, about 0.15 s of programs in every remote command).
        var results = new List<(string Shell, double Cold, double Warm, double WarmCpu, int Connections)>();
        foreach (var stock in new[] { false, true })
        {
            var shell = stock ? "stock root shell (Debian's .bashrc, as on Proxmox VE)" : "this machine's root shell (~/.bashrc runs pyenv)";
            Console.WriteLine($"sshd with {shell}:");
            var r = await MeasureAsync(cli!, rawMib, isoMib, rounds, stock, hold: args.Contains(stock ? "--hold" : "--hold-machine"));
            results.Add((shell, r.Cold, r.Warm, r.WarmCpu, r.Connections));
        }
        Console.WriteLine();
        foreach (var (shell, cold, warm, warmCpu, connections) in results)
        {
            Console.WriteLine($"{shell}:");
            Console.WriteLine($"  cold run:    {cold:0.00} s");
            Console.WriteLine($"  warm re-run: {warm:0.000} s (goal <= 0.6 s); {connections} ssh connection(s) accepted by sshd in the last one (2 hosts); cpu {warmCpu:0.000} s");
            Console.WriteLine($"  warm / cold: {warm / cold:0.000}x (goal <= 0.25x)");
        }
        Console.WriteLine($"cpu: user+sys of talos-order and the ssh/rsync it waited for; load average now {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        return 0;
    }

    /// <summary>Rounds of a cold run and a warm re-run against a new sshd; the medians.</summary>
    private static async Task<(double Cold, double Warm, double WarmCpu, int Connections)> MeasureAsync(string cli, int rawMib, int isoMib, int rounds, bool stockShell, bool hold)
    {
        using var sshd = new SshServerFixture("INFO", stockShell);
        var work = sshd.NewFolder("warm-bench");
        await using var factory = await FakeImageFactory.StartAsync();
        try
        {
            var (iso, rawXz, rawBytes) = OrderBench.MakeImages(work, rawMib, isoMib);
            factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? iso : asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? rawXz : null;
            Console.WriteLine($"order: {Positions} positions x 2 ssh hosts; ISO {Units.Bytes(iso.Length)}, raw.xz {Units.Bytes(rawXz.Length)} -> raw {Units.Bytes(rawBytes)}; " +
                $"{rounds} round(s); {cli} ({Build(cli)})");
            var hosts = new[] { (Host: sshd.Host, Root: "a"), (Host: "127.0.0.1", Root: "b") };
            var config = Path.Combine(work, "config.yaml");
            File.WriteAllText(config, $"""
                defaults:
                  cache_dir: {Path.Combine(work, "cache")}
                  concurrency: 4
                  push:
                    ssh_opts: "{sshd.SshOptions}"
                    rsync_opts: "-a"
                  cache_policy:
                    enabled: false
                manifest:
                  dir: {Path.Combine(work, "manifests")}
                """);
            var orders = Path.Combine(work, "orders.yaml");
            var sb = new System.Text.StringBuilder("- orderid: WARM-1\n  positions:\n");
            for (var i = 0; i < Positions; i++)
            {
                var disk = i % 2 == 1;
                sb.Append($"    - name: p{i}\n      product: talos\n      version: v1.11.5\n");
                sb.Append($"      customization: {{extraKernelArgs: [bench.position={i}]}}\n");
                sb.Append($"      image_format: {(disk ? "raw.xz\n      decompress_raw: true" : "iso")}\n");
                sb.Append("      push: {enabled: true, prefer_decompressed: true, hosts: [");
                sb.Append(string.Join(", ", hosts.Select(h => $"{{host: {h.Host}, iso_dir: {work}/remote/{h.Root}/iso, import_dir: {work}/remote/{h.Root}/import}}")));
                sb.Append("]}\n");
            }
            File.WriteAllText(orders, sb.ToString());

            var cold = new List<double>();
            var warm = new List<double>();
            var coldCpu = new List<double>();
            var warmCpu = new List<double>();
            var connections = 0;
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var dir in new[] { "cache", "remote", "manifests" }.Select(d => Path.Combine(work, d)).Where(Directory.Exists))
                {
                    Directory.Delete(dir, recursive: true);
                }
                cold.Add(Run(cli!, work, config, orders, factory.BaseUrl, expectChange: true));
                coldCpu.Add(_cpu);
                var before = Accepted(sshd);
                warm.Add(Run(cli!, work, config, orders, factory.BaseUrl, expectChange: false));
                warmCpu.Add(_cpu);
                await Task.Delay(200);
                connections = Accepted(sshd) - before;
                Console.WriteLine($"round {round}: cold {cold[^1]:0.00} s (cpu {coldCpu[^1]:0.00} s), warm {warm[^1]:0.000} s (cpu {warmCpu[^1]:0.000} s, {connections} ssh connections)");
            }

            double Median(List<double> v) => v.OrderBy(x => x).ElementAt(v.Count / 2);
            if (hold)
            {
                // --hold: keep the servers and the warm state for tracing by hand until stdin closes.
                Console.WriteLine($"holding: {OrderLoader.FactoryUrlVariable}={factory.BaseUrl} {cli} --config {config} --orders {orders} --json   (cwd {work})");
                Console.Out.Flush();
                Console.In.ReadToEnd();
            }
            return (Median(cold), Median(warm), Median(warmCpu), connections);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>CPU seconds (user + system) of the last run: talos-order and the programs it waited for (ssh, rsync), from bash's time.</summary>
    private static double _cpu;

    private static double Run(string cli, string work, string config, string orders, string factoryUrl, bool expectChange)
    {
        var apphost = !cli.EndsWith(".dll", StringComparison.Ordinal);
        // bash's time: the wall clock is ours (Stopwatch); user + sys of the process tree it waited for.
        var args = new List<string> { "-c", "TIMEFORMAT='talosimage-cpu %U %S'; time \"$@\"", "talos-order" };
        if (!apphost)
        {
            args.Add("dotnet");
        }
        args.Add(cli);
        args.AddRange(new[] { "--config", config, "--orders", orders, "--json" });
        var watch = Stopwatch.StartNew();
        var r = ChildProcess.Run("bash", args, new ChildOptions
        {
            WorkingDirectory = work,
            Environment = new List<KeyValuePair<string, string?>> { new(OrderLoader.FactoryUrlVariable, factoryUrl), new("GITHUB_TOKEN", null), new("GH_TOKEN", null) },
            Timeout = TimeSpan.FromMinutes(20),
        });
        var seconds = watch.Elapsed.TotalSeconds;
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"talos-order exited with {r.ExitCode}: {r.Stderr}");
        }
        var cpu = r.Stderr.Split('\n').LastOrDefault(l => l.StartsWith("talosimage-cpu ", StringComparison.Ordinal))?.Split(' ');
        _cpu = cpu is { Length: 3 } ? double.Parse(cpu[1], System.Globalization.CultureInfo.InvariantCulture) + double.Parse(cpu[2], System.Globalization.CultureInfo.InvariantCulture) : double.NaN;
        var changed = r.Stdout.Contains("\"Changed\": true", StringComparison.Ordinal) || r.Stdout.Contains("\"Changed\":true", StringComparison.Ordinal);
        if (changed != expectChange)
        {
            Console.Error.WriteLine($"note: the {(expectChange ? "cold" : "warm")} run reported Changed={changed}");
        }
        return seconds;
    }

    private static int Accepted(SshServerFixture sshd) => sshd.Log.Split('\n').Count(l => l.Contains("Accepted publickey", StringComparison.Ordinal));

    /// <summary>What kind of build <paramref name="cli"/> is: native (Native AOT, no talos-order.dll beside it), ReadyToRun or IL.</summary>
    private static string Build(string cli)
    {
        var dll = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(cli))!, "talos-order.dll");
        if (!cli.EndsWith(".dll", StringComparison.Ordinal) && !File.Exists(dll))
        {
            return "native, Native AOT";
        }
        using var stream = File.OpenRead(dll);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 } ? "ReadyToRun" : "IL only, JIT at start";
    }

    /// <summary>TALOS_ORDER, else the built CLI of this repository (the apphost, else its dll).</summary>
    private static string? TalosOrder()
    {
        if (Environment.GetEnvironmentVariable("TALOS_ORDER") is { Length: > 0 } given)
        {
            return given;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TalosImage.sln")))
            {
                var bin = Path.Combine(dir.FullName, "src", "TalosImage.Cli", "bin", "Release", "net10.0");
                return new[] { Path.Combine(bin, "talos-order"), Path.Combine(bin, "talos-order.dll") }.FirstOrDefault(File.Exists);
            }
        }
        return null;
    }
}
