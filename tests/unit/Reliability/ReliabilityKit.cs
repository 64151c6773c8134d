using System.Diagnostics;
using System.Security.Cryptography;
using TalosImage.Core.Cache;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// A loopback factory for the reliability tests: an ISO of random bytes (seeded), a larger ISO for the metal platform
/// (the full-disk tests), and optionally a disk image of low-entropy bytes with its xz and zstd forms (made by the
/// real tools). Faults are injected per test through <see cref="FakeImageFactory.ImageFault"/>.
/// </summary>
public abstract class ReliabilityFactory : IAsyncLifetime
{
    public FakeImageFactory Factory { get; private set; } = null!;
    public byte[] Iso { get; private set; } = Array.Empty<byte>();
    public byte[] MetalIso { get; private set; } = Array.Empty<byte>();
    public byte[] Raw { get; private set; } = Array.Empty<byte>();
    public byte[] RawXz { get; private set; } = Array.Empty<byte>();
    public byte[] RawZst { get; private set; } = Array.Empty<byte>();

    protected abstract int IsoSize { get; }
    protected virtual int MetalIsoSize => 0;
    /// <summary>0: no disk image.</summary>
    protected virtual int RawSize => 0;

    public async Task InitializeAsync()
    {
        Iso = Random(IsoSize, 91);
        MetalIso = Random(MetalIsoSize, 92);
        if (RawSize > 0)
        {
            // 4 bits of entropy per byte: xz shrinks it to about half and takes a moment to expand it.
            var rng = new Random(93);
            Raw = new byte[RawSize];
            for (var i = 0; i < Raw.Length; i++)
            {
                Raw[i] = (byte)('a' + rng.Next(16));
            }
            (RawXz, RawZst) = await TestImages.CompressAsync(Raw, zstdLevel: 1);
        }
        Factory = await FakeImageFactory.StartAsync();
        Factory.Images = (_, _, asset) =>
            asset.StartsWith("metal", StringComparison.Ordinal) && asset.EndsWith(".iso", StringComparison.Ordinal) && MetalIso.Length > 0 ? MetalIso
            : asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso
            : asset.EndsWith(".raw.xz", StringComparison.Ordinal) && RawXz.Length > 0 ? RawXz
            : asset.EndsWith(".raw.zst", StringComparison.Ordinal) && RawZst.Length > 0 ? RawZst
            : null;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();

    public static byte[] Random(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>The invariants every fault, kill and concurrency test checks after each run.</summary>
public static class Audit
{
    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    private static bool IsSideFile(string name) =>
        name.EndsWith(ArtifactMetadata.MetaSuffix, StringComparison.Ordinal) || name.EndsWith(ArtifactMetadata.ShaSuffix, StringComparison.Ordinal) ||
        name.EndsWith(CachePaths.PartSuffix, StringComparison.Ordinal) || (name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal));

    /// <summary>
    /// Every file under a final name in the cache's artifact tree is complete and verified: it has a .meta.json that
    /// matches it (size, mtime) and whose SHA-256 is its content's, and a .sha256 that says the same. Returns the
    /// number of artifacts hashed.
    /// </summary>
    public static int CacheHoldsOnlyCompleteFiles(string cacheDir)
    {
        var tree = Path.Combine(cacheDir, "artifacts");
        if (!Directory.Exists(tree))
        {
            return 0;
        }
        var checkedFiles = 0;
        foreach (var file in Directory.GetFiles(tree, "*", SearchOption.AllDirectories))
        {
            if (IsSideFile(Path.GetFileName(file)))
            {
                continue;
            }
            var meta = ArtifactMetadata.TryRead(file);
            Assert.True(meta is not null, $"{file} has a final name but no metadata");
            Assert.True(meta!.Matches(file), $"{file} is not the file its metadata recorded (size {new FileInfo(file).Length}, recorded {meta.Size})");
            var sha = Sha256(file);
            Assert.True(sha == meta.Sha256, $"{file} has SHA-256 {sha}, its metadata records {meta.Sha256}");
            var sidecar = ArtifactMetadata.ShaPath(file);
            Assert.True(File.Exists(sidecar), $"{file} has no .sha256");
            Assert.StartsWith(sha + "  ", File.ReadAllText(sidecar));
            checkedFiles++;
        }
        return checkedFiles;
    }

    /// <summary>
    /// Every file under a final name (not hidden, not a .sha256 sidecar) in <paramref name="remoteDir"/> has one of the
    /// expected contents. Returns the number of files hashed.
    /// </summary>
    public static int RemoteHoldsOnlyWholeFiles(string remoteDir, params byte[][] expected)
    {
        if (!Directory.Exists(remoteDir))
        {
            return 0;
        }
        var hashes = expected.Select(Sha256).ToHashSet();
        var n = 0;
        foreach (var file in Directory.GetFiles(remoteDir, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('.') || name.EndsWith(ArtifactMetadata.ShaSuffix, StringComparison.Ordinal))
            {
                continue;
            }
            Assert.True(hashes.Contains(Sha256(file)), $"remote {file} ({new FileInfo(file).Length} bytes) is not a whole image");
            n++;
        }
        return n;
    }

    /// <summary>Every manifest under its final name is a complete YAML document with an order status. Returns how many.</summary>
    public static int ManifestsAreComplete(string manifestDir)
    {
        if (!Directory.Exists(manifestDir))
        {
            return 0;
        }
        var n = 0;
        foreach (var file in Directory.GetFiles(manifestDir, "manifest-*.yaml"))
        {
            var text = File.ReadAllText(file);
            var stream = new YamlDotNet.RepresentationModel.YamlStream();
            stream.Load(new StringReader(text));
            var root = Assert.IsType<YamlDotNet.RepresentationModel.YamlMappingNode>(stream.Documents.Single().RootNode);
            Assert.True(root.Children.Keys.OfType<YamlDotNet.RepresentationModel.YamlScalarNode>().Any(k => k.Value == "status"), $"{file} has no status");
            n++;
        }
        return n;
    }
}
