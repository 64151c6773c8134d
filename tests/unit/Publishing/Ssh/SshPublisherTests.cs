using System.Diagnostics;
using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Publishing.Ssh;

[CollectionDefinition("sshd")]
public sealed class SshdCollection : ICollectionFixture<SshServerFixture>
{
}

/// <summary>
/// The SSH transport against a real sshd on 127.0.0.1 (the "remote" folders are on this machine): here the rsync
/// transport; <see cref="SftpPublisherTests"/> runs every one of these tests again on the sftp transport.
/// </summary>
[Collection("sshd")]
public partial class SshPublisherTests : IDisposable
{
    protected const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    protected readonly SshServerFixture _sshd;
    protected readonly string _local;
    protected readonly string _remote;
    protected readonly string _marker;

    public SshPublisherTests(SshServerFixture sshd)
    {
        _sshd = sshd;
        _local = Path.Combine(Path.GetTempPath(), "talosimage-ssh-local-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_local);
        _remote = sshd.Unavailable is null ? sshd.NewFolder("remote") : _local;
        _marker = Path.Combine(_local, "pwned");
    }

    public void Dispose()
    {
        Directory.Delete(_local, recursive: true);
        if (_remote != _local && Directory.Exists(_remote))
        {
            Directory.Delete(_remote, recursive: true);
        }
    }

    protected void SkipWithoutSshd() => Skip.If(_sshd.Unavailable is not null, "no real sshd here: " + _sshd.Unavailable);

    /// <summary>The transport the targets ask for.</summary>
    protected virtual SshTransport Transport => SshTransport.Rsync;

    /// <summary>The publisher's options for this transport.</summary>
    protected virtual SshPublishOptions Options(SshPublishOptions options) => options;

    protected SshTarget Target(string? ssh = null, string? host = null) => new()
    {
        Transport = Transport,
        Host = host ?? _sshd.Host,
        IsoDir = Path.Combine(_remote, "template", "iso"),
        ImportDir = Path.Combine(_remote, "import"),
        SshOptions = ssh ?? _sshd.SshOptions,
        RsyncOptions = "-a --inplace",
    };

    protected SshPublisher Publisher(TimeSpan? connectTimeout = null) =>
        new(NullEngineEvents.Instance, Options(new SshPublishOptions { ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10) }));

    protected TalosArtifact Artifact(string asset, string format, byte[] content, string? expandedSha = null, bool withSha = true)
    {
        var path = Path.Combine(_local, asset);
        File.WriteAllBytes(path, content);
        return new TalosArtifact
        {
            Path = path,
            Sha256 = withSha ? Sha(content) : "",
            Size = content.Length,
            SchematicId = Schematic,
            Version = "v1.11.5",
            Platform = "nocloud",
            Architecture = "amd64",
            Format = format,
            Asset = asset,
            ExpandedSha256 = expandedSha,
        };
    }

    protected static string Sha(byte[] content) => Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();

    protected static string ShaOfFile(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    /// <summary>A small disk image: mostly zeros, some random blocks.</summary>
    protected static byte[] RawImage(int size = 1 << 20, int seed = 1)
    {
        var data = new byte[size];
        var random = new Random(seed);
        for (var offset = 0; offset < size; offset += 64 * 1024)
        {
            random.NextBytes(data.AsSpan(offset, Math.Min(4096, size - offset)));
        }
        return data;
    }

    protected static byte[] RandomBytes(int size, int seed = 2)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>The names in a remote folder, sorted.</summary>
    protected static string[] Files(string dir) => Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    protected static string[] PartFiles(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "*" + SshPublishPlan.PartSuffix, SearchOption.AllDirectories) : Array.Empty<string>();

    [SkippableFact]
    public async Task First_push_arrives_under_its_final_name_verified()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(256 * 1024));
        var target = Target();

        var result = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.True(result.Verified);
        Assert.True(result.BytesSent > 0);
        Assert.Equal("Ssh", result.Transport);
        Assert.Equal(_sshd.Host, result.Host);
        Assert.Equal(SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs), result.Destination);
        Assert.Equal(Path.Combine(target.IsoDir, "talos-376567988ad3-v1.11.5-nocloud-amd64.iso"), result.Destination);
        Assert.Equal(artifact.Sha256, ShaOfFile(result.Destination));
        Assert.Equal(artifact.Sha256, result.Sha256);
        Assert.Equal(artifact.Path, result.Path);
        Assert.Empty(PartFiles(_remote));
    }

    [SkippableFact]
    public async Task Second_push_of_the_same_image_is_skipped_and_sends_nothing()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.raw", "raw", RawImage());
        var publisher = Publisher();

        var first = await publisher.PublishAsync(artifact, Target(), SshPublishMode.AsIs, CancellationToken.None);
        var second = await publisher.PublishAsync(artifact, Target(), SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(first.Status == "Published", first.Error);
        Assert.Equal("Skipped", second.Status);
        Assert.Equal(0, second.BytesSent);
        Assert.True(second.Verified);
    }

    [SkippableFact]
    public async Task A_push_records_a_sidecar_hash_that_the_next_skip_check_trusts_while_the_file_is_not_newer()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.raw", "raw", RawImage());
        var target = Target();
        var publisher = Publisher();
        var first = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        var sidecar = first.Destination + ".sha256";

        // sha256sum-compatible: "<hex>  <name>".
        Assert.Equal($"{artifact.Sha256}  {Path.GetFileName(first.Destination)}\n", File.ReadAllText(sidecar));

        // While the file is not newer than the sidecar, the check reads the sidecar and does not hash the file:
        // a sidecar that names another hash makes the push happen again, which shows it was read.
        File.WriteAllText(sidecar, new string('0', 64) + "  x\n");
        var trusted = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        Assert.Equal("Published", trusted.Status);
        Assert.Equal($"{artifact.Sha256}  {Path.GetFileName(first.Destination)}\n", File.ReadAllText(sidecar));

        // A file touched after its sidecar is hashed again (and its sidecar rewritten): identical content is skipped.
        File.WriteAllText(sidecar, new string('0', 64) + "  x\n");
        File.SetLastWriteTimeUtc(sidecar, DateTime.UtcNow.AddMinutes(-5));
        File.SetLastWriteTimeUtc(first.Destination, DateTime.UtcNow);
        var rehashed = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        Assert.Equal("Skipped", rehashed.Status);
        Assert.StartsWith(artifact.Sha256 + "  ", File.ReadAllText(sidecar));
    }

    [SkippableFact]
    public async Task A_changed_remote_file_is_replaced()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(64 * 1024));
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        Directory.CreateDirectory(target.IsoDir);
        File.WriteAllBytes(destination, RandomBytes(64 * 1024, seed: 9));

        // Issue 19: a changed file is replaced only when asked (-Force / push.replace); without it, see
        // SshLifecycleTests.A_changed_remote_file_is_refused_without_force.
        var result = await Publisher().PublishAsync(artifact, target with { Replace = true }, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
    }

    [SkippableFact]
    public async Task A_partial_temp_file_from_an_interrupted_push_never_has_the_final_name_and_a_rerun_completes()
    {
        SkipWithoutSshd();
        var content = RawImage(2 << 20);
        var artifact = Artifact("metal-amd64.raw", "raw", content);
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        var temp = Path.Combine(target.ImportDir, "." + Path.GetFileName(destination) + SshPublishPlan.PartSuffix);
        Directory.CreateDirectory(target.ImportDir);
        // What an interrupted transfer leaves: the first part of the image (plus a torn tail) under the temporary name.
        File.WriteAllBytes(temp, content.AsSpan(0, content.Length / 2).ToArray().Concat(RandomBytes(1000)).ToArray());

        Assert.False(File.Exists(destination));
        // Taken over once no push has touched it for StaleTemporaryAge (15 minutes; here at once).
        var publisher = new SshPublisher(NullEngineEvents.Instance, Options(new SshPublishOptions { ConnectTimeout = TimeSpan.FromSeconds(10), StaleTemporaryAge = TimeSpan.Zero }));
        var result = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.True(result.Verified);
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
        Assert.False(File.Exists(temp));
        Assert.Empty(DotFiles(target.ImportDir));
        // --inplace on the temporary name: the first half was already there, so far less than the image was sent.
        Assert.True(result.BytesSent < content.Length, $"sent {result.BytesSent} of {content.Length}");
    }

    [SkippableFact]
    public async Task Iso_goes_to_the_iso_folder_and_disk_images_to_the_import_folder()
    {
        SkipWithoutSshd();
        var iso = Artifact("nocloud-amd64.iso", "iso", RandomBytes(32 * 1024));
        var raw = Artifact("nocloud-amd64.raw", "raw", RawImage(512 * 1024));
        var target = Target();

        var results = await Publisher().PublishManyAsync(iso, new[] { target }, SshPublishMode.AsIs, CancellationToken.None);
        var rawResult = await Publisher().PublishAsync(raw, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal(new[] { "talos-376567988ad3-v1.11.5-nocloud-amd64.iso", "talos-376567988ad3-v1.11.5-nocloud-amd64.iso.sha256" }, Files(target.IsoDir));
        Assert.Equal(new[] { "talos-376567988ad3-v1.11.5-nocloud-amd64.raw", "talos-376567988ad3-v1.11.5-nocloud-amd64.raw.sha256" }, Files(target.ImportDir));
        Assert.Equal("Published", results.Single().Status);
        Assert.Equal("Published", rawResult.Status);
        Assert.Equal(raw.Sha256, ShaOfFile(rawResult.Destination));
    }

    [SkippableFact]
    public async Task An_artifact_without_a_recorded_hash_is_hashed_and_verified()
    {
        SkipWithoutSshd();
        var content = RandomBytes(40 * 1024);
        var artifact = Artifact("nocloud-amd64.iso", "iso", content, withSha: false);

        var result = await Publisher().PublishAsync(artifact, Target(), SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.Equal(Sha(content), result.Sha256);
        Assert.True(result.Verified);
    }

    [SkippableTheory]
    [InlineData("xz", "raw.xz")]
    [InlineData("zstd", "raw.zst")]
    public async Task Remote_expansion_pushes_the_compressed_image_and_leaves_the_verified_raw(string tool, string format)
    {
        SkipWithoutSshd();
        Skip.If(SshServerFixture.FindOnPath(tool) is null, $"{tool} is not installed");
        var raw = RawImage(1 << 20, seed: 5);
        var rawPath = Path.Combine(_local, "plain.raw");
        File.WriteAllBytes(rawPath, raw);
        var compressed = Compress(tool, rawPath);
        var artifact = Artifact("nocloud-amd64." + format, format, compressed, expandedSha: Sha(raw));
        var target = Target();

        var result = await Publisher().PublishAsync(artifact, target, SshPublishMode.RemoteExpand, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.True(result.RemoteExpanded);
        Assert.True(result.Verified);
        Assert.Equal(Path.Combine(target.ImportDir, "talos-376567988ad3-v1.11.5-nocloud-amd64.raw"), result.Destination);
        Assert.Equal(Sha(raw), ShaOfFile(result.Destination));
        Assert.True(result.BytesSent < raw.Length / 4, $"sent {result.BytesSent} for a {raw.Length}-byte image");
        Assert.Equal(new[] { Path.GetFileName(result.Destination), Path.GetFileName(result.Destination) + ".sha256" }, Files(target.ImportDir));

        var again = await Publisher().PublishAsync(artifact, target, SshPublishMode.RemoteExpand, CancellationToken.None);
        Assert.Equal("Skipped", again.Status);
        Assert.Equal(0, again.BytesSent);
    }

    [SkippableFact]
    public async Task Remote_expansion_without_a_known_raw_hash_publishes_unverified()
    {
        SkipWithoutSshd();
        Skip.If(SshServerFixture.FindOnPath("xz") is null, "xz is not installed");
        var raw = RawImage(256 * 1024, seed: 6);
        var rawPath = Path.Combine(_local, "plain.raw");
        File.WriteAllBytes(rawPath, raw);
        var artifact = Artifact("nocloud-amd64.raw.xz", "raw.xz", Compress("xz", rawPath));

        var result = await Publisher().PublishAsync(artifact, Target(), SshPublishMode.RemoteExpand, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.False(result.Verified);
        Assert.Equal(Sha(raw), ShaOfFile(result.Destination));
    }

    [SkippableTheory]
    [InlineData("127.0.0.1;touch {marker}")]
    [InlineData("-oProxyCommand=touch {marker}")]
    [InlineData("root@127.0.0.1 touch {marker}")]
    [InlineData("$(touch {marker})")]
    [InlineData("127.0.0.1\ntouch {marker}")]
    public async Task Unsafe_hosts_are_refused_before_anything_runs(string host)
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var target = Target(host: host.Replace("{marker}", _marker));

        var e = await Assert.ThrowsAsync<TalosException>(() => Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal("UnsafeHost", e.ErrorId);
        Assert.False(File.Exists(_marker));
    }

    [SkippableTheory]
    [InlineData("/tmp/x\ntouch {marker}")]
    [InlineData("/tmp/x\rtouch {marker}")]
    [InlineData("/tmp/x\u0000y")]
    [InlineData("/tmp/x\ty")]
    [InlineData("/tmp/x\u0085y")]
    [InlineData("relative/dir")]
    [InlineData("/var/lib/../../etc")]
    public async Task Unsafe_remote_folders_are_refused_before_anything_runs(string dir)
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var target = Target() with { IsoDir = dir.Replace("{marker}", _marker) };

        var e = await Assert.ThrowsAsync<TalosException>(() => Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal("UnsafeRemotePath", e.ErrorId);
        Assert.False(File.Exists(_marker));
    }

    [SkippableTheory]
    [InlineData("ISO Store/template/iso")]
    [InlineData("Ünïcödé ß/日本語")]
    [InlineData("x;touch {marker}")]
    [InlineData("$(touch {marker})")]
    [InlineData("`touch {marker}`")]
    [InlineData("it's \"quoted\" $HOME * ? [a] \\ & | < > #")]
    [InlineData("-rf --help")]
    public async Task Folders_with_spaces_letters_and_shell_characters_are_passed_literally(string sub)
    {
        // Issue 16: a Proxmox directory storage may be "/mnt/pve/ISO Store"; nothing in a folder's name reaches a shell.
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(32 * 1024));
        var dir = Path.Combine(_remote, sub.Replace("{marker}", _marker));
        var target = Target() with { IsoDir = dir };

        var first = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        var again = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(first.Status == "Published", first.Error);
        Assert.Equal(Path.Combine(dir, "talos-376567988ad3-v1.11.5-nocloud-amd64.iso"), first.Destination);
        Assert.Equal(artifact.Sha256, ShaOfFile(first.Destination));
        Assert.Equal("Skipped", again.Status);
        Assert.False(File.Exists(_marker));
        Assert.Empty(PartFiles(_remote));
    }

    [SkippableTheory]
    [InlineData("ssh", "-o ProxyCommand=touch {marker}")]
    [InlineData("ssh", "-o 'ProxyCommand touch {marker}'")]
    [InlineData("ssh", "-oProxyCommand=touch")]
    [InlineData("ssh", "-o LocalCommand=touch -o PermitLocalCommand=yes")]
    [InlineData("ssh", "-o RemoteCommand=touch")]
    [InlineData("ssh", "-o BatchMode=yes touch")]
    [InlineData("ssh", "-F /tmp/evil_config")]
    [InlineData("ssh", "-J '-oProxyCommand=touch'")]
    [InlineData("rsync", "-e 'sh -c \"touch {marker}\"'")]
    [InlineData("rsync", "-ave ssh")]
    [InlineData("rsync", "--rsh=sh")]
    [InlineData("rsync", "--rsync-path='touch {marker}'")]
    [InlineData("rsync", "--rsync-path=touch")]
    [InlineData("rsync", "--remove-source-files")]
    [InlineData("rsync", "--delete-after")]
    [InlineData("rsync", "--del")]
    [InlineData("rsync", "-av /etc/passwd")]
    [InlineData("rsync", "-M--foo")]
    [InlineData("rsync", "--old-args")]
    public async Task Options_that_smuggle_a_command_or_change_the_transport_are_refused(string which, string options)
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        options = options.Replace("{marker}", _marker);
        var target = which == "ssh" ? Target(ssh: options) : Target() with { RsyncOptions = options };

        var e = await Assert.ThrowsAsync<TalosException>(() => Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal("UnsafeOption", e.ErrorId);
        Assert.False(File.Exists(_marker));
        Assert.False(Directory.Exists(target.IsoDir));
    }

    [SkippableFact]
    public async Task An_unreachable_host_fails_with_the_ssh_error()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var closed = SshServerFixture.FreePort();
        var target = Target(ssh: _sshd.SshOptions.Replace($"-p {_sshd.Port}", $"-p {closed}"));

        var result = await Publisher(TimeSpan.FromSeconds(5)).PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("SshConnectionFailed", result.ErrorId);
        Assert.Contains("refused", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.False(result.Verified);
        Assert.Equal(0, result.BytesSent);
    }

    [SkippableFact]
    public async Task A_key_the_host_does_not_accept_fails_without_prompting()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var target = Target(ssh: _sshd.SshOptions.Replace(_sshd.KeyPath, _sshd.WrongKeyPath));

        var result = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("SshConnectionFailed", result.ErrorId);
        Assert.Contains("Permission denied", result.Error);
        Assert.False(Directory.Exists(target.IsoDir));
    }

    [SkippableFact]
    public async Task A_folder_that_cannot_be_created_fails_with_mkdirs_message()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var file = Path.Combine(_remote, "a-file");
        File.WriteAllText(file, "not a folder");
        var target = Target() with { IsoDir = Path.Combine(file, "iso") };

        var result = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("RemoteMkdirFailed", result.ErrorId);
        Assert.Contains("Not a directory", result.Error);
    }

    [SkippableFact]
    public async Task Many_hosts_give_one_result_each_in_order_and_a_failed_host_does_not_stop_the_others()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(16 * 1024));
        var good = Target();
        var other = Target() with { IsoDir = Path.Combine(_remote, "second", "iso") };
        var bad = Target(ssh: _sshd.SshOptions.Replace(_sshd.KeyPath, _sshd.WrongKeyPath)) with { IsoDir = Path.Combine(_remote, "third") };

        var results = await Publisher().PublishManyAsync(artifact, new[] { good, bad, other }, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal(new[] { "Published", "Failed", "Published" }, results.Select(r => r.Status));
        Assert.Equal(new[] { good.IsoDir, bad.IsoDir, other.IsoDir }, results.Select(r => Path.GetDirectoryName(r.Destination)));
    }

    [SkippableFact]
    public async Task Many_hosts_are_all_validated_before_any_is_contacted()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var good = Target();

        var e = await Assert.ThrowsAsync<TalosException>(() =>
            Publisher().PublishManyAsync(artifact, new[] { good, Target() with { IsoDir = "/x\ny" } }, SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal("UnsafeRemotePath", e.ErrorId);
        Assert.False(Directory.Exists(good.IsoDir));
    }

    [SkippableFact]
    public async Task Cancellation_throws()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Publisher().PublishAsync(artifact, Target(), SshPublishMode.AsIs, cts.Token));
    }

    /// <summary>Every dot-file (temporary name) left in a remote folder.</summary>
    protected static string[] DotFiles(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir).Where(f => Path.GetFileName(f).StartsWith('.')).ToArray() : Array.Empty<string>();

    [SkippableTheory]
    [InlineData(SshPublishMode.AsIs)]
    [InlineData(SshPublishMode.RemoteExpand)]
    public async Task Two_hosts_that_share_one_folder_publish_in_parallel_without_racing(SshPublishMode mode)
    {
        SkipWithoutSshd();
        // Two host entries that reach the same sshd and the same folder (shared storage mounted on both nodes).
        // Replace: each round's image differs from the one already there (issue 19: replacing it is asked for, not silent).
        var shared = Target() with { Replace = true };
        var targets = new[] { shared, shared with { Host = "127.0.0.1" } };
        var publisher = new SshPublisher(NullEngineEvents.Instance, Options(new SshPublishOptions { ConnectTimeout = TimeSpan.FromSeconds(10), MaxParallelHosts = 2 }));
        var raw = Path.Combine(_local, "raw-source");

        for (var round = 0; round < 4; round++)
        {
            // A new image each round, so the one already there differs; every other round the folder starts empty.
            var content = RawImage(4 << 20, seed: 100 + round);
            TalosArtifact artifact;
            string expected;
            if (mode == SshPublishMode.RemoteExpand)
            {
                File.WriteAllBytes(raw, content);
                artifact = Artifact("nocloud-amd64.raw.zst", "raw.zst", Compress("zstd", raw), expandedSha: Sha(content));
                expected = Sha(content);
            }
            else
            {
                artifact = Artifact("nocloud-amd64.raw", "raw", content);
                expected = artifact.Sha256;
            }
            if (round % 2 == 1 && Directory.Exists(shared.ImportDir))
            {
                Directory.Delete(shared.ImportDir, recursive: true);
            }

            var results = await publisher.PublishManyAsync(artifact, targets, mode, CancellationToken.None);

            Assert.All(results, r => Assert.True(r.Status is "Published" or "Skipped", $"round {round}, {r.Host}: {r.Status} {r.ErrorId} {r.Error}"));
            Assert.All(results, r => Assert.True(r.Verified, $"round {round}, {r.Host}: not verified"));
            Assert.Contains(results, r => r.Status == "Published");
            var destination = results[0].Destination;
            Assert.Equal(destination, results[1].Destination);
            Assert.Equal(expected, ShaOfFile(destination));
            Assert.Equal($"{expected}  {Path.GetFileName(destination)}\n", File.ReadAllText(destination + ".sha256"));
            Assert.Empty(DotFiles(shared.ImportDir));
        }
    }

    [SkippableFact]
    public async Task Stale_temporary_files_of_our_own_naming_are_adopted_or_removed_and_nothing_else_is_touched()
    {
        SkipWithoutSshd();
        var content = RawImage(2 << 20);
        var artifact = Artifact("metal-amd64.raw", "raw", content);
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        var name = Path.GetFileName(destination);
        Directory.CreateDirectory(target.ImportDir);
        // Two interrupted pushes of ours: one with most of the image (adopted and resumed), one small (removed).
        var big = Path.Combine(target.ImportDir, $".{name}.0123456789abcdef{SshPublishPlan.PartSuffix}");
        var small = Path.Combine(target.ImportDir, $".{name}.fedcba9876543210{SshPublishPlan.PartSuffix}");
        File.WriteAllBytes(big, content.AsSpan(0, content.Length * 3 / 4).ToArray());
        File.WriteAllBytes(small, RandomBytes(1000));
        // Not ours: another destination's temporary file, a token that is not ours, someone else's dot-file.
        var others = new[]
        {
            Path.Combine(target.ImportDir, $".talos-other-v1.11.5-metal-amd64.raw.0123456789abcdef{SshPublishPlan.PartSuffix}"),
            Path.Combine(target.ImportDir, $".{name}.not-a-token{SshPublishPlan.PartSuffix}"),
            Path.Combine(target.ImportDir, $".{name}.swp"),
        };
        foreach (var other in others)
        {
            File.WriteAllText(other, "keep me");
        }
        var publisher = new SshPublisher(NullEngineEvents.Instance, Options(new SshPublishOptions { ConnectTimeout = TimeSpan.FromSeconds(10), StaleTemporaryAge = TimeSpan.Zero }));

        var result = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
        Assert.False(File.Exists(big));
        Assert.False(File.Exists(small));
        Assert.All(others, o => Assert.Equal("keep me", File.ReadAllText(o)));
        Assert.True(result.BytesSent < content.Length / 2, $"sent {result.BytesSent} of {content.Length}: the adopted part was not resumed");
    }

    [SkippableFact]
    public async Task A_temporary_file_that_may_belong_to_a_running_push_is_left_alone()
    {
        SkipWithoutSshd();
        var artifact = Artifact("metal-amd64.raw", "raw", RawImage(512 * 1024));
        var target = Target();
        var name = Path.GetFileName(SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs));
        Directory.CreateDirectory(target.ImportDir);
        var running = Path.Combine(target.ImportDir, $".{name}.0123456789abcdef{SshPublishPlan.PartSuffix}");
        File.WriteAllText(running, "being written by another push right now");

        var result = await Publisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        Assert.Equal("being written by another push right now", File.ReadAllText(running));
    }

    [SkippableFact]
    public async Task A_final_file_that_another_push_just_put_there_identical_is_reported_as_skipped()
    {
        SkipWithoutSshd();
        var content = RawImage(1 << 20, seed: 7);
        var artifact = Artifact("metal-amd64.raw", "raw", content);
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        Directory.CreateDirectory(target.ImportDir);
        // The probe saw no file; by the time this push finishes, the other host has put the identical file there
        // (and its sidecar after it).
        var plan = SshPublishPlan.For(artifact, target, SshPublishMode.AsIs, needFile: true);
        File.WriteAllBytes(plan.Temp, content);
        File.WriteAllBytes(destination, content);
        File.WriteAllText(destination + ".sha256", $"{artifact.Sha256}  {Path.GetFileName(destination)}\n");
        var finish = RemoteScripts.Finish(plan, artifact.Sha256, null, content.Length);
        var run = await ChildProcess.RunAsync("sh", new[] { "-c", finish });

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("talosimage-identical", run.Stdout);
        Assert.False(File.Exists(plan.Temp));
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
        Assert.Equal($"{artifact.Sha256}  {Path.GetFileName(destination)}\n", File.ReadAllText(destination + ".sha256"));

        // And when this push's temporary file is gone (the other push took the same name): identical is not a failure.
        File.Delete(destination + ".sha256");
        var gone = await ChildProcess.RunAsync("sh", new[] { "-c", finish });
        Assert.Equal(0, gone.ExitCode);
        Assert.Contains("talosimage-identical", gone.Stdout);
    }

    protected static byte[] Compress(string tool, string path)
    {
        using var buffer = new MemoryStream();
        var r = ChildProcess.Run(tool, new[] { "-c", "-q", path }, new ChildOptions { StdoutTo = buffer });
        Assert.Equal(0, r.ExitCode);
        return buffer.ToArray();
    }
}
