using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests;
using TalosImage.Tests.Servers;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench cold [MB_PER_S] [ROUNDS]: one order position with the expand bench's 1.25 GiB Talos-like raw.xz
/// (decompress_raw; built by <c>talos-bench expand 1 --keep --quick</c> when missing: /tmp/talosimage-bench-expand)
/// served by a loopback factory throttled to MB_PER_S (default 20 MB/s). Per round, interleaved, each from an empty
/// cache: the whole cold run (download + expansion, OrderRunner in this process); the download alone (same order
/// without decompress_raw), then the expansion alone (the same order with decompress_raw, the download cached: the
/// two in sequence are what a run did before the overlap); and the shell pipeline a user would write for the same two files and hashes,
/// <c>curl -s URL | tee F.raw.xz | xz -T0 -dc &gt; F.raw; sha256sum F.raw.xz F.raw</c>. Prints the medians and the
/// ratios cold / download alone (goal &lt;= 1.15x) and cold / shell pipeline.
/// </summary>
public static class ColdBench
{
    private static readonly string Data = Path.Combine(Path.GetTempPath(), "talosimage-bench-expand");

    public static async Task<int> RunAsync(string[] args)
    {
        var rate = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20;
        var rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
        var xzPath = Path.Combine(Data, "disk.raw.xz");
        if (!File.Exists(xzPath))
        {
            Console.Error.WriteLine($"{xzPath} is missing: run `talos-bench expand 1 --keep --quick` first");
            return 2;
        }
        var rawXz = await File.ReadAllBytesAsync(xzPath);
        var work = Path.Combine(Path.GetTempPath(), "talosimage-bench-cold");
        Directory.CreateDirectory(work);
        await using var factory = await FakeImageFactory.StartAsync();
        factory.Images = (_, _, asset) => asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? rawXz : null;
        var bytesPerSecond = rate * 1_000_000;
        factory.ImageFault = async (ctx, served) =>
        {
            // paced: 256 KiB at a time, never ahead of MB_PER_S since the first byte
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = served.Length;
            ctx.Response.Headers["Accept-Ranges"] = "none";
            var clock = Stopwatch.StartNew();
            for (var at = 0; at < served.Length;)
            {
                var n = Math.Min(256 << 10, served.Length - at);
                await ctx.Response.Body.WriteAsync(served.AsMemory(at, n));
                at += n;
                var due = at / bytesPerSecond - clock.Elapsed.TotalSeconds;
                if (due > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(due));
                }
            }
            return true;
        };
        Console.WriteLine($"cold: raw.xz {Units.Bytes(rawXz.Length)} served at {rate} MB/s (download alone about {rawXz.Length / bytesPerSecond:0.0} s); {rounds} round(s); load {Load()}");
        var cold = new List<double>();
        var download = new List<double>();
        var shell = new List<double>();
        var expansion = new List<double>();
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                Wipe(work);
                download.Add(await OrderAsync(work, factory, expand: false));
                expansion.Add(await OrderAsync(work, factory, expand: true)); // the download cached: the expansion alone
                Wipe(work);
                cold.Add(await OrderAsync(work, factory, expand: true));
                Wipe(work);
                shell.Add(Shell(work, factory));
                Console.WriteLine($"round {round}: cold {cold[^1]:0.00} s, download alone {download[^1]:0.00} s, expansion alone {expansion[^1]:0.00} s, shell pipeline {shell[^1]:0.00} s; load {Load()}");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        double Median(List<double> v) => v.OrderBy(x => x).ElementAt(v.Count / 2);
        Console.WriteLine();
        Console.WriteLine($"cold run (download + expansion): {Median(cold):0.00} s");
        Console.WriteLine($"download alone:                  {Median(download):0.00} s");
        Console.WriteLine($"expansion alone (cached):        {Median(expansion):0.00} s (download + expansion in sequence: {Median(download) + Median(expansion):0.00} s)");
        Console.WriteLine($"curl | tee | xz -T0 -dc; sha256sum: {Median(shell):0.00} s");
        Console.WriteLine($"cold / download alone: {Median(cold) / Median(download):0.00}x (goal <= 1.15x)");
        Console.WriteLine($"cold / shell pipeline: {Median(cold) / Median(shell):0.00}x");
        return 0;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static void Wipe(string work)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(work))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    private static async Task<double> OrderAsync(string work, FakeImageFactory factory, bool expand)
    {
        var config = Path.Combine(work, "config.yaml");
        File.WriteAllText(config, $"""
            defaults:
              cache_dir: {Path.Combine(work, "cache")}
              cache_policy:
                enabled: false
            manifest:
              dir: {Path.Combine(work, "manifests")}
            """);
        var orders = Path.Combine(work, "orders.yaml");
        File.WriteAllText(orders, "- orderid: COLD-1\n  positions:\n    - {name: disk, product: talos, version: v1.11.5, image_format: raw.xz" +
            (expand ? ", decompress_raw: true" : "") + ", customization: {}}\n");
        var watch = Stopwatch.StartNew();
        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = work,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
        var seconds = watch.Elapsed.TotalSeconds;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("the order failed: " + string.Join("; ", result.Failures.Select(f => f.Message)));
        }
        if (expand && Directory.GetFiles(Path.Combine(work, "cache"), "*.raw", SearchOption.AllDirectories).Length != 1)
        {
            throw new InvalidOperationException("no expanded image");
        }
        return seconds;
    }

    /// <summary>The same two files and hashes with curl, tee, xz and sha256sum (the schematic is already known to the factory).</summary>
    private static double Shell(string work, FakeImageFactory factory)
    {
        var url = $"{factory.BaseUrl}/image/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba/v1.11.5/nocloud-amd64.raw.xz";
        var watch = Stopwatch.StartNew();
        ChildProcess.Run("/bin/sh", new[] { "-c", "set -e; curl -sf \"$1\" | tee \"$2/disk.raw.xz\" | xz -T0 -dc > \"$2/disk.raw\"; sha256sum \"$2/disk.raw.xz\" \"$2/disk.raw\" > /dev/null", "sh", url, work },
            new ChildOptions { StdoutTo = Stream.Null, Timeout = Timeout.InfiniteTimeSpan }).EnsureSuccess();
        return watch.Elapsed.TotalSeconds;
    }
}
