using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Http;
using TalosImage.Core.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

public sealed partial class ProxmoxPublisherTests : IAsyncLifetime
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private static readonly ProxmoxOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(10),
        TaskTimeout = TimeSpan.FromSeconds(20),
        Http = HttpOptions.Default with { MaxAttempts = 1, HeadersTimeout = TimeSpan.FromSeconds(20), ReadTimeout = TimeSpan.FromSeconds(20), ConnectTimeout = TimeSpan.FromSeconds(5) },
    };

    private readonly TempDir _dir = new();
    private readonly Events _events = new();
    private FakeProxmox _pve = null!;

    public async Task InitializeAsync() => _pve = await FakeProxmox.StartAsync();

    public async Task DisposeAsync()
    {
        await _pve.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Upload_StreamsWithContentLength_InPartOrder_AndStoresTheVolume()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 3 * 1024 * 1024 + 17);
        var results = await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None);

        var r = Assert.Single(results);
        Assert.Null(r.Error);
        Assert.Equal("Published", r.Status);
        Assert.Equal("ProxmoxApi", r.Transport);
        Assert.Equal("pve1", r.Host);
        Assert.Equal("local", r.Destination);
        Assert.Equal("local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso", r.VolumeId);
        Assert.Equal(artifact.Size, r.BytesSent);
        Assert.True(r.Verified);
        Assert.Equal(File.ReadAllBytes(artifact.Path), _pve.Storage("pve1", "local")[r.VolumeId!]);

        var shape = Assert.Single(_pve.UploadShapes);
        Assert.NotNull(shape.ContentLength);
        Assert.Equal(new[] { "content", "checksum-algorithm", "checksum", "filename" }, shape.Parts);
        var last = _events.Progress.Where(p => p.BytesTotal == artifact.Size && !p.Completed).Last();
        Assert.Equal(artifact.Size, last.BytesDone);
        Assert.Contains(_events.Progress, p => p.Completed);
    }

    [Fact]
    public async Task SecondRun_ReusesTheVolume_AndSendsNothing()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 100_000);
        await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None);
        var again = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Skipped", again.Status);
        Assert.Equal(0, again.BytesSent);
        Assert.False(again.Verified); // size only: the upload route cannot ask Proxmox for a checksum
        Assert.Equal(1, _pve.Uploads);
        Assert.Equal("local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso", again.VolumeId);
    }

    [Fact]
    public async Task ExistingVolumeOfAnotherSize_IsRefused_NeverOverwritten()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 50_000);
        var volid = Publisher().VolumeIdFor(artifact, Target("pve1"));
        var old = new byte[1234];
        _pve.Storage("pve1", "local")[volid] = old;

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("refusing to overwrite", r.Error);
        Assert.Contains("1234", r.Error);
        Assert.Equal(0, _pve.Uploads);
        Assert.Same(old, _pve.Storage("pve1", "local")[volid]);
    }

    [Fact]
    public async Task ExpandedRawImage_GoesToImportContent()
    {
        var artifact = Artifact("nocloud-amd64.raw.xz", "raw", 64 * 1024, kind: "Expanded");
        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Published", r.Status);
        Assert.Equal("local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw", r.VolumeId);
        Assert.True(_pve.Storage("pve1", "local").ContainsKey(r.VolumeId!));
    }

    [Theory]
    [InlineData("raw.xz", "xz")]
    [InlineData("raw.zst", "uncompressed")]
    [InlineData("raw.gz", "uncompressed")]
    public async Task CompressedDiskImage_FailsBeforeSending_AskingForTheExpandedImage(string format, string hint)
    {
        var artifact = Artifact("nocloud-amd64." + format, format, 1000);
        var e = await Assert.ThrowsAsync<TalosException>(() => Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("ProxmoxFormatUnsupported", e.ErrorId);
        Assert.Contains(hint, e.Message);
        Assert.Contains("Expand", e.Message);
        Assert.Equal(0, _pve.Requests);
    }

    [Fact]
    public async Task StorageWithoutImportContent_FailsWithTheFix()
    {
        _pve.Storages["local"] = (false, "iso,vztmpl,backup");
        var artifact = Artifact("nocloud-amd64.raw", "raw", 1000);
        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("pvesm set local --content iso,vztmpl,backup,import", r.Error);
        Assert.Equal(0, _pve.Uploads);
    }

    [Fact]
    public async Task DownloadUrl_NodeFetchesFromTheFactory_AndARerunIsConfirmedByChecksumWithoutDownloading()
    {
        await using var factory = await FakeFactory.StartAsync();
        var artifact = Artifact("metal-amd64.iso", "iso", 70_000);
        factory.Files["/image/" + Schematic + "/v1.11.5/metal-amd64.iso"] = File.ReadAllBytes(artifact.Path);
        artifact = With(artifact, new Uri(factory.BaseUri, "/image/" + Schematic + "/v1.11.5/metal-amd64.iso").ToString());
        var target = Target("pve1") with { Method = ProxmoxMethod.DownloadUrl };

        var first = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));
        var second = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));

        Assert.Equal(("Published", 0L, true), (first.Status, first.BytesSent, first.Verified));
        Assert.Equal(File.ReadAllBytes(artifact.Path), _pve.Storage("pve1", "local")[first.VolumeId!]);
        Assert.Equal(("Skipped", 0L, true), (second.Status, second.BytesSent, second.Verified));
        Assert.Equal(1, factory.Requests);
        Assert.Equal(2, _pve.DownloadUrls);
        Assert.Equal(0, _pve.Uploads);
    }

    [Fact]
    public async Task DownloadUrl_OfAnUncompressedRaw_FetchesItStraightIntoImportContent_WithoutAnUpload()
    {
        // The factory serves <platform>-<arch>.raw itself (issue 17): the node fetches it, nothing is expanded or sent from here.
        await using var factory = await FakeFactory.StartAsync();
        var artifact = Artifact("nocloud-amd64.raw", "raw", 90_000);
        factory.Files["/image/" + Schematic + "/v1.11.5/nocloud-amd64.raw"] = File.ReadAllBytes(artifact.Path);
        artifact = With(artifact, new Uri(factory.BaseUri, "/image/" + Schematic + "/v1.11.5/nocloud-amd64.raw").ToString());

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Method = ProxmoxMethod.DownloadUrl }, CancellationToken.None));

        Assert.Equal(("Published", 0L, true), (r.Status, r.BytesSent, r.Verified));
        Assert.Equal("local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw", r.VolumeId);
        Assert.Equal(File.ReadAllBytes(artifact.Path), _pve.Storage("pve1", "local")[r.VolumeId!]);
        Assert.Equal((1, 1, 0), (factory.Requests, _pve.DownloadUrls, _pve.Uploads));
    }

    [Fact]
    public async Task DownloadUrl_WithoutKnownChecksumOrSize_PublishesUnverified_AndARerunReusesWithoutAsking()
    {
        await using var factory = await FakeFactory.StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(5000);
        factory.Files["/nocloud-amd64.iso"] = bytes;
        var artifact = new TalosArtifact
        {
            Url = new Uri(factory.BaseUri, "/nocloud-amd64.iso").ToString(), SchematicId = Schematic, Version = "v1.11.5", Format = "iso", Asset = "nocloud-amd64.iso",
        };
        var target = Target("pve1") with { Method = ProxmoxMethod.DownloadUrl };

        var first = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));
        var second = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));

        Assert.Equal(("Published", false), (first.Status, first.Verified));
        Assert.Equal(bytes, _pve.Storage("pve1", "local")[first.VolumeId!]);
        Assert.Equal(("Skipped", false), (second.Status, second.Verified));
        Assert.Null(second.Error);
        Assert.Equal(1, _pve.DownloadUrls); // a second download-url without checksum would fail: refusing to override
        Assert.Equal(1, factory.Requests);
    }

    [Fact]
    public async Task DownloadUrl_ExistingVolumeWithOtherContent_IsAConflict()
    {
        await using var factory = await FakeFactory.StartAsync();
        var artifact = With(Artifact("metal-amd64.iso", "iso", 4096), new Uri(factory.BaseUri, "/x.iso").ToString());
        var target = Target("pve1") with { Method = ProxmoxMethod.DownloadUrl };
        _pve.Storage("pve1", "local")[Publisher().VolumeIdFor(artifact, target)] = new byte[4096];

        var r = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("different SHA-256", r.Error);
        Assert.Contains("refusing to overwrite", r.Error);
        Assert.Equal(0, factory.Requests);
    }

    [Fact]
    public void DownloadUrl_OfAnExpandedImage_IsRefused()
    {
        var artifact = Artifact("nocloud-amd64.raw.xz", "raw", 100, kind: "Expanded");
        var e = Assert.Throws<TalosException>(() => Publisher().VolumeIdFor(artifact, Target("pve1") with { Method = ProxmoxMethod.DownloadUrl }));
        Assert.Equal("ProxmoxFormatUnsupported", e.ErrorId);
        Assert.Contains("Upload", e.Message);
    }

    [Fact]
    public async Task DownloadUrl_CompressedIso_AsksTheNodeToExpandIt()
    {
        await using var factory = await FakeFactory.StartAsync();
        var iso = RandomNumberGenerator.GetBytes(30_000);
        using var packed = new MemoryStream();
        using (var gz = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(iso);
        }
        var path = _dir.File("metal-amd64.iso.gz");
        File.WriteAllBytes(path, packed.ToArray());
        factory.Files["/metal-amd64.iso.gz"] = packed.ToArray();
        var artifact = new TalosArtifact
        {
            Path = path, Url = new Uri(factory.BaseUri, "/metal-amd64.iso.gz").ToString(), Sha256 = Convert.ToHexStringLower(SHA256.HashData(packed.ToArray())),
            Size = packed.Length, SchematicId = Schematic, Version = "v1.11.5", Format = "iso.gz", Asset = "metal-amd64.iso.gz",
        };

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Method = ProxmoxMethod.DownloadUrl }, CancellationToken.None));

        Assert.Equal("Published", r.Status);
        Assert.Equal("local:iso/talos-376567988ad3-v1.11.5-metal-amd64.iso", r.VolumeId);
        Assert.Equal(iso, _pve.Storage("pve1", "local")[r.VolumeId!]);
    }

    [Fact]
    public async Task SharedStorage_IsPublishedOnce_ForAllNodes()
    {
        _pve.Storages["nfs"] = (true, "iso,import");
        var artifact = Artifact("nocloud-amd64.iso", "iso", 10_000);
        var results = await Publisher().PublishAsync(artifact, Target("pve1", "pve2") with { Storage = "nfs" }, CancellationToken.None);

        Assert.Equal(new[] { "pve1", "pve2" }, results.Select(r => r.Host));
        Assert.Equal(new[] { "Published", "Skipped" }, results.Select(r => r.Status));
        Assert.All(results, r => Assert.Equal("nfs:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso", r.VolumeId));
        Assert.Equal(1, _pve.Uploads);
        Assert.DoesNotContain(_pve.Log, l => l.Contains("/nodes/pve2/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SharedStorage_WhenTheFirstNodeFails_FailsForAllNodes_WithoutTryingAgain()
    {
        _pve.Storages["nfs"] = (true, "iso,import");
        _pve.ForceTaskExit = "unable to move file: Permission denied";
        var results = await Publisher().PublishAsync(Artifact("nocloud-amd64.iso", "iso", 1000), Target("pve1", "pve2") with { Storage = "nfs" }, CancellationToken.None);

        Assert.Equal(new[] { "Failed", "Failed" }, results.Select(r => r.Status));
        Assert.Contains("Permission denied", results[0].Error);
        Assert.Contains("through node pve1 failed", results[1].Error);
        Assert.Equal(1, _pve.Uploads);
    }

    [Fact]
    public async Task Cancellation_Throws_InsteadOfAFailedResult()
    {
        _pve.RunningPolls = int.MaxValue;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Publisher().PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), cts.Token));
    }

    [Fact]
    public async Task LocalStorage_IsPublishedToEachNode()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 10_000);
        var results = await Publisher().PublishAsync(artifact, Target("pve1", "pve2"), CancellationToken.None);

        Assert.Equal(new[] { "Published", "Published" }, results.Select(r => r.Status));
        Assert.Equal(2, _pve.Uploads);
        Assert.True(_pve.Storage("pve2", "local").ContainsKey(results[1].VolumeId!));
    }

    [Fact]
    public async Task UntrustedCertificateWithoutPin_FailsShowingTheFingerprint_AndSendsNoRequest()
    {
        var r = Assert.Single(await Publisher().PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1") with { FingerprintSha256 = null }, CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains(_pve.Fingerprint, r.Error);
        Assert.Contains("pin", r.Error);
        Assert.Equal(0, _pve.Requests);
    }

    [Fact]
    public async Task PinnedFingerprint_IsAcceptedInAnySpelling_AndAnotherIsRefused()
    {
        var spelled = _pve.Fingerprint.Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
        var ok = Assert.Single(await Publisher().PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1") with { FingerprintSha256 = spelled }, CancellationToken.None));
        Assert.Equal("Published", ok.Status);

        using var other = FakeProxmox.CreateCertificate("pve1");
        var otherPin = Convert.ToHexString(SHA256.HashData(other.RawData));
        var requests = _pve.Requests;
        var bad = Assert.Single(await Publisher().PublishAsync(Artifact("b.iso", "iso", 100), Target("pve1") with { FingerprintSha256 = otherPin }, CancellationToken.None));
        Assert.Equal("Failed", bad.Status);
        Assert.Contains("not the pinned", bad.Error);
        Assert.Contains(_pve.Fingerprint, bad.Error);
        Assert.Equal(requests, _pve.Requests);
    }

    [Fact]
    public void MalformedFingerprint_IsRejectedUpFront()
    {
        var e = Assert.Throws<TalosException>(() => Publisher().VolumeIdFor(Artifact("a.iso", "iso", 10), Target("pve1") with { FingerprintSha256 = "AA:BB" }));
        Assert.Equal("ProxmoxFingerprintInvalid", e.ErrorId);
    }

    [Fact]
    public async Task WrongToken_Is401_NamingEndpointNodeAndStorage_WithoutTheSecret()
    {
        const string wrongSecret = "00000000-dead-beef-0000-000000000000";
        var publisher = new ProxmoxPublisher(ProxmoxApiToken.Parse("root@pam!talos=" + wrongSecret), _events, Fast);
        var r = Assert.Single(await publisher.PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("401", r.Error);
        Assert.Contains(_pve.Endpoint.Authority, r.Error);
        Assert.Contains("pve1", r.Error);
        Assert.Contains("local", r.Error);
        AssertNoSecret(wrongSecret, r);
    }

    [Fact]
    public async Task TokenWithoutAllocate_Is403_NamingThePermission_WithoutTheSecret()
    {
        var publisher = new ProxmoxPublisher(ProxmoxApiToken.Parse(FakeProxmox.ReadOnlyToken), _events, Fast);
        var r = Assert.Single(await publisher.PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("403", r.Error);
        Assert.Contains("Datastore.AllocateTemplate on /storage/local", r.Error);
        Assert.Contains("audit@pve!ro=***", r.Error);
        AssertNoSecret(FakeProxmox.ReadOnlySecret, r);
    }

    [Fact]
    public async Task FailedTask_ReportsTheExitStatus()
    {
        _pve.ForceTaskExit = "import failed: write error: No space left on device";
        var r = Assert.Single(await Publisher().PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("No space left on device", r.Error);
        Assert.Contains("UPID:pve1:", r.Error);
    }

    [Fact]
    public async Task TaskWithWarnings_Succeeds_AndWarns()
    {
        _pve.ForceTaskExit = "WARNINGS: 1";
        var r = Assert.Single(await Publisher().PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), CancellationToken.None));

        Assert.Equal("Published", r.Status);
        Assert.Contains(_events.Warnings, w => w.Contains("WARNINGS: 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TaskStillRunningAtTheTimeout_FailsWithTheTaskId()
    {
        _pve.RunningPolls = int.MaxValue;
        var publisher = new ProxmoxPublisher(ProxmoxApiToken.Parse(FakeProxmox.Token), _events, Fast with { TaskTimeout = TimeSpan.FromMilliseconds(200) });
        var r = Assert.Single(await publisher.PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Contains("still running", r.Error);
        Assert.Contains("UPID:pve1:", r.Error);
    }

    [Fact]
    public async Task SecretAppearsNowhere_InResultsEventsOrMessages()
    {
        var token = ProxmoxApiToken.Parse(FakeProxmox.Token);
        var publisher = new ProxmoxPublisher(token, _events, Fast);
        _pve.ForceTaskExit = "failed " + FakeProxmox.Secret; // a server echoing the secret is scrubbed too
        var results = await publisher.PublishAsync(Artifact("a.iso", "iso", 100), Target("pve1", "pve2"), CancellationToken.None);

        Assert.All(results, r => Assert.Equal("Failed", r.Status));
        Assert.All(results, r => AssertNoSecret(FakeProxmox.Secret, r));
        Assert.DoesNotContain(FakeProxmox.Secret, token.ToString());
        Assert.DoesNotContain(FakeProxmox.Secret, Newtonsoft.Json.JsonConvert.SerializeObject(token));
        Assert.DoesNotContain(_events.All, m => m.Contains(FakeProxmox.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FakeServer_RefusesChunkedUploads_AndWrongPartOrder()
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler) { BaseAddress = _pve.Endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "PVEAPIToken=" + FakeProxmox.Token);

        var chunked = new MultipartFormDataContent { { new StringContent("iso"), "content" }, { new StreamContent(new NonSeekable(new byte[10])), "filename", "a.iso" } };
        var r1 = await http.PostAsync("/api2/json/nodes/pve1/storage/local/upload", chunked);
        Assert.Equal(501, (int)r1.StatusCode);

        var reversed = new MultipartFormDataContent { { new ByteArrayContent(new byte[10]), "filename", "a.iso" }, { new StringContent("iso"), "content" } };
        var r2 = await http.PostAsync("/api2/json/nodes/pve1/storage/local/upload", reversed);
        Assert.Equal(400, (int)r2.StatusCode);
        Assert.Equal(0, _pve.Uploads);
    }

    private ProxmoxPublisher Publisher() => new(ProxmoxApiToken.Parse(FakeProxmox.Token), _events, Fast);

    private ProxmoxTarget Target(params string[] nodes) => new() { Endpoint = _pve.Endpoint, Nodes = nodes, FingerprintSha256 = _pve.Fingerprint };

    private TalosArtifact Artifact(string asset, string format, int size, string kind = "Downloaded")
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        var path = _dir.File(Guid.NewGuid().ToString("N") + "-" + asset);
        File.WriteAllBytes(path, bytes);
        return new TalosArtifact
        {
            Path = path, Url = "https://factory.talos.dev/image/" + Schematic + "/v1.11.5/" + asset, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            Size = size, SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud", Architecture = "amd64", Format = format, Asset = asset, Kind = kind,
        };
    }

    private static TalosArtifact With(TalosArtifact a, string url) => new()
    {
        Path = a.Path, Url = url, Sha256 = a.Sha256, Size = a.Size, SchematicId = a.SchematicId, Version = a.Version,
        Platform = a.Platform, Architecture = a.Architecture, Format = a.Format, Asset = a.Asset, Kind = a.Kind,
    };

    private static void AssertNoSecret(string secret, TalosPublishResult r)
    {
        foreach (var p in typeof(TalosPublishResult).GetProperties())
        {
            Assert.DoesNotContain(secret, p.GetValue(r)?.ToString() ?? "");
        }
    }

    private sealed class Events : IEngineEvents
    {
        public ConcurrentQueue<EngineProgress> Progress { get; } = new();
        public ConcurrentQueue<string> Warnings { get; } = new();
        public ConcurrentQueue<string> All { get; } = new();

        void IEngineEvents.Progress(EngineProgress progress)
        {
            Progress.Enqueue(progress);
            All.Enqueue(progress.Activity + " " + progress.Status);
        }

        public void Verbose(string message) => All.Enqueue(message);

        public void Warning(string message)
        {
            Warnings.Enqueue(message);
            All.Enqueue(message);
        }
    }

    /// <summary>A stream of unknown length, which makes HttpClient send chunked.</summary>
    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
