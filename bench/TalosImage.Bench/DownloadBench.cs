using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Tests;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench download [SIZE_MIB] [RUNS]: serves a SIZE_MIB (default 1024) file of random bytes from a loopback
/// Kestrel in this process and compares
/// - `curl -s -o FILE URL` with ArtifactDownloader.SaveAsync (download + SHA-256 + write + fsync), median of RUNS,
///   and the peak working-set growth of this process during SaveAsync;
/// - `openssl dgst -sha256 FILE` with SaveAsync -Verify (re-hash of the cached file), median of RUNS;
/// - a cache hit: server requests and elapsed time.
/// Data lives in /tmp/talosimage-bench-download and is deleted at the end.
/// </summary>
public static class DownloadBench
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    public static async Task<int> RunAsync(string[] args)
    {
        var sizeMiB = args.Length > 0 ? int.Parse(args[0]) : 1024;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var root = Path.Combine(Path.GetTempPath(), "talosimage-bench-download");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, true);
        }
        Directory.CreateDirectory(root);
        try
        {
            var source = Path.Combine(root, "source.bin");
            Generate(source, sizeMiB);
            var size = new FileInfo(source).Length;
            Console.WriteLine($"file: {size} bytes ({sizeMiB} MiB) of random data; runs: {runs} (median reported)");

            var requests = 0;
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            await using var app = builder.Build();
            app.Run(async ctx =>
            {
                Interlocked.Increment(ref requests);
                ctx.Response.ContentLength = size;
                ctx.Response.ContentType = "application/octet-stream";
                await ctx.Response.SendFileAsync(source);
            });
            await app.StartAsync();
            var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
            var request = new ArtifactRequest { SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud", Format = "raw.xz", FactoryUrl = baseUrl };
            var url = request.Url;

            // curl: what a user would otherwise run (no hashing, no fsync). A warm-up of each first.
            Run("curl", "-s", "-o", Path.Combine(root, "warmup.out"), url);
            File.Delete(Path.Combine(root, "warmup.out"));
            await new ArtifactDownloader(Path.Combine(root, "warmup"), NullEngineEvents.Instance).SaveAsync(request, new SaveOptions(), CancellationToken.None);
            Directory.Delete(Path.Combine(root, "warmup"), true);
            var curlOut = Path.Combine(root, "curl.out");
            var curl = new List<double>();
            // SaveAsync: download + hash + write + fsync + metadata, into a fresh cache each time.
            var ours = new List<double>();
            long peakGrowth = 0;
            TalosArtifact? artifact = null;
            var cache = Path.Combine(root, "cache");
            for (var i = 0; i < runs; i++)
            {
                // Interleaved with curl so that both see the same machine load.
                File.Delete(curlOut);
                var curlClock = Stopwatch.StartNew();
                Run("curl", "-s", "-o", curlOut, url);
                curl.Add(curlClock.Elapsed.TotalSeconds);
                File.Delete(curlOut);

                if (Directory.Exists(cache))
                {
                    Directory.Delete(cache, true);
                }
                GC.Collect();
                GC.WaitForPendingFinalizers();
                using var self = Process.GetCurrentProcess();
                self.Refresh();
                var baseline = self.WorkingSet64;
                long peak = baseline;
                using var stop = new CancellationTokenSource();
                var sampler = Task.Run(async () =>
                {
                    using var p = Process.GetCurrentProcess();
                    while (!stop.IsCancellationRequested)
                    {
                        p.Refresh();
                        peak = Math.Max(peak, p.WorkingSet64);
                        try { await Task.Delay(20, stop.Token); } catch (OperationCanceledException) { }
                    }
                });
                var sw = Stopwatch.StartNew();
                artifact = await new ArtifactDownloader(cache, NullEngineEvents.Instance).SaveAsync(request, new SaveOptions(), CancellationToken.None);
                ours.Add(sw.Elapsed.TotalSeconds);
                stop.Cancel();
                await sampler;
                peakGrowth = Math.Max(peakGrowth, peak - baseline);
            }
            var expected = Sha256Of(source);
            if (artifact is null || artifact.Sha256 != expected || artifact.Size != size)
            {
                Console.Error.WriteLine($"WRONG RESULT: {artifact?.Sha256} vs openssl {expected}");
                return 1;
            }

            // -Verify re-hash against openssl.
            var verify = new List<double>();
            var openssl = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var sw = Stopwatch.StartNew();
                Run("openssl", "dgst", "-sha256", artifact.Path);
                openssl.Add(sw.Elapsed.TotalSeconds);
                sw.Restart();
                var v = await new ArtifactDownloader(cache, NullEngineEvents.Instance).SaveAsync(request, new SaveOptions { Verify = true }, CancellationToken.None);
                verify.Add(sw.Elapsed.TotalSeconds);
                if (!v.FromCache)
                {
                    Console.Error.WriteLine("-Verify downloaded again: unexpected");
                    return 1;
                }
            }

            // A cache hit.
            var before = Volatile.Read(ref requests);
            var hitClock = Stopwatch.StartNew();
            var hit = await new ArtifactDownloader(cache, NullEngineEvents.Instance).SaveAsync(request, new SaveOptions(), CancellationToken.None);
            var hitSeconds = hitClock.Elapsed.TotalSeconds;
            var hitRequests = Volatile.Read(ref requests) - before;

            double Median(List<double> xs) => xs.OrderBy(x => x).ElementAt(xs.Count / 2);
            double MiBs(double seconds) => size / 1048576.0 / seconds;
            var c = Median(curl);
            var o = Median(ours);
            var s = Median(openssl);
            var v2 = Median(verify);
            Console.WriteLine($"curl -s -o FILE URL        : {c:0.000} s  {MiBs(c),7:0} MiB/s   runs {string.Join(" ", curl.Select(x => x.ToString("0.000")))}");
            Console.WriteLine($"SaveAsync (hash+write+fsync): {o:0.000} s  {MiBs(o),7:0} MiB/s   runs {string.Join(" ", ours.Select(x => x.ToString("0.000")))}");
            Console.WriteLine($"download ratio (curl time / ours): {c / o:0.00}x   (goal >= 0.80x)");
            Console.WriteLine($"peak working-set growth during SaveAsync: {peakGrowth / 1048576.0:0.0} MiB   (goal < 100 MB)");
            Console.WriteLine($"openssl dgst -sha256       : {s:0.000} s  {MiBs(s),7:0} MiB/s   runs {string.Join(" ", openssl.Select(x => x.ToString("0.000")))}");
            Console.WriteLine($"SaveAsync -Verify (re-hash): {v2:0.000} s  {MiBs(v2),7:0} MiB/s   runs {string.Join(" ", verify.Select(x => x.ToString("0.000")))}");
            Console.WriteLine($"verify ratio (openssl time / ours): {s / v2:0.00}x   (goal >= 0.90x)");
            Console.WriteLine($"cache hit: FromCache={hit.FromCache}, server requests {hitRequests}, {hitSeconds * 1000:0.0} ms");
            await app.StopAsync();
            return 0;
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    private static void Generate(string path, int sizeMiB)
    {
        var rng = new Random(1);
        var block = new byte[1 << 20];
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (var i = 0; i < sizeMiB; i++)
        {
            rng.NextBytes(block);
            f.Write(block);
        }
    }

    private static string Sha256Of(string path)
    {
        var output = Run("openssl", "dgst", "-sha256", "-r", path);
        return output.Split(' ')[0].Trim();
    }

    private static string Run(string file, params string[] args) =>
        ChildProcess.Run(file, args, new ChildOptions { Timeout = Timeout.InfiniteTimeSpan }).EnsureSuccess().Stdout;
}
