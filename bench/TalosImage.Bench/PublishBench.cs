using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Tests.Servers;
using TalosImage.Tests;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench publish [MiB]: the SSH transport against a real sshd on 127.0.0.1 (started here, as in the tests).
/// A realistic raw disk image (mostly zeros, some random blocks; default 200 MiB) and its raw.xz: bytes on the wire
/// for a first push, a second push of the same image, and remote expansion (push raw.xz, expand on the host) against
/// pushing the raw. Everything lives in /tmp and is deleted afterwards.
/// </summary>
public static class PublishBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var mib = args.Length > 0 ? int.Parse(args[0]) : 200;
        var missing = SshServerFixture.MissingTools() ?? (SshServerFixture.FindOnPath("xz") is null ? "xz is not installed" : null);
        if (missing is not null)
        {
            Console.Error.WriteLine("cannot run: " + missing);
            return 2;
        }
        using var sshd = new SshServerFixture();
        var work = sshd.NewFolder("bench");
        try
        {
            var raw = Path.Combine(work, "nocloud-amd64.raw");
            WriteImage(raw, mib);
            var watch = Stopwatch.StartNew();
            Run("xz", "-k", "-T0", "-6", raw);
            var xzSeconds = watch.Elapsed.TotalSeconds;
            var xz = raw + ".xz";
            var rawSha = await LocalArtifact.Sha256Async(raw, CancellationToken.None);
            var xzSha = await LocalArtifact.Sha256Async(xz, CancellationToken.None);
            long rawSize = new FileInfo(raw).Length, xzSize = new FileInfo(xz).Length;
            Console.WriteLine($"image: {Units.Bytes(rawSize)} raw, {Units.Bytes(xzSize)} raw.xz (xz -T0 -6 took {xzSeconds:0.0} s)");

            var rawArtifact = Artifact(raw, "raw", rawSha, rawSize, null);
            var xzArtifact = Artifact(xz, "raw.xz", xzSha, xzSize, rawSha);
            var publisher = new SshPublisher(NullEngineEvents.Instance);
            SshTarget Target(string name) => new()
            {
                Host = sshd.Host,
                IsoDir = Path.Combine(work, name, "iso"),
                ImportDir = Path.Combine(work, name, "import"),
                SshOptions = sshd.SshOptions,
                RsyncOptions = "-av --progress --inplace",
            };

            var first = await publisher.PublishAsync(rawArtifact, Target("raw"), SshPublishMode.AsIs, CancellationToken.None);
            var second = await publisher.PublishAsync(rawArtifact, Target("raw"), SshPublishMode.AsIs, CancellationToken.None);
            var expand = await publisher.PublishAsync(xzArtifact, Target("expand"), SshPublishMode.RemoteExpand, CancellationToken.None);
            var expandAgain = await publisher.PublishAsync(xzArtifact, Target("expand"), SshPublishMode.RemoteExpand, CancellationToken.None);
            foreach (var r in new[] { first, second, expand, expandAgain })
            {
                if (r.Status == "Failed")
                {
                    Console.Error.WriteLine($"failed: {r.Error}");
                    return 1;
                }
            }

            Console.WriteLine($"{"push",-34} {"status",-10} {"bytes sent",14} {"% of raw",9} {"seconds",8} verified");
            void Line(string what, TalosPublishResult r) =>
                Console.WriteLine($"{what,-34} {r.Status,-10} {r.BytesSent,14:N0} {100.0 * r.BytesSent / rawSize,8:0.000}% {r.Duration,8:0.00} {r.Verified}");
            Line("raw, first push", first);
            Line("raw, second push (same image)", second);
            Line("raw.xz + remote expansion", expand);
            Line("raw.xz + remote expansion, again", expandAgain);
            Console.WriteLine($"remote expansion sends {(double)first.BytesSent / Math.Max(1, expand.BytesSent):0.0}x fewer bytes than pushing the raw");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static TalosArtifact Artifact(string path, string format, string sha, long size, string? expandedSha) => new()
    {
        Path = path,
        Format = format,
        Sha256 = sha,
        Size = size,
        Asset = Path.GetFileName(path),
        SchematicId = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
        Version = "v1.11.5",
        ExpandedSha256 = expandedSha,
    };

    /// <summary>
    /// Like a Talos raw image: partitions that are mostly empty. Per MiB: 96 KiB of random data (incompressible, like
    /// compressed squashfs), 32 KiB of repetitive text-like data, the rest zeros.
    /// </summary>
    private static void WriteImage(string path, int mib)
    {
        var random = new Random(42);
        var block = new byte[1 << 20];
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("talos machine config kubelet etcd containerd ", 800)));
        using var file = File.Create(path);
        for (var i = 0; i < mib; i++)
        {
            Array.Clear(block);
            random.NextBytes(block.AsSpan(0, 96 * 1024));
            text.AsSpan(0, 32 * 1024).CopyTo(block.AsSpan(512 * 1024));
            file.Write(block);
        }
    }

    private static void Run(string program, params string[] args) =>
        ChildProcess.Run(program, args, new ChildOptions { StdoutTo = Stream.Null, Timeout = Timeout.InfiniteTimeSpan }).EnsureSuccess();
}
