using TalosImage.Core;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using Xunit;

namespace TalosImage.Tests.Expansion;

/// <summary>Round trips through the real xz, zstd, gzip and tar; corrupt and truncated inputs; the skip rule.</summary>
public sealed class ImageExpanderTests : IClassFixture<ExpansionFixture>
{
    private readonly ExpansionFixture _f;

    public ImageExpanderTests(ExpansionFixture fixture) => _f = fixture;

    /// <summary>name -> (asset file name, how to make it)</summary>
    private string Make(string variant) => variant switch
    {
        "xz-single" => _f.ByProgram(variant, "xz", "-0", "-T1"),
        "xz-multi" => _f.ByProgram(variant, "xz", "-0", "-T2", "--block-size=262144"),
        "xz-crc32" => _f.ByProgram(variant, "xz", "-0", "-T1", "--check=crc32"),
        "xz-crc64" => _f.ByProgram(variant, "xz", "-0", "-T2", "--block-size=262144", "--check=crc64"),
        "xz-sha256" => _f.ByProgram(variant, "xz", "-0", "-T2", "--block-size=262144", "--check=sha256"),
        "zstd" => _f.ByProgram(variant, "zstd", "-18", "-T0", "-q"),
        "zstd-nocheck" => _f.ByProgram(variant, "zstd", "-18", "--no-check", "-q"),
        "zstd-multi" => _f.Compressed(variant, p => Concatenate(p, "zstd", "-3", "-q")),
        "xz-concat" => _f.Compressed(variant, p => Concatenate(p, "xz", "-0", "-T1")),
        "gz" => _f.ByProgram(variant, "gzip", "-6"),
        "tar.gz" => _f.Compressed(variant, p => ExpansionFixture.Run("tar", new[] { "-czf", p, "-C", Path.GetDirectoryName(_f.ImagePath)!, "disk.raw" })),
        "tar.gz-sparse" => _f.Compressed(variant, p => ExpansionFixture.Run("tar", new[] { "-czf", p, "--sparse", "-C", Path.GetDirectoryName(_f.ImagePath)!, "disk.raw" })),
        "tar.gz-posix-sparse" => _f.Compressed(variant, p => ExpansionFixture.Run("tar", new[] { "-czf", p, "--format=posix", "--sparse", "-C", Path.GetDirectoryName(_f.ImagePath)!, "disk.raw" })),
        _ => throw new ArgumentException(variant),
    };

    /// <summary>The image's two halves compressed one by one and concatenated: two zstd frames, or two xz streams.</summary>
    private void Concatenate(string path, string program, params string[] args)
    {
        var image = File.ReadAllBytes(_f.ImagePath);
        using var output = File.Create(path);
        for (var half = 0; half < 2; half++)
        {
            var part = path + ".half" + half;
            File.WriteAllBytes(part, image[(half * image.Length / 2)..((half + 1) * image.Length / 2)]);
            ExpansionFixture.Run(program, args.Concat(new[] { "-c", part }), part + ".out");
            using (var compressed = File.OpenRead(part + ".out"))
            {
                compressed.CopyTo(output);
            }
            File.Delete(part);
            File.Delete(part + ".out");
        }
    }

    /// <summary>Every xz and zstd variant with every decoder that can run it (gz and tar.gz: .NET whatever is asked).</summary>
    public static TheoryData<string, ExpansionBackend> VariantsAndDecoders()
    {
        var data = new TheoryData<string, ExpansionBackend>();
        foreach (var variant in new[] { "xz-single", "xz-multi", "xz-crc32", "xz-crc64", "xz-sha256", "xz-concat", "zstd", "zstd-nocheck", "zstd-multi" })
        {
            foreach (var backend in new[] { ExpansionBackend.Auto, ExpansionBackend.Native, ExpansionBackend.Managed, ExpansionBackend.Program })
            {
                data.Add(variant, backend);
            }
        }
        foreach (var variant in new[] { "gz", "tar.gz", "tar.gz-sparse", "tar.gz-posix-sparse" })
        {
            data.Add(variant, ExpansionBackend.Auto);
            data.Add(variant, ExpansionBackend.Managed);
        }
        return data;
    }

    /// <summary>The decoder a run with <paramref name="backend"/> reports for <paramref name="variant"/> on this host (the libraries load here).</summary>
    private static string DecoderThatRuns(string variant, ExpansionBackend backend) =>
        variant.StartsWith("xz", StringComparison.Ordinal) || variant.StartsWith("zstd", StringComparison.Ordinal)
            ? (backend == ExpansionBackend.Auto ? ExpansionBackend.Native : backend).ToString()
            : "Managed";

    private static string Extension(string variant) =>
        variant.StartsWith("xz", StringComparison.Ordinal) ? "raw.xz"
        : variant.StartsWith("zstd", StringComparison.Ordinal) ? "raw.zst"
        : variant.StartsWith("tar.gz", StringComparison.Ordinal) ? "raw.tar.gz"
        : "raw.gz";

    /// <summary>A copy of the variant as nocloud-amd64.&lt;format&gt; in its own folder, as a downloaded artifact.</summary>
    private TalosArtifact Source(TempDir dir, string variant, string? sha = "")
    {
        var path = dir.File("nocloud-amd64." + Extension(variant));
        File.Copy(Make(variant), path);
        return new TalosArtifact
        {
            Path = path,
            Format = Extension(variant),
            Sha256 = sha == "" ? ExpansionFixture.Sha256Of(path) : sha ?? "",
            Url = "http://127.0.0.1:1/image/abc/v1.11.5/nocloud-amd64." + Extension(variant),
            SchematicId = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
            Version = "v1.11.5",
            Platform = "nocloud",
            Architecture = "amd64",
            Asset = "nocloud-amd64." + Extension(variant),
            InstallerImage = "factory.talos.dev/nocloud-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.11.5",
        };
    }

    private static Task<TalosArtifact> Expand(TalosArtifact source, ExpandOptions? options = null, string? destination = null, IEngineEvents? events = null) =>
        new ImageExpander(events ?? NullEngineEvents.Instance, options).ExpandAsync(source, destination, CancellationToken.None);

    [Theory]
    [MemberData(nameof(VariantsAndDecoders))]
    public async Task Round_trip_gives_the_original_bytes_with_metadata(string variant, ExpansionBackend backend)
    {
        using var dir = new TempDir();
        var source = Source(dir, variant);
        var result = await Expand(source, new ExpandOptions { Backend = backend });

        var expected = dir.File("nocloud-amd64.raw");
        Assert.Equal(expected, result.Path);
        Assert.Equal(_f.ImageSha256, result.Sha256);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(expected));
        Assert.Equal(ExpansionFixture.ImageSize, result.Size);
        Assert.Equal(ExpansionFixture.ImageSize, new FileInfo(expected).Length);
        Assert.False(result.FromCache);
        Assert.Equal("Expanded", result.Kind);
        Assert.Equal("raw", result.Format);
        Assert.Equal("nocloud-amd64.raw", result.Asset);
        Assert.Equal(source.Path, result.SourcePath);
        Assert.Equal(source.Url, result.Url);
        Assert.Equal(source.SchematicId, result.SchematicId);
        Assert.Equal(source.InstallerImage, result.InstallerImage);
        Assert.Equal("nocloud", result.Platform);
        Assert.False(File.Exists(expected + ImageExpander.PartSuffix));

        var meta = ArtifactMetadata.TryRead(expected);
        Assert.NotNull(meta);
        Assert.Equal("Expanded", meta!.Kind);
        Assert.Equal(source.Sha256, meta.SourceSha256);
        Assert.Equal(_f.ImageSha256, meta.Sha256);
        Assert.Equal("raw", meta.Format);
        Assert.True(meta.Matches(expected));
        Assert.Equal($"{_f.ImageSha256}  nocloud-amd64.raw\n", File.ReadAllText(ArtifactMetadata.ShaPath(expected)));
        Assert.Equal(DecoderThatRuns(variant, backend), result.Decompressor);
        Assert.Equal(DecoderThatRuns(variant, backend), meta.Decompressor);
    }

    [Theory]
    [InlineData("xz-multi")]
    [InlineData("xz-single")]
    [InlineData("zstd")]
    [InlineData("zstd-multi")]
    public async Task Auto_takes_the_managed_decoder_where_the_libraries_do_not_load_and_Native_then_fails(string variant)
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        var result = await Expand(Source(dir, variant), new ExpandOptions { WithoutNativeLibraries = true }, events: events);
        Assert.Equal("Managed", result.Decompressor);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
        Assert.Contains(events.Messages, m => m.Contains("did not load", StringComparison.Ordinal) && m.Contains("managed decoder", StringComparison.Ordinal));
        Assert.Contains(events.Messages, m => m.Contains("with the Managed decompressor: SharpCompress", StringComparison.Ordinal));

        using var other = new TempDir();
        var e = await Assert.ThrowsAsync<TalosException>(() => Expand(Source(other, variant), new ExpandOptions { Backend = ExpansionBackend.Native, WithoutNativeLibraries = true }));
        Assert.Equal("DecompressorMissing", e.ErrorId);
        Assert.Contains(variant.StartsWith("xz", StringComparison.Ordinal) ? "liblzma" : "libzstd", e.Message);
        Assert.False(File.Exists(other.File("nocloud-amd64.raw" + ImageExpander.PartSuffix)));
    }

    [Fact]
    public async Task A_skipped_expansion_names_the_decoder_that_made_it()
    {
        using var dir = new TempDir();
        var source = Source(dir, "zstd");
        var first = await Expand(source, new ExpandOptions { Backend = ExpansionBackend.Managed });
        Assert.Equal("Managed", first.Decompressor);
        var second = await Expand(source, new ExpandOptions { Backend = ExpansionBackend.Program });
        Assert.True(second.FromCache);
        Assert.Equal("Managed", second.Decompressor);
        Assert.Equal("Managed", ImageExpander.FindExpanded(source, null, CancellationToken.None)!.Decompressor);
    }

    [SkippableTheory]
    [InlineData("xz-multi", ExpansionBackend.Auto)]
    [InlineData("zstd", ExpansionBackend.Auto)]
    [InlineData("gz", ExpansionBackend.Auto)]
    [InlineData("tar.gz-sparse", ExpansionBackend.Auto)]
    [InlineData("xz-multi", ExpansionBackend.Managed)]
    [InlineData("xz-single", ExpansionBackend.Managed)]
    [InlineData("zstd", ExpansionBackend.Managed)]
    [InlineData("zstd-multi", ExpansionBackend.Managed)]
    [InlineData("xz-multi", ExpansionBackend.Program)]
    [InlineData("zstd", ExpansionBackend.Program)]
    public async Task Output_is_sparse(string variant, ExpansionBackend backend)
    {
        Skip.IfNot(_f.SupportsHoles(), "the temp filesystem does not make holes (or du is missing): sparseness cannot be observed here");
        using var dir = new TempDir();
        var result = await Expand(Source(dir, variant), new ExpandOptions { Backend = backend });
        var allocated = ExpansionFixture.AllocatedBytes(result.Path)!.Value;
        // 6 MiB image, about 1.8 MiB of it not zeros; allow for filesystem block rounding.
        Assert.True(allocated < _f.NonZeroBytes + (256 << 10), $"allocated {allocated} bytes for {_f.NonZeroBytes} non-zero bytes");
        Assert.True(allocated < ExpansionFixture.ImageSize / 2);
    }

    [Theory]
    [InlineData("xz-multi")]
    [InlineData("xz-single")]
    [InlineData("zstd")]
    public async Task Program_backend_gives_identical_output(string variant)
    {
        using var dir = new TempDir();
        var result = await Expand(Source(dir, variant), new ExpandOptions { Backend = ExpansionBackend.Program });
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
        Assert.Equal(_f.ImageSha256, result.Sha256);
    }

    [Theory]
    [InlineData("xz-multi", 1)]
    [InlineData("xz-multi", 2)]
    [InlineData("xz-single", 4)]
    public async Task Native_xz_with_any_thread_count_gives_identical_output(string variant, int threads)
    {
        using var dir = new TempDir();
        var result = await Expand(Source(dir, variant), new ExpandOptions { Backend = ExpansionBackend.Native, Threads = threads });
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
    }

    [Theory]
    [InlineData("xz-multi", 1)]
    [InlineData("xz-multi", 2)]
    [InlineData("xz-multi", 5)]
    [InlineData("xz-single", 4)]
    [InlineData("xz-concat", 2)]
    public async Task Managed_xz_with_any_thread_count_gives_identical_output(string variant, int threads)
    {
        using var dir = new TempDir();
        var result = await Expand(Source(dir, variant), new ExpandOptions { Backend = ExpansionBackend.Managed, Threads = threads });
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
        Assert.Equal(_f.ImageSha256, result.Sha256);
    }

    [Theory]
    [InlineData("xz-single", "truncate", ExpansionBackend.Native)]
    [InlineData("xz-multi", "truncate", ExpansionBackend.Native)]
    [InlineData("xz-multi", "truncate-tail", ExpansionBackend.Native)]
    [InlineData("xz-multi", "flip", ExpansionBackend.Native)]
    [InlineData("xz-multi", "flip-index", ExpansionBackend.Native)]
    [InlineData("xz-multi", "flip-last-block", ExpansionBackend.Native)]
    [InlineData("xz-crc32", "flip", ExpansionBackend.Native)]
    [InlineData("xz-sha256", "flip", ExpansionBackend.Native)]
    [InlineData("xz-multi", "truncate", ExpansionBackend.Program)]
    [InlineData("xz-multi", "flip", ExpansionBackend.Program)]
    [InlineData("xz-single", "truncate", ExpansionBackend.Managed)]
    [InlineData("xz-single", "truncate-tail", ExpansionBackend.Managed)]
    [InlineData("xz-single", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-single", "flip-index", ExpansionBackend.Managed)]
    [InlineData("xz-multi", "truncate", ExpansionBackend.Managed)]
    [InlineData("xz-multi", "truncate-tail", ExpansionBackend.Managed)]
    [InlineData("xz-multi", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-multi", "flip-index", ExpansionBackend.Managed)]
    [InlineData("xz-multi", "flip-last-block", ExpansionBackend.Managed)]
    [InlineData("xz-crc32", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-crc64", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-sha256", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-concat", "truncate", ExpansionBackend.Managed)]
    [InlineData("xz-concat", "flip", ExpansionBackend.Managed)]
    [InlineData("xz-concat", "truncate-tail", ExpansionBackend.Managed)]
    [InlineData("xz-concat", "garbage", ExpansionBackend.Managed)]
    [InlineData("xz-concat", "garbage", ExpansionBackend.Native)]
    [InlineData("zstd", "truncate", ExpansionBackend.Native)]
    [InlineData("zstd", "truncate-tail", ExpansionBackend.Native)]
    [InlineData("zstd-nocheck", "truncate", ExpansionBackend.Native)]
    [InlineData("zstd", "flip", ExpansionBackend.Native)]
    [InlineData("zstd", "truncate", ExpansionBackend.Program)]
    [InlineData("zstd", "flip", ExpansionBackend.Program)]
    [InlineData("zstd", "truncate", ExpansionBackend.Managed)]
    [InlineData("zstd", "truncate-tail", ExpansionBackend.Managed)]
    [InlineData("zstd-nocheck", "truncate", ExpansionBackend.Managed)]
    [InlineData("zstd", "flip", ExpansionBackend.Managed)]
    [InlineData("zstd-multi", "truncate", ExpansionBackend.Managed)]
    [InlineData("zstd-multi", "truncate-tail", ExpansionBackend.Managed)]
    [InlineData("zstd-multi", "flip", ExpansionBackend.Managed)]
    [InlineData("zstd-multi", "truncate-tail", ExpansionBackend.Native)]
    [InlineData("gz", "truncate", ExpansionBackend.Auto)]
    [InlineData("gz", "truncate-tail", ExpansionBackend.Auto)]
    [InlineData("gz", "flip", ExpansionBackend.Auto)]
    [InlineData("tar.gz-sparse", "truncate", ExpansionBackend.Auto)]
    [InlineData("tar.gz-sparse", "flip", ExpansionBackend.Auto)]
    [InlineData("tar.gz", "truncate-tail", ExpansionBackend.Auto)]
    public async Task Corrupt_or_truncated_input_fails_and_leaves_nothing(string variant, string damage, ExpansionBackend backend)
    {
        using var dir = new TempDir();
        var source = Source(dir, variant);
        var bytes = File.ReadAllBytes(source.Path);
        bytes = damage switch
        {
            "truncate" => bytes[..(bytes.Length * 3 / 5)],
            "truncate-tail" => bytes[..^4], // only the end of the container (index / checksum / trailer) missing
            "flip-index" => Flip(bytes, bytes.Length - 20), // inside the xz index
            "flip-last-block" => Flip(bytes, bytes.Length - 200), // the last block: a zero run, like earlier ones
            "garbage" => bytes.Concat(new byte[] { 0, 0, 0, 0, 1, 2, 3, 4 }).ToArray(), // stream padding, then not a stream
            _ => Flip(bytes, bytes.Length / 2),
        };
        File.WriteAllBytes(source.Path, bytes);

        var e = await Assert.ThrowsAsync<TalosException>(() => Expand(source, new ExpandOptions { Backend = backend }));

        Assert.Equal("CorruptImage", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidData, e.Kind);
        Assert.Contains(source.Path, e.Message);
        var dest = dir.File("nocloud-amd64.raw");
        Assert.False(File.Exists(dest), "the destination exists");
        Assert.False(File.Exists(dest + ImageExpander.PartSuffix), "the .part is left");
        Assert.False(File.Exists(ArtifactMetadata.MetaPath(dest)));
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        bytes[at] ^= 0x10;
        return bytes;
    }

    [Fact]
    public async Task Multi_block_xz_is_decoded_block_parallel_and_zero_blocks_are_not_decoded_twice()
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        var result = await Expand(Source(dir, "xz-multi"), new ExpandOptions { Threads = 2 }, events: events);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
        Assert.Contains(events.Messages, m => m.Contains("block-parallel decoder", StringComparison.Ordinal));
        Assert.Contains(events.Messages, m => m.Contains("repeats of an all-zero block", StringComparison.Ordinal));

        using var single = new TempDir();
        events = new RecordingEvents();
        await Expand(Source(single, "xz-single"), new ExpandOptions { Threads = 2 }, events: events);
        Assert.Contains(events.Messages, m => m.Contains("multi-threaded decoder", StringComparison.Ordinal)); // one block: streaming
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Managed_multi_block_xz_is_decoded_block_parallel_and_zero_blocks_are_not_decoded_twice(int threads)
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        var result = await Expand(Source(dir, "xz-multi"), new ExpandOptions { Backend = ExpansionBackend.Managed, Threads = threads }, events: events);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(result.Path));
        Assert.Contains(events.Messages, m => m.Contains("SharpCompress", StringComparison.Ordinal) && m.Contains($"block-parallel decoder, {threads} threads", StringComparison.Ordinal));
        Assert.Contains(events.Messages, m => m.Contains("repeats of an all-zero block", StringComparison.Ordinal));

        using var concat = new TempDir();
        events = new RecordingEvents();
        await Expand(Source(concat, "xz-concat"), new ExpandOptions { Backend = ExpansionBackend.Managed, Threads = threads }, events: events);
        Assert.Contains(events.Messages, m => m.Contains("SharpCompress", StringComparison.Ordinal) && m.Contains("streaming decoder", StringComparison.Ordinal)); // two streams
    }

    [Fact]
    public async Task Second_run_is_skipped_and_force_redoes_it()
    {
        using var dir = new TempDir();
        var source = Source(dir, "xz-multi");
        var first = await Expand(source);
        var written = new FileInfo(first.Path).LastWriteTimeUtc;
        // make a rewrite visible in the mtime even on coarse clocks
        File.SetLastWriteTimeUtc(first.Path, written.AddSeconds(-10));
        var meta = ArtifactMetadata.TryRead(first.Path)!;
        meta.WriteFor(first.Path);
        var before = new FileInfo(first.Path).LastWriteTimeUtc;

        var second = await Expand(source);
        Assert.True(second.FromCache);
        Assert.Equal(first.Sha256, second.Sha256);
        Assert.Equal(first.Size, second.Size);
        Assert.Equal("Expanded", second.Kind);
        Assert.Equal(before, new FileInfo(first.Path).LastWriteTimeUtc);

        var forced = await Expand(source, new ExpandOptions { Force = true });
        Assert.False(forced.FromCache);
        Assert.NotEqual(before, new FileInfo(first.Path).LastWriteTimeUtc);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(forced.Path));
    }

    [Fact]
    public async Task Source_hash_comes_from_its_metadata_or_is_computed()
    {
        using var dir = new TempDir();
        var source = Source(dir, "zstd", sha: null);
        var real = ExpansionFixture.Sha256Of(source.Path);

        var first = await Expand(source); // no hash anywhere: computed while reading
        Assert.Equal(real, ArtifactMetadata.TryRead(first.Path)!.SourceSha256);

        new ArtifactMetadata { Sha256 = real, Kind = "Downloaded" }.WriteFor(source.Path);
        var second = await Expand(source); // from the source's .meta.json
        Assert.True(second.FromCache);
        ArtifactMetadata.DeleteFor(source.Path);
        var third = await Expand(source); // hashed to compare
        Assert.True(third.FromCache);
    }

    [Fact]
    public async Task A_different_source_is_expanded_again()
    {
        using var dir = new TempDir();
        var source = Source(dir, "gz");
        await Expand(source);
        File.Copy(Make("xz-crc32"), dir.File("other.raw.xz"));
        var other = new TalosArtifact { Path = dir.File("other.raw.xz"), Sha256 = ExpansionFixture.Sha256Of(dir.File("other.raw.xz")) };
        var again = await Expand(other, destination: dir.File("nocloud-amd64.raw"));
        Assert.False(again.FromCache);
        Assert.Equal(other.Sha256, ArtifactMetadata.TryRead(again.Path)!.SourceSha256);
        Assert.Equal("raw", again.Format);
    }

    [Fact]
    public async Task A_changed_destination_is_not_trusted()
    {
        using var dir = new TempDir();
        var source = Source(dir, "zstd");
        var first = await Expand(source);
        using (var f = new FileStream(first.Path, FileMode.Open))
        {
            f.SetLength(f.Length - 1);
        }
        var second = await Expand(source);
        Assert.False(second.FromCache);
        Assert.Equal(_f.ImageSha256, ExpansionFixture.Sha256Of(second.Path));
    }

    [Fact]
    public async Task Tar_without_disk_raw_fails_clearly()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("readme.txt"), "not a disk");
        var path = dir.File("gcp-amd64.raw.tar.gz");
        ExpansionFixture.Run("tar", new[] { "-czf", path, "-C", dir.Path, "readme.txt" });
        var e = await Assert.ThrowsAsync<TalosException>(() => Expand(new TalosArtifact { Path = path }));
        Assert.Equal("DiskImageMissing", e.ErrorId);
        Assert.Contains("disk.raw", e.Message);
        Assert.Contains("readme.txt", e.Message);
        Assert.False(File.Exists(dir.File("gcp-amd64.raw")));
        Assert.False(File.Exists(dir.File("gcp-amd64.raw.part")));
    }

    [Theory]
    [InlineData("metal-amd64.iso")]
    [InlineData("metal-amd64.raw")]
    [InlineData("oracle-amd64.qcow2")]
    public async Task Uncompressed_formats_are_refused(string name)
    {
        using var dir = new TempDir();
        var path = dir.Write(name, "x");
        var e = await Assert.ThrowsAsync<TalosException>(() => Expand(new TalosArtifact { Path = path }));
        Assert.Equal("NotCompressed", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public async Task Unknown_names_and_missing_files_are_refused()
    {
        using var dir = new TempDir();
        var e = await Assert.ThrowsAsync<TalosException>(() => Expand(new TalosArtifact { Path = dir.Write("image.bin", "x") }));
        Assert.Equal("UnknownFormat", e.ErrorId);
        e = await Assert.ThrowsAsync<TalosException>(() => Expand(new TalosArtifact { Path = dir.File("missing.raw.xz") }));
        Assert.Equal("SourceNotFound", e.ErrorId);
    }

    [Fact]
    public async Task Format_from_the_artifact_wins_over_the_name_and_qcow2_xz_expands()
    {
        using var dir = new TempDir();
        var path = dir.File("download.bin");
        File.Copy(Make("xz-crc32"), path);
        var result = await Expand(new TalosArtifact { Path = path, Format = "qcow2.xz" });
        Assert.Equal(dir.File("download.bin.qcow2"), result.Path);
        Assert.Equal("qcow2", result.Format);
        Assert.Equal(_f.ImageSha256, result.Sha256);
    }

    [Fact]
    public async Task Progress_is_reported_and_completed()
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        await Expand(Source(dir, "xz-multi"), events: events);
        Assert.NotEmpty(events.Progress);
        var last = events.Progress[^1];
        Assert.True(last.Completed);
        Assert.Equal(100, last.PercentComplete);
        Assert.Contains("nocloud-amd64.raw.xz", last.Activity);
        Assert.All(events.Progress, p => Assert.Equal(last.ActivityId, p.ActivityId));
    }

    [Fact]
    public async Task Cancellation_leaves_no_part()
    {
        using var dir = new TempDir();
        var source = Source(dir, "xz-multi");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new ImageExpander(NullEngineEvents.Instance).ExpandAsync(source, null, cts.Token));
        Assert.False(File.Exists(dir.File("nocloud-amd64.raw")));
        Assert.False(File.Exists(dir.File("nocloud-amd64.raw.part")));
    }

    [Theory]
    [InlineData("/x/nocloud-amd64.raw.xz", "raw.xz", "/x/nocloud-amd64.raw")]
    [InlineData("/x/metal-arm64-secureboot.raw.zst", "raw.zst", "/x/metal-arm64-secureboot.raw")]
    [InlineData("/x/gcp-amd64.raw.tar.gz", "raw.tar.gz", "/x/gcp-amd64.raw")]
    [InlineData("/x/azure-amd64.vhd.xz", "vhd.xz", "/x/azure-amd64.vhd")]
    [InlineData("/x/image.xz", "raw.xz", "/x/image")]
    [InlineData("/x/image.bin", "raw.gz", "/x/image.bin.raw")]
    public void Default_destination_is_beside_the_source(string source, string format, string expected)
    {
        Assert.Equal(Path.GetFullPath(expected), ImageExpander.DefaultDestination(source, format));
    }

    [Theory]
    [InlineData("nocloud-amd64.raw.xz", "raw.xz")]
    [InlineData("gcp-amd64.raw.tar.gz", "raw.tar.gz")]
    [InlineData("METAL-amd64.RAW.ZST", "raw.zst")]
    [InlineData("do-amd64.raw.gz", "raw.gz")]
    [InlineData("azure-amd64.vhd.xz", "vhd.xz")]
    [InlineData("metal-amd64.iso", "iso")]
    [InlineData("metal-amd64.raw", "raw")]
    [InlineData("notes.txt", null)]
    public void Format_is_read_from_the_file_name(string name, string? format)
    {
        Assert.Equal(format, ImageExpander.FormatOf("/some/dir/" + name));
    }

    [Fact]
    public async Task A_plain_path_takes_its_identity_from_its_metadata()
    {
        using var dir = new TempDir();
        var downloaded = Source(dir, "xz-crc32");
        new ArtifactMetadata
        {
            Url = downloaded.Url, Sha256 = downloaded.Sha256, SchematicId = downloaded.SchematicId, Version = "v1.11.5",
            Platform = "nocloud", Architecture = "amd64", Format = "raw.xz", Asset = downloaded.Asset,
        }.WriteFor(downloaded.Path);

        var source = ImageExpander.ArtifactFor(downloaded.Path);
        Assert.Equal("raw.xz", source.Format);
        Assert.Equal(downloaded.Sha256, source.Sha256);
        var result = await Expand(source);
        Assert.Equal("v1.11.5", result.Version);
        Assert.Equal(downloaded.Url, result.Url);
        Assert.Equal(downloaded.Sha256, ArtifactMetadata.TryRead(result.Path)!.SourceSha256);

        var bare = ImageExpander.ArtifactFor(dir.Write("other-amd64.raw.zst", "x"));
        Assert.Equal("raw.zst", bare.Format);
        Assert.Equal("", bare.Sha256);
        Assert.Equal("other-amd64.raw.zst", bare.Asset);
    }

    private sealed class RecordingEvents : IEngineEvents
    {
        public List<EngineProgress> Progress { get; } = new();
        public List<string> Messages { get; } = new();

        void IEngineEvents.Progress(EngineProgress progress)
        {
            lock (Progress)
            {
                Progress.Add(progress);
            }
        }

        public void Verbose(string message)
        {
            lock (Messages)
            {
                Messages.Add(message);
            }
        }

        public void Warning(string message)
        {
        }
    }
}
