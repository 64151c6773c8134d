using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Servers;
using TalosImage.Tests;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench order [RAW_MIB] [ISO_MIB] [ROUNDS]: whole order runs through the engine against a loopback factory and a
/// real sshd on 127.0.0.1 (both started here). The order has 10 positions, each its own schematic: 5 ISOs pushed as
/// they are and 5 raw.xz disk images expanded and pushed as .raw, half to each of two hosts (two host entries of the one
/// sshd: user@127.0.0.1 and 127.0.0.1, each its own folders).
/// Measured, median of ROUNDS: a cold run (empty cache, empty remote folders); each stage run alone on the same order
/// (downloads only; expansions only, downloads cached; pushes only, everything cached); and a warm re-run, with the
/// bytes it downloaded and sent and the bytes this process read (/proc/self/io rchar: files, sockets and pipes).
/// </summary>
public static class OrderBench
{
    private const int Positions = 10;

    public static async Task<int> RunAsync(string[] args)
    {
        var rawMib = args.Length > 0 ? int.Parse(args[0]) : 64;
        var isoMib = args.Length > 1 ? int.Parse(args[1]) : 16;
        var rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        var missing = SshServerFixture.MissingTools() ?? (SshServerFixture.FindOnPath("xz") is null ? "xz is not installed" : null);
        if (missing is not null)
        {
            Console.Error.WriteLine("cannot run: " + missing);
            return 2;
        }
        using var sshd = new SshServerFixture();
        var work = sshd.NewFolder("order-bench");
        await using var factory = await FakeImageFactory.StartAsync();
        try
        {
            var (iso, rawXz, rawBytes) = MakeImages(work, rawMib, isoMib);
            factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? iso : asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? rawXz : null;
            Console.WriteLine($"order: {Positions} positions; ISO {Units.Bytes(iso.Length)}, raw.xz {Units.Bytes(rawXz.Length)} -> raw {Units.Bytes(rawBytes)}; {rounds} round(s)");

            var bench = new Bench(work, sshd, factory);
            var cold = new List<double>();
            var downloads = new List<double>();
            var expansions = new List<double>();
            var pushes = new List<double>();
            var warm = new List<double>();
            Measured? lastWarm = null;
            for (var round = 1; round <= rounds; round++)
            {
                bench.Wipe();
                cold.Add((await bench.RunAsync(Stages.All)).Seconds);
                var w = await bench.RunAsync(Stages.All);
                warm.Add(w.Seconds);
                lastWarm = w;

                bench.Wipe();
                downloads.Add((await bench.RunAsync(Stages.Download)).Seconds);
                expansions.Add((await bench.RunAsync(Stages.Download | Stages.Expand)).Seconds);
                pushes.Add((await bench.RunAsync(Stages.All)).Seconds);
                Console.WriteLine($"round {round}: cold {cold[^1]:0.00} s, warm {warm[^1]:0.00} s; alone: downloads {downloads[^1]:0.00} s, expansions {expansions[^1]:0.00} s, pushes {pushes[^1]:0.00} s");
            }

            double Median(List<double> v) => v.OrderBy(x => x).ElementAt(v.Count / 2);
            var slowest = new[] { ("downloads", Median(downloads)), ("expansions", Median(expansions)), ("pushes", Median(pushes)) }.MaxBy(x => x.Item2);
            Console.WriteLine();
            Console.WriteLine($"cold run:             {Median(cold):0.00} s");
            Console.WriteLine($"stages alone:         downloads {Median(downloads):0.00} s, expansions {Median(expansions):0.00} s, pushes {Median(pushes):0.00} s");
            Console.WriteLine($"cold / slowest stage: {Median(cold) / slowest.Item2:0.00}x ({slowest.Item1}; goal <= 1.2x)");
            Console.WriteLine($"warm re-run:          {Median(warm):0.00} s (goal <= 2 s); downloaded {lastWarm!.Downloaded} B, pushed {lastWarm.Pushed} B, " +
                $"changed: {lastWarm.Changed}; this process read {Units.Bytes(lastWarm.BytesRead)} (artifacts: {Units.Bytes(Positions / 2 * (iso.Length + rawXz.Length + rawBytes))})");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Flags]
    private enum Stages
    {
        Download = 1,
        Expand = 2,
        Push = 4,
        All = Download | Expand | Push,
    }

    private sealed record Measured(double Seconds, long Downloaded, long Pushed, bool Changed, long BytesRead);

    private sealed class Bench
    {
        private readonly string _work;
        private readonly SshServerFixture _sshd;
        private readonly FakeImageFactory _factory;

        public Bench(string work, SshServerFixture sshd, FakeImageFactory factory) => (_work, _sshd, _factory) = (work, sshd, factory);

        private string Cache => Path.Combine(_work, "cache");
        private string Remote => Path.Combine(_work, "remote");

        public void Wipe()
        {
            foreach (var dir in new[] { Cache, Remote, Path.Combine(_work, "manifests") })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }

        public async Task<Measured> RunAsync(Stages stages)
        {
            var config = Path.Combine(_work, "config.yaml");
            File.WriteAllText(config, $"""
                defaults:
                  cache_dir: {Cache}
                  concurrency: 4
                  push:
                    ssh_opts: "{_sshd.SshOptions}"
                    rsync_opts: "-a"
                  cache_policy:
                    enabled: false
                manifest:
                  dir: {Path.Combine(_work, "manifests")}
                """);
            var orders = Path.Combine(_work, "orders.yaml");
            File.WriteAllText(orders, Orders(stages));
            var readBefore = ReadChars();
            var watch = Stopwatch.StartNew();
            var result = await new OrderRunner(new RunOptions
            {
                ConfigPath = config,
                OrdersPath = orders,
                BaseDirectory = _work,
                Environment = n => n == OrderLoader.FactoryUrlVariable ? _factory.BaseUrl : null,
            }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
            var seconds = watch.Elapsed.TotalSeconds;
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException("the order failed: " + string.Join("; ", result.Failures.Select(f => f.Message)));
            }
            var order = result.Orders.Single();
            return new Measured(seconds, order.BytesDownloaded, order.BytesPushed, order.Changed, ReadChars() - readBefore);
        }

        private string Orders(Stages stages)
        {
            var sb = new System.Text.StringBuilder("- orderid: BENCH-1\n  positions:\n");
            for (var i = 0; i < Positions; i++)
            {
                var disk = i % 2 == 1;
                var host = i < Positions / 2 ? "a" : "b";
                sb.Append($"    - name: p{i}\n      product: talos\n      version: v1.11.5\n");
                sb.Append($"      customization: {{extraKernelArgs: [bench.position={i}]}}\n");
                sb.Append($"      image_format: {(disk ? "raw.xz" : "iso")}\n");
                if (disk && stages.HasFlag(Stages.Expand))
                {
                    sb.Append("      decompress_raw: true\n");
                }
                if (stages.HasFlag(Stages.Push))
                {
                    // Two hosts: two host entries of the one sshd (user@127.0.0.1 and 127.0.0.1), each its own folders.
                    var name = host == "a" ? _sshd.Host : "127.0.0.1";
                    sb.Append($"      push: {{enabled: true, prefer_decompressed: true, hosts: [{{host: {name}, iso_dir: {Remote}/{host}/iso, import_dir: {Remote}/{host}/import}}]}}\n");
                }
            }
            return sb.ToString();
        }
    }

    /// <summary>/proc/self/io rchar: bytes this process read through read() and similar, files, sockets and pipes.</summary>
    private static long ReadChars()
    {
        foreach (var line in File.ReadLines("/proc/self/io"))
        {
            if (line.StartsWith("rchar:", StringComparison.Ordinal))
            {
                return long.Parse(line.Substring(6).Trim());
            }
        }
        return 0;
    }

    /// <summary>An ISO of random bytes, and a disk image like a Talos one (mostly zeros, scattered data) as raw.xz.</summary>
    internal static (byte[] Iso, byte[] RawXz, long RawBytes) MakeImages(string work, int rawMib, int isoMib)
    {
        var random = new Random(7);
        var iso = new byte[isoMib * 1024 * 1024];
        random.NextBytes(iso);
        var raw = Path.Combine(work, "disk.raw");
        using (var f = new FileStream(raw, FileMode.Create))
        {
            f.SetLength((long)rawMib * 1024 * 1024);
            var block = new byte[1024 * 1024];
            for (var mib = 0; mib < rawMib; mib += 4)
            {
                random.NextBytes(block);
                f.Position = (long)mib * 1024 * 1024;
                f.Write(block);
            }
        }
        ChildProcess.Run("xz", new[] { "-0", "-T0", "-k", "-f", raw }, new ChildOptions { StdoutTo = Stream.Null, Timeout = Timeout.InfiniteTimeSpan }).EnsureSuccess();
        var bytes = File.ReadAllBytes(raw + ".xz");
        var size = new FileInfo(raw).Length;
        File.Delete(raw);
        File.Delete(raw + ".xz");
        return (iso, bytes, size);
    }
}
