using Newtonsoft.Json;
using TalosImage.Core.Cache;
using Xunit;

namespace TalosImage.Tests.Cache;

/// <summary>
/// ArtifactMetadata.Parse, the reader a warm run uses for every .meta.json, against Newtonsoft's serializer, which
/// wrote the records and read them before: the same fields from the same text.
/// </summary>
public sealed class ArtifactMetadataParseTests
{
    private const string Sha = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private static ArtifactMetadata Sample(bool expanded) => new()
    {
        Url = "https://factory.example/image/abc/v1.11.5/nocloud-amd64.raw.xz",
        Size = 5_368_709_120,
        Sha256 = Sha,
        SchematicId = new string('a', 64),
        Version = "v1.11.5",
        Asset = expanded ? "nocloud-amd64.raw" : "nocloud-amd64.raw.xz",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = expanded ? "raw" : "raw.xz",
        SecureBoot = true,
        InstallerImage = expanded ? null : "factory.example/installer/abc:v1.11.5",
        Kind = expanded ? "Expanded" : "Downloaded",
        SourceSha256 = expanded ? Sha : null,
        Decompressor = expanded ? "Native" : null,
        HashSource = expanded ? null : "factory-sha256",
        DownloadedAt = new DateTimeOffset(2026, 12, 1, 16, 2, 58, 123, TimeSpan.FromHours(2)).AddTicks(4567),
        MtimeTicks = 639_000_000_000_123_456,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_written_record_reads_back_field_for_field_as_the_serializer_reads_it(bool expanded)
    {
        var text = JsonConvert.SerializeObject(Sample(expanded), Formatting.Indented);

        var ours = ArtifactMetadata.Parse(text);
        var theirs = JsonConvert.DeserializeObject<ArtifactMetadata>(text)!;

        Assert.Equal(JsonConvert.SerializeObject(theirs), JsonConvert.SerializeObject(ours));
        Assert.Equal(Sample(expanded).DownloadedAt, ours.DownloadedAt);
        Assert.Equal(TimeSpan.FromHours(2), ours.DownloadedAt.Offset);
        Assert.Equal(5_368_709_120, ours.Size);
        Assert.Equal(expanded ? "Native" : null, ours.Decompressor);
    }

    [Fact]
    public void Unknown_names_are_skipped_whatever_they_hold_and_missing_ones_keep_their_defaults()
    {
        var ours = ArtifactMetadata.Parse("""
            {"future": {"nested": [1, {"x": null}], "y": "z"}, "sha256": "SHA", "later": [true, 2.5], "size": 7, "installer_image": null}
            """);

        Assert.Equal("SHA", ours.Sha256);
        Assert.Equal(7, ours.Size);
        Assert.Null(ours.InstallerImage);
        Assert.Equal("", ours.Url);
        Assert.Equal("Downloaded", ours.Kind);
        Assert.False(ours.SecureBoot);
        Assert.Equal(default, ours.DownloadedAt);
    }

    [Theory]
    [InlineData("""{"size": "12"}""", "size")]
    [InlineData("""{"size": 1.5}""", "size")]
    [InlineData("""{"sha256": 5}""", "sha256")]
    [InlineData("""{"secureboot": "yes"}""", "secureboot")]
    [InlineData("""{"downloaded_at": "yesterday"}""", "downloaded_at")]
    [InlineData("""{"mtime_ticks": 99999999999999999999}""", "mtime_ticks")]
    public void A_value_of_the_wrong_type_is_refused_naming_its_key(string text, string key)
    {
        var e = Assert.ThrowsAny<JsonException>(() => ArtifactMetadata.Parse(text));
        Assert.Contains("'" + key + "'", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("""{"size": 1""")]
    [InlineData("""{"size": 1} trailing""")]
    public void Text_that_is_not_one_json_object_is_refused(string text)
    {
        Assert.ThrowsAny<JsonException>(() => ArtifactMetadata.Parse(text));
    }

    [Fact]
    public void TryRead_gives_null_for_a_damaged_record_and_the_record_for_a_good_one()
    {
        var dir = Path.Combine(Path.GetTempPath(), "talosimage-meta-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            var artifact = Path.Combine(dir, "nocloud-amd64.iso");
            File.WriteAllText(artifact, "iso");
            File.WriteAllText(ArtifactMetadata.MetaPath(artifact), """{"sha256": 5}""");
            Assert.Null(ArtifactMetadata.TryRead(artifact));

            Sample(expanded: false).WriteFor(artifact);
            var read = ArtifactMetadata.TryRead(artifact);
            Assert.NotNull(read);
            Assert.Equal(Sha, read!.Sha256);
            Assert.True(read.Matches(artifact));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
