using System.Security.Cryptography;

namespace TalosImage.Tests.Expansion;

/// <summary>
/// One small disk image (random data, text-like data, large zero runs, a trailing zero run) written once, and its
/// compressed forms made by the real xz, zstd, gzip and tar on first use.
/// </summary>
public sealed class ExpansionFixture : IDisposable
{
    public const long ImageSize = 6L << 20;

    private readonly Dictionary<string, string> _made = new();
    private readonly object _lock = new();

    public ExpansionFixture()
    {
        Dir = new TempDir();
        ImagePath = Dir.File("src/disk.raw");
        Directory.CreateDirectory(Path.GetDirectoryName(ImagePath)!);
        var image = new byte[ImageSize];
        var random = new Random(20240611);
        random.NextBytes(image.AsSpan(0, 512 << 10));                  // 0 - 512 KiB: random (incompressible)
        var words = new[] { "talos ", "kernel ", "initramfs ", "machine ", "config ", "\n", "0x1f ", "etcd " };
        var pos = 1 << 20;                                              // 512 KiB - 1 MiB: zeros
        while (pos < (2 << 20))                                         // 1 - 2 MiB: text-like
        {
            var w = System.Text.Encoding.ASCII.GetBytes(words[random.Next(words.Length)]);
            w.CopyTo(image, pos);
            pos += w.Length;
        }
        random.NextBytes(image.AsSpan(3 << 20, 300 << 10));             // 2 - 3 MiB zeros, then 300 KiB random
        image[(4 << 20) + 17] = 1;                                      // a lone non-zero byte in a zero run
        // 3.3 MiB - 6 MiB: zeros (the trailing run), except the byte above
        File.WriteAllBytes(ImagePath, image);
        ImageSha256 = Convert.ToHexString(SHA256.HashData(image)).ToLowerInvariant();
        NonZeroBytes = (2L << 20) - (512 << 10) + (300 << 10) + 4096;
    }

    public TempDir Dir { get; }
    public string ImagePath { get; }
    public string ImageSha256 { get; }
    /// <summary>About how much of the image is not zeros (rounded up to 4 KiB blocks).</summary>
    public long NonZeroBytes { get; }

    /// <summary>The image compressed by <paramref name="make"/>; made once per name and cached in the fixture's folder.</summary>
    public string Compressed(string name, Action<string> make)
    {
        lock (_lock)
        {
            if (!_made.TryGetValue(name, out var path))
            {
                path = Dir.File("src/" + name);
                make(path);
                _made[name] = path;
            }
            return path;
        }
    }

    /// <summary>Runs a program with an argument list; stdout to <paramref name="stdoutFile"/> when given.</summary>
    public static void Run(string program, IEnumerable<string> args, string? stdoutFile = null, string? workingDirectory = null) =>
        ChildProcess.Run(program, args, new ChildOptions { StdoutFile = stdoutFile, WorkingDirectory = workingDirectory }).EnsureSuccess();

    /// <summary>Compressed with <c>program args... -c image</c>.</summary>
    public string ByProgram(string name, string program, params string[] args) =>
        Compressed(name, path => Run(program, args.Concat(new[] { "-c", ImagePath }), path));

    public static string Sha256Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(f)).ToLowerInvariant();
    }

    /// <summary>Allocated bytes on disk of <paramref name="path"/> (du -k, in KiB x 1024); null when du is not there.</summary>
    public static long? AllocatedBytes(string path)
    {
        try
        {
            var du = ChildProcess.Run("du", new[] { "-k", path });
            return du.ExitCode == 0 ? long.Parse(du.Stdout.Split('\t')[0]) * 1024 : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Whether the temp filesystem makes holes: a 16 MiB file with one byte written at the end.</summary>
    public bool SupportsHoles()
    {
        var probe = Dir.File("hole-probe");
        using (var f = File.Create(probe))
        {
            f.Seek((16 << 20) - 1, SeekOrigin.Begin);
            f.WriteByte(1);
        }
        var allocated = AllocatedBytes(probe);
        File.Delete(probe);
        return allocated is { } a && a < (1 << 20);
    }

    public void Dispose() => Dir.Dispose();
}
