using System.Diagnostics;
using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Expansion;
using TalosImage.Tests;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench expand [runs] [--keep]: builds a 1.25 GiB disk image that looks like a Talos one (about 200 MB of
/// binaries from /usr/lib and /usr/bin, 40 x 1 MiB of random data at scattered offsets, zeros elsewhere) in
/// /tmp/talosimage-bench-expand, compresses it as the factory does (<c>xz -0 -T0</c>, <c>zstd -T0 -18</c>; the
/// compressed files are kept between runs unless the data is deleted), and prints the median wall time of
/// Expand (ImageExpander) against <c>xz -T0 -dc IN &gt; OUT</c>, Python's lzma in 1 MiB chunks and
/// <c>zstd -dc IN &gt; OUT</c>, the allocated size of the output, its hash and the peak working set; and the managed
/// decoder (SharpCompress, <c>-Decompressor Managed</c>) against <c>xz -T0 -dc</c> for raw.xz and against the native
/// path for raw.zst, both with the hash.
/// The data is deleted at the end unless --keep.
/// </summary>
public static class ExpandBench
{
    private const long ImageSize = 1280L << 20; // 1.25 GiB
    private const long BinaryBytes = 200_000_000;
    private const int RandomChunks = 40;
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), "talosimage-bench-expand");

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "--one")
        {
            return await OneAsync(args[1], args[2], args.Length > 3 ? (ExpansionBackend)Enum.Parse(typeof(ExpansionBackend), args[3]) : ExpansionBackend.Auto);
        }
        var runs = args.Length > 0 && int.TryParse(args[0], out var r) ? r : 5;
        var keep = args.Contains("--keep");
        // --quick: only the native decoders against xz and the zstd anchors (no Python, no managed decoder, no memory step)
        var quick = args.Contains("--quick");
        Directory.CreateDirectory(Dir);
        var image = Path.Combine(Dir, "disk.raw");
        var (imageSha, nonZero) = EnsureImage(image);
        var xz = Path.Combine(Dir, "disk.raw.xz");
        var zst = Path.Combine(Dir, "disk.raw.zst");
        EnsureCompressed(xz, () => Sh("exec xz -0 -T0 -c \"$1\" > \"$2\"", image, xz + ".tmp"));
        EnsureCompressed(zst, () => Sh("exec zstd -q -T0 -18 -c \"$1\" > \"$2\"", image, zst + ".tmp"));
        Console.WriteLine($"image {Units.Bytes(ImageSize)}, non-zero {Units.Bytes(nonZero)}; raw.xz {Units.Bytes(new FileInfo(xz).Length)}, raw.zst {Units.Bytes(new FileInfo(zst).Length)}; {Environment.ProcessorCount} cores; {runs} runs each");
        Console.WriteLine($"liblzma: {LzmaDecoderInfo()}");

        var ours = Path.Combine(Dir, "ours.raw");
        var theirs = Path.Combine(Dir, "theirs.raw");
        string? oursXzSha = null, oursZstSha = null;
        long oursXzAllocated = 0, oursZstAllocated = 0;
        var xzSha = Sha256Of(xz);
        var zstSha = Sha256Of(zst);

        // Rounds interleave the tools, so that load from other processes on this shared machine hits all alike.
        var times = new Dictionary<string, List<double>>();
        void Time(string label, Action action)
        {
            var sw = Stopwatch.StartNew();
            action();
            (times.TryGetValue(label, out var list) ? list : times[label] = new List<double>()).Add(sw.Elapsed.TotalSeconds);
        }
        string? oursXzFileSha = null, oursZstFileSha = null, pySha = null;
        string? managedXzSha = null, managedZstSha = null, managedXzFileSha = null, managedZstFileSha = null;
        long managedXzAllocated = 0, managedZstAllocated = 0;
        long xzAllocated = 0, zstdAllocated = 0;
        // One expansion of each first, not in the medians: the first in a process is slower (1.5-1.8 s more for raw.xz
        // here; JIT compilation of the managed code is one cause, not broken down). talos-order is native and does not JIT.
        foreach (var (path, format) in new[] { (xz, "raw.xz"), (zst, "raw.zst") })
        {
            Clean(ours);
            var first = Stopwatch.StartNew();
            Expand(path, format, format == "raw.xz" ? xzSha : zstSha, ours);
            Console.WriteLine($"first {format} expansion in this process (not in the medians): {first.Elapsed.TotalSeconds:0.00} s");
        }
        for (var round = 0; round < runs; round++)
        {
            Clean(ours);
            Time("ours-xz", () => { var a = Expand(xz, "raw.xz", xzSha, ours); oursXzSha = a.Sha256; });
            oursXzAllocated = Allocated(ours);
            oursXzFileSha ??= Sha256Of(ours);
            Clean(ours);
            Clean(theirs);
            Time("xz", () => Sh("exec xz -T0 -dc \"$1\" > \"$2\"", xz, theirs));
            xzAllocated = Allocated(theirs);
            Clean(theirs);
            if (round < 3 && !quick)
            {
                Time("python", () => Run("python3", "-c", PythonLzma, xz, theirs));
                pySha ??= Sha256Of(theirs);
                Clean(theirs);
            }
            Time("ours-zst", () => { var a = Expand(zst, "raw.zst", zstSha, ours); oursZstSha = a.Sha256; });
            oursZstAllocated = Allocated(ours);
            oursZstFileSha ??= Sha256Of(ours);
            Clean(ours);
            Time("zstd", () => Sh("exec zstd -q -dc \"$1\" > \"$2\"", zst, theirs));
            zstdAllocated = Allocated(theirs);
            Clean(theirs);
            // the fair anchor: what a shell user writes to get a hashed copy
            Time("zstd-tee", () => Sh("zstd -q -dc \"$1\" | tee \"$2\" | sha256sum > /dev/null", zst, theirs));
            Clean(theirs);
            if (quick)
            {
                continue;
            }
            Time("mngd-xz", () => { var a = Expand(xz, "raw.xz", xzSha, ours, ExpansionBackend.Managed); managedXzSha = a.Sha256; });
            managedXzAllocated = Allocated(ours);
            managedXzFileSha ??= Sha256Of(ours);
            Clean(ours);
            Time("mngd-zst", () => { var a = Expand(zst, "raw.zst", zstSha, ours, ExpansionBackend.Managed); managedZstSha = a.Sha256; });
            managedZstAllocated = Allocated(ours);
            managedZstFileSha ??= Sha256Of(ours);
            Clean(ours);
        }
        foreach (var (label, list) in times)
        {
            Console.WriteLine($"  {label,-9} runs: " + string.Join(" ", list.Select(t => t.ToString("0.00"))));
        }
        var tOursXz = Median(times["ours-xz"]);
        var tXz = Median(times["xz"]);
        var tOursZst = Median(times["ours-zst"]);
        var tZstd = Median(times["zstd"]);
        var tZstdTee = Median(times["zstd-tee"]);
        if (quick)
        {
            Console.WriteLine();
            Console.WriteLine($"raw.xz  ours {tOursXz:0.00} s   xz -T0 -dc {tXz:0.00} s   ratio {tOursXz / tXz:0.00}x (goal <= 0.7x)");
            Console.WriteLine($"raw.zst ours {tOursZst:0.00} s   zstd -dc | tee | sha256sum {tZstdTee:0.00} s   ratio {tOursZst / tZstdTee:0.00}x (goal <= 1.0x); zstd -dc alone {tZstd:0.00} s ({tOursZst / tZstd:0.00}x)");
            Console.WriteLine($"allocated: ours xz {Units.Bytes(oursXzAllocated)} ({(double)oursXzAllocated / nonZero:0.00}x non-zero), ours zst {Units.Bytes(oursZstAllocated)} ({(double)oursZstAllocated / nonZero:0.00}x)");
            var same = oursXzSha == imageSha && oursXzFileSha == imageSha && oursZstSha == imageSha && oursZstFileSha == imageSha;
            Console.WriteLine($"byte-identical (SHA-256 of original, ours xz/zst reported and re-read): {(same ? "yes" : "NO")}");
            if (!keep)
            {
                Directory.Delete(Dir, recursive: true);
            }
            return same ? 0 : 1;
        }
        var tPy = Median(times["python"]);
        var tManagedXz = Median(times["mngd-xz"]);
        var tManagedZst = Median(times["mngd-zst"]);

        Clean(ours);
        var peakXz = Child(xz, ours);
        Clean(ours);
        var peakZst = Child(zst, ours);
        Clean(ours);
        var peakManagedXz = Child(xz, ours, ExpansionBackend.Managed);
        Clean(ours);
        var peakManagedZst = Child(zst, ours, ExpansionBackend.Managed);
        Clean(ours);

        Console.WriteLine();
        Console.WriteLine($"raw.xz  ours {tOursXz:0.00} s   xz -T0 -dc {tXz:0.00} s   ratio {tOursXz / tXz:0.00}x (goal <= 0.7x)");
        Console.WriteLine($"raw.xz  ours {tOursXz:0.00} s   python lzma 1 MiB chunks {tPy:0.00} s   speed-up {tPy / tOursXz:0.0}x (goal >= 3x)");
        Console.WriteLine($"raw.zst ours {tOursZst:0.00} s   zstd -dc | tee | sha256sum {tZstdTee:0.00} s   ratio {tOursZst / tZstdTee:0.00}x (goal <= 1.0x); zstd -dc alone {tZstd:0.00} s ({tOursZst / tZstd:0.00}x)");
        Console.WriteLine($"allocated: ours xz {Units.Bytes(oursXzAllocated)} ({(double)oursXzAllocated / nonZero:0.00}x non-zero), ours zst {Units.Bytes(oursZstAllocated)} ({(double)oursZstAllocated / nonZero:0.00}x) (goal <= 1.1x); xz -dc {Units.Bytes(xzAllocated)}, zstd -dc {Units.Bytes(zstdAllocated)}");
        Console.WriteLine($"managed raw.xz  {tManagedXz:0.00} s   xz -T0 -dc {tXz:0.00} s   ratio {tManagedXz / tXz:0.00}x (goal <= 2.0x)");
        Console.WriteLine($"managed raw.zst {tManagedZst:0.00} s   native (libzstd) {tOursZst:0.00} s   ratio {tManagedZst / tOursZst:0.00}x (goal <= 1.2x); zstd -dc {tZstd:0.00} s");
        Console.WriteLine($"allocated, managed: xz {Units.Bytes(managedXzAllocated)} ({(double)managedXzAllocated / nonZero:0.00}x non-zero), zst {Units.Bytes(managedZstAllocated)} ({(double)managedZstAllocated / nonZero:0.00}x)");
        var identical = oursXzSha == imageSha && oursXzFileSha == imageSha && oursZstSha == imageSha && oursZstFileSha == imageSha && pySha == imageSha
            && managedXzSha == imageSha && managedXzFileSha == imageSha && managedZstSha == imageSha && managedZstFileSha == imageSha;
        Console.WriteLine($"byte-identical (SHA-256 of original, ours native and managed xz/zst reported and re-read, python): {(identical ? "yes" : "NO")}");
        Console.WriteLine($"peak working set (child process, whole process): raw.xz {Units.Bytes(peakXz)}, raw.zst {Units.Bytes(peakZst)}; managed raw.xz {Units.Bytes(peakManagedXz)}, raw.zst {Units.Bytes(peakManagedZst)} (goal < 200 MB)");

        if (!keep)
        {
            Directory.Delete(Dir, recursive: true);
            Console.WriteLine($"deleted {Dir}");
        }
        return identical ? 0 : 1;
    }

    private const string PythonLzma =
        "import lzma, sys\n" +
        "d = lzma.LZMADecompressor()\n" +
        "with open(sys.argv[1], 'rb') as f, open(sys.argv[2], 'wb') as o:\n" +
        "    while True:\n" +
        "        c = f.read(1 << 20)\n" +
        "        if not c:\n" +
        "            break\n" +
        "        o.write(d.decompress(c))\n";

    private static string LzmaDecoderInfo()
    {
        var t = typeof(ImageExpander).Assembly.GetType("TalosImage.Core.Expansion.LzmaLibrary")!;
        var lib = t.GetProperty("Instance")!.GetValue(null);
        return lib is null ? "not found" : $"{t.GetProperty("Name")!.GetValue(lib)} {t.GetProperty("Version")!.GetValue(lib)}, multi-threaded decoder: {t.GetProperty("HasMultiThreadedDecoder")!.GetValue(lib)}";
    }

    private static TalosArtifact Expand(string path, string format, string sha, string destination, ExpansionBackend backend = ExpansionBackend.Auto) =>
        new ImageExpander(NullEngineEvents.Instance, new ExpandOptions { Force = true, Backend = backend })
            .ExpandAsync(new TalosArtifact { Path = path, Format = format, Sha256 = sha }, destination, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Child mode: one expansion in a fresh process; prints its peak working set.</summary>
    private static async Task<int> OneAsync(string path, string destination, ExpansionBackend backend)
    {
        var format = ImageExpander.FormatOf(path)!;
        await new ImageExpander(NullEngineEvents.Instance, new ExpandOptions { Force = true, Backend = backend })
            .ExpandAsync(new TalosArtifact { Path = path, Format = format }, destination, CancellationToken.None);
        using var me = Process.GetCurrentProcess();
        me.Refresh();
        Console.WriteLine(me.PeakWorkingSet64);
        return 0;
    }

    private static long Child(string path, string destination, ExpansionBackend backend = ExpansionBackend.Auto)
    {
        var r = ChildProcess.Run(Environment.ProcessPath!, new[] { "expand", "--one", path, destination, backend.ToString() }, new ChildOptions { Timeout = Timeout.InfiniteTimeSpan });
        if (r.ExitCode != 0)
        {
            Console.Error.Write(r.Stderr); // what the child said, as when its stderr was the console
            return -1;
        }
        return long.Parse(r.Stdout.Trim().Split('\n')[^1]);
    }

    private static (string Sha, long NonZero) EnsureImage(string path)
    {
        var info = path + ".info";
        if (File.Exists(path) && File.Exists(info) && new FileInfo(path).Length == ImageSize)
        {
            var parts = File.ReadAllText(info).Split(' ');
            return (parts[0], long.Parse(parts[1]));
        }
        Console.WriteLine($"building {path} ...");
        var sources = new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/bin", "/usr/lib" }
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            .Where(f => { try { var l = new FileInfo(f).Length; return l > 4096 && l < (64 << 20); } catch (IOException) { return false; } })
            .OrderBy(f => f, StringComparer.Ordinal);
        using (var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write))
        {
            file.SetLength(ImageSize);
            // binaries: 60 MB after a 1 MiB gap (boot), 140 MB from 300 MiB (root); like a disk's partitions
            long written = 0;
            var regions = new[] { (At: 1L << 20, Size: 60_000_000L), (At: 300L << 20, Size: BinaryBytes - 60_000_000L) };
            using var files = sources.GetEnumerator();
            foreach (var (at, size) in regions)
            {
                file.Seek(at, SeekOrigin.Begin);
                long done = 0;
                while (done < size)
                {
                    if (!files.MoveNext())
                    {
                        throw new InvalidOperationException("not enough binaries under /usr to build the image");
                    }
                    var bytes = File.ReadAllBytes(files.Current);
                    var n = (int)Math.Min(bytes.Length, size - done);
                    file.Write(bytes, 0, n);
                    done += n;
                }
                written += done;
            }
            // random data: 40 x 1 MiB at scattered offsets between the binaries and after them
            var random = new Random(1234);
            var chunk = new byte[1 << 20];
            for (var i = 0; i < RandomChunks; i++)
            {
                var at = i < 10 ? (100L << 20) + i * (18L << 20) : (500L << 20) + (i - 10) * (24L << 20);
                random.NextBytes(chunk);
                file.Seek(at, SeekOrigin.Begin);
                file.Write(chunk);
            }
            // a backup GPT-like sector at the very end
            file.Seek(ImageSize - 16384, SeekOrigin.Begin);
            random.NextBytes(chunk.AsSpan(0, 512));
            file.Write(chunk, 0, 512);
        }
        // hash and count non-zero 4 KiB blocks
        long nonZero = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var f = File.OpenRead(path + ".tmp"))
        {
            var buffer = new byte[4 << 20];
            int n;
            while ((n = f.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                for (var o = 0; o < n; o += 4096)
                {
                    if (buffer.AsSpan(o, Math.Min(4096, n - o)).IndexOfAnyExcept((byte)0) >= 0)
                    {
                        nonZero += Math.Min(4096, n - o);
                    }
                }
            }
        }
        var hex = Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
        File.Move(path + ".tmp", path, overwrite: true);
        File.WriteAllText(path + ".info", $"{hex} {nonZero}");
        foreach (var old in new[] { ".xz", ".zst" })
        {
            File.Delete(path + old);
        }
        return (hex, nonZero);
    }

    private static void EnsureCompressed(string path, Action make)
    {
        if (File.Exists(path))
        {
            return;
        }
        var sw = Stopwatch.StartNew();
        Console.WriteLine($"compressing {Path.GetFileName(path)} ...");
        make();
        File.Move(path + ".tmp", path);
        Console.WriteLine($"  {sw.Elapsed.TotalSeconds:0} s");
    }

    private static double Median(List<double> times)
    {
        var sorted = times.OrderBy(t => t).ToList();
        return sorted[sorted.Count / 2];
    }

    private static void Clean(string path)
    {
        foreach (var p in new[] { path, path + ".meta.json", path + ".sha256", path + ".part" })
        {
            File.Delete(p);
        }
    }

    /// <summary>The reference commands with their shell redirect; the paths are positional parameters, not spliced into the script.</summary>
    private static void Sh(string script, params string[] args) => Run("/bin/sh", new[] { "-c", script, "sh" }.Concat(args).ToArray());

    private static void Run(string program, params string[] args) =>
        ChildProcess.Run(program, args, new ChildOptions { StdoutTo = Stream.Null, Timeout = Timeout.InfiniteTimeSpan }).EnsureSuccess();

    private static long Allocated(string path)
    {
        var du = ChildProcess.Run("du", new[] { "-k", path });
        return long.Parse(du.Stdout.Split('\t')[0]) * 1024;
    }

    private static string Sha256Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f)).ToLowerInvariant();
    }
}
