using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.EndToEnd;

/// <summary>
/// An order position with <c>template:</c> run through the order runner against the loopback factory and the Proxmox
/// fake: the expanded raw is uploaded to import content, a template is made from it once, found on the second run,
/// planned in a dry run, and recorded in the manifest; the loader refuses a template it could not make.
/// </summary>
public sealed class TemplateOrderTests : IClassFixture<EndToEndImages>, IDisposable
{
    private readonly EndToEndImages _images;
    private readonly TempDir _dir = new();

    public TemplateOrderTests(EndToEndImages images) => _images = images;

    public void Dispose() => _dir.Dispose();

    private string Config(FakeProxmox pve) => _dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {_dir.Path}/cache
        manifest:
          dir: {_dir.Path}/manifests
        proxmox:
          lab:
            url: {pve.Endpoint}
            nodes: [pve1, pve2]
            storage: local
            token_env: TPL_PVE_TOKEN
            fingerprint: "{pve.Fingerprint}"
        """);

    private string Orders(string template, string format = "raw.xz", string push = "enabled: true, prefer_decompressed: true, proxmox: [lab]") => _dir.Write("orders.yaml", $$"""
        orders:
          - orderid: TPL-1
            positions:
              - name: golden
                product: talos
                version: v1.11.5
                image_format: {{format}}
                customization: {}
                push: { {{push}} }
                template: {{template}}
        """);

    private Task<RunResult> RunAsync(string config, string orders, bool dryRun = false) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            DryRun = dryRun,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? _images.Factory.BaseUrl : n == "TPL_PVE_TOKEN" ? FakeProxmox.Token : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    [Fact]
    public async Task An_order_publishes_the_raw_and_makes_a_template_once_then_finds_it()
    {
        await using var pve = await FakeProxmox.StartAsync(f => f.Storages["local-lvm"] = (false, "images,rootdir"));
        var config = Config(pve);
        var orders = Orders("{storage: local-lvm, memory: 4096, tags: [golden], options: {cpu: host}}");

        // A dry run plans the template and contacts nothing.
        var plan = await RunAsync(config, orders, dryRun: true);
        Assert.Equal(0, pve.Requests);
        var planned = Assert.Single(plan.Plan.Orders.Single().Positions.Single().Templates);
        Assert.Equal("pve1", planned.Node);
        Assert.Contains("template talos-v1-11-5-nocloud-amd64-", PlanReport.Format(plan.Plan));
        Assert.Contains("on lab/pve1", PlanReport.Format(plan.Plan));

        var first = await RunAsync(config, orders);
        Assert.True(first.ExitCode == 0, string.Join("\n", first.Failures.Select(f => f.Message)));
        var vm = Assert.Single(pve.Vms);
        Assert.True(vm.Value.Template);
        Assert.Equal("pve1", vm.Value.Node);
        var sent = Assert.Single(pve.QemuCreates);
        Assert.Equal("4096", sent["memory"]);
        Assert.Equal("host", sent["cpu"]);
        Assert.StartsWith("local-lvm:0,import-from=local:import/talos-", sent["scsi0"]);
        Assert.EndsWith("-v1.11.5-nocloud-amd64.raw", sent["scsi0"]);
        Assert.Equal("talos;talosimage;v1.11.5;golden", sent["tags"]);
        var rawSha = EndToEndImages.Sha256(_images.Raw);
        Assert.Contains("talosimage-sha256: " + rawSha, sent["description"]);
        var manifest = File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-TPL-1.yaml"));
        Assert.Contains("  templates:\n  - endpoint: lab\n    node: pve1\n    status: created\n    vmid: 100\n", manifest);
        Assert.Contains("    sha256: " + rawSha, manifest);
        var installer = plan.Plan.Orders.Single().Positions.Single().InstallerImage;
        Assert.Contains("/nocloud-installer/", installer);
        Assert.Contains("    installer_image: " + installer + "\n", manifest);
        Assert.Contains("talosimage-installer: " + installer, sent["description"]);
        Assert.DoesNotContain(FakeProxmox.Secret, manifest);

        var second = await RunAsync(config, orders);
        Assert.Equal(0, second.ExitCode);
        Assert.False(Assert.Single(second.Orders).Changed, "a second identical run reported a change");
        Assert.Single(pve.QemuCreates);
        Assert.Single(pve.Vms);
        Assert.Contains("    status: found\n    vmid: 100\n", File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-TPL-1.yaml")));
    }

    [Fact]
    public async Task A_taken_vmid_fails_the_position_at_the_template_stage_with_its_own_id()
    {
        await using var pve = await FakeProxmox.StartAsync(f => f.Storages["local-lvm"] = (false, "images,rootdir"));
        pve.AddVm(9000, "pve2", "database");
        var result = await RunAsync(Config(pve), Orders("{vmid: 9000, node: pve1}"));

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var failure = Assert.Single(result.Failures);
        Assert.Equal("TemplateVmIdTaken", failure.ErrorId);
        Assert.Contains("database", failure.Message);
        var manifest = File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-TPL-1.yaml"));
        Assert.Contains("error: \"position failed at template:", manifest);
        Assert.Contains("    status: failed\n    vmid: 9000\n", manifest);
        Assert.Contains("volume_id: local:import/", manifest); // the publish itself went through
    }

    [Theory]
    [InlineData("{storage: local-lvm}", "iso", "enabled: true, proxmox: [lab]", "needs a disk image published to import content")]
    [InlineData("{storage: local-lvm}", "raw.xz", "enabled: true, proxmox: [lab]", "without push.prefer_decompressed: true")]
    [InlineData("{storage: local-lvm}", "raw.xz", "enabled: true, prefer_decompressed: true, hosts: [pve-01]", "needs push.proxmox")]
    [InlineData("{vmid: 5}", "raw.xz", "enabled: true, prefer_decompressed: true, proxmox: [lab]", "from 100 to 999999999")]
    [InlineData("{tags: [Bad Tag]}", "raw.xz", "enabled: true, prefer_decompressed: true, proxmox: [lab]", "is not a Proxmox tag")]
    [InlineData("{options: {description: mine}}", "raw.xz", "enabled: true, prefer_decompressed: true, proxmox: [lab]", "option 'description' is TalosImage's own")]
    [InlineData("{memry: 4096}", "raw.xz", "enabled: true, prefer_decompressed: true, proxmox: [lab]", "did you mean 'memory'?")]
    public async Task The_loader_refuses_a_template_it_could_not_make(string template, string format, string push, string expected)
    {
        await using var pve = await FakeProxmox.StartAsync();
        var e = await Assert.ThrowsAsync<TalosValidationException>(() => RunAsync(Config(pve), Orders(template, format, push), dryRun: true));
        Assert.Contains(e.Problems, p => p.Message.Contains(expected, StringComparison.Ordinal) && p.Key.StartsWith("orders[0].positions[0].template", StringComparison.Ordinal));
        Assert.Equal(0, pve.Requests);
    }
}
