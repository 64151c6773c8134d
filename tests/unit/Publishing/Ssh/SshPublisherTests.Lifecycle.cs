using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Publishing.Ssh;
using Xunit;

namespace TalosImage.Tests.Publishing.Ssh;

/// <summary>Issue 19 on the SSH route (both transports: <see cref="SftpPublisherTests"/> runs these again): replace and free space.</summary>
public partial class SshPublisherTests
{
    private SshPublisher LifecyclePublisher(string? pveDir = null) =>
        new(NullEngineEvents.Instance, Options(new SshPublishOptions { ConnectTimeout = TimeSpan.FromSeconds(10), PveConfigDir = pveDir ?? Path.Combine(_local, "no-pve") }));

    [SkippableFact]
    public async Task A_changed_remote_file_is_refused_without_force_with_both_hashes_and_left_as_it_is()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(64 * 1024));
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        Directory.CreateDirectory(target.IsoDir);
        var old = RandomBytes(64 * 1024, seed: 9);
        File.WriteAllBytes(destination, old);

        var result = await LifecyclePublisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("RemoteFileConflict", result.ErrorId);
        Assert.Contains(Sha(old), result.Error);
        Assert.Contains(artifact.Sha256, result.Error);
        Assert.Contains("-Force", result.Error);
        Assert.Equal(0, result.BytesSent);
        Assert.Equal(old, File.ReadAllBytes(destination));
        Assert.Empty(PartFiles(target.IsoDir));

        // Forced: replaced through the temporary name, and its sidecar records the new hash.
        var forced = await LifecyclePublisher().PublishAsync(artifact, target with { Replace = true }, SshPublishMode.AsIs, CancellationToken.None);
        Assert.True(forced.Status == "Published", forced.Error);
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
        Assert.StartsWith(artifact.Sha256 + "  ", File.ReadAllText(destination + ".sha256"));
    }

    [SkippableFact]
    public async Task A_changed_file_that_a_vm_config_references_is_not_replaced_unless_replace_in_use()
    {
        SkipWithoutSshd();
        var artifact = Artifact("metal-amd64.iso", "iso", RandomBytes(32 * 1024));
        var target = Target();
        var destination = SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs);
        Directory.CreateDirectory(target.IsoDir);
        var old = RandomBytes(48 * 1024, seed: 5);
        File.WriteAllBytes(destination, old);
        var pve = Path.Combine(_local, "pve");
        Directory.CreateDirectory(Path.Combine(pve, "nodes", "pve1", "qemu-server"));
        var name = Path.GetFileName(destination);
        // The description is a comment line: it names the file too, and does not count.
        File.WriteAllText(Path.Combine(pve, "nodes", "pve1", "qemu-server", "100.conf"), $"#built from local:iso/{name}\nboot: order=ide2\nide2: local:iso/{name},media=cdrom\nmemory: 2048\n");
        File.WriteAllText(Path.Combine(pve, "nodes", "pve1", "qemu-server", "101.conf"), $"#uses local:iso/{name}\nide2: local:iso/{name}x.iso,media=cdrom\n");

        var refused = await LifecyclePublisher(pve).PublishAsync(artifact, target with { Replace = true }, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", refused.Status);
        Assert.Equal("RemoteFileInUse", refused.ErrorId);
        Assert.Contains("100.conf", refused.Error);
        Assert.DoesNotContain("101.conf", refused.Error);
        Assert.Equal(old, File.ReadAllBytes(destination));

        var forced = await LifecyclePublisher(pve).PublishAsync(artifact, target with { Replace = true, ReplaceInUse = true }, SshPublishMode.AsIs, CancellationToken.None);
        Assert.True(forced.Status == "Published", forced.Error);
        Assert.Equal(artifact.Sha256, ShaOfFile(destination));
    }

    [SkippableFact]
    public async Task Not_enough_free_space_fails_with_both_figures_before_anything_is_sent()
    {
        SkipWithoutSshd();
        // A small filesystem of its own: a 256 KiB tmpfs (needs root and mount; skipped otherwise).
        var mount = Path.Combine(_local, "small");
        Directory.CreateDirectory(mount);
        var mounted = Process.Start(new ProcessStartInfo("mount", new[] { "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount }) { RedirectStandardError = true })!;
        mounted.WaitForExit();
        Skip.If(mounted.ExitCode != 0, "cannot mount a tmpfs here: " + mounted.StandardError.ReadToEnd());
        try
        {
            var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(600 * 1024));
            var target = Target() with { IsoDir = mount };

            var result = await LifecyclePublisher().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

            Assert.Equal("Failed", result.Status);
            Assert.Equal("PublishSpaceInsufficient", result.ErrorId);
            Assert.Contains($"({600 * 1024} bytes) needed", result.Error);
            Assert.Matches(@"\((\d+) bytes\) available", result.Error);
            var available = long.Parse(System.Text.RegularExpressions.Regex.Match(result.Error!, @"\((\d+) bytes\) available").Groups[1].Value);
            Assert.InRange(available, 0, 256 * 1024);
            Assert.Equal(0, result.BytesSent);
            Assert.Empty(Directory.GetFiles(mount));
        }
        finally
        {
            Process.Start("umount", new[] { mount })!.WaitForExit();
        }
    }

    [SkippableFact]
    public async Task Retention_keeps_the_newest_keeps_a_file_a_vm_uses_and_never_touches_files_talosimage_did_not_publish()
    {
        SkipWithoutSshd();
        var target = Target();
        var pve = Path.Combine(_local, "pve");
        Directory.CreateDirectory(Path.Combine(pve, "nodes", "pve1", "qemu-server"));
        var publisher = LifecyclePublisher(pve);
        var paths = new Dictionary<string, string>();
        foreach (var (v, seed) in new[] { ("v1.11.3", 3), ("v1.11.4", 4), ("v1.11.5", 5) })
        {
            var artifact = Artifact($"nocloud-amd64-{v}.iso", "iso", RandomBytes(4096, seed)) with { Version = v, Asset = "nocloud-amd64.iso" };
            var r = await publisher.PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
            Assert.True(r.Status == "Published", r.Error);
            paths[v] = r.Destination;
        }
        // Foreign: TalosImage's naming but no sidecar (not published by it), and another name altogether.
        var foreign = Path.Combine(target.IsoDir, "talos-376567988ad3-v1.11.1-nocloud-amd64.iso");
        File.WriteAllBytes(foreign, new byte[10]);
        File.WriteAllBytes(Path.Combine(target.IsoDir, "debian-12.iso"), new byte[10]);
        File.WriteAllText(Path.Combine(pve, "nodes", "pve1", "qemu-server", "100.conf"), $"ide2: local:iso/{Path.GetFileName(paths["v1.11.3"])},media=cdrom\n");

        var listed = await publisher.ListPublishedAsync(target, 1, CancellationToken.None);

        Assert.Equal(3, listed.Count);
        Assert.Equal("Published", Assert.Single(listed, i => i.Version == "v1.11.5").State);
        Assert.Equal("WouldRemove", Assert.Single(listed, i => i.Version == "v1.11.4").State);
        var inUse = Assert.Single(listed, i => i.Version == "v1.11.3");
        Assert.Equal("InUse", inUse.State);
        Assert.EndsWith("100.conf", Assert.Single(inUse.UsedBy));
        Assert.Equal(Sha(RandomBytes(4096, 5)), Assert.Single(listed, i => i.Version == "v1.11.5").Sha256);
        Assert.True(File.Exists(paths["v1.11.4"])); // listing removes nothing

        var removed = Assert.Single(await publisher.RemovePublishedAsync(target, listed.Where(i => i.State == "WouldRemove"), CancellationToken.None));

        Assert.Equal("Removed", removed.State);
        Assert.False(File.Exists(paths["v1.11.4"]));
        Assert.False(File.Exists(paths["v1.11.4"] + ".sha256"));
        Assert.True(File.Exists(paths["v1.11.3"]));
        Assert.True(File.Exists(paths["v1.11.5"]));
        Assert.True(File.Exists(foreign));
        Assert.True(File.Exists(Path.Combine(target.IsoDir, "debian-12.iso")));
    }
}
