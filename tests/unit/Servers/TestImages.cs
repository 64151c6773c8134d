namespace TalosImage.Tests.Servers;

/// <summary>
/// Disk images compressed by the real tools, as the factory would serve them. Free of xunit, so the Pester test host
/// (tests/TalosImage.TestHost) compiles it too.
/// </summary>
public static class TestImages
{
    /// <summary><paramref name="raw"/> as <c>xz -0 -T1</c> and <c>zstd -LEVEL</c> make it.</summary>
    public static async Task<(byte[] Xz, byte[] Zst)> CompressAsync(byte[] raw, int zstdLevel)
    {
        var dir = Path.Combine(Path.GetTempPath(), "talosimage-test-images-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var file = Path.Combine(dir, "disk.raw");
            await File.WriteAllBytesAsync(file, raw);
            Run("xz", "-0", "-T1", "-k", "-q", file);
            Run("zstd", "-q", "-" + zstdLevel, "-k", file, "-o", file + ".zst");
            return (await File.ReadAllBytesAsync(file + ".xz"), await File.ReadAllBytesAsync(file + ".zst"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs a program with an argument list; throws with its stderr when it fails (the test fails).</summary>
    public static void Run(string program, params string[] args) => ChildProcess.Run(program, args).EnsureSuccess();
}
