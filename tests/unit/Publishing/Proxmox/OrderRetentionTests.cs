using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>push.retention in a whole order run against the loopback factory and the Proxmox API fake (issue 19).</summary>
public sealed class OrderRetentionTests : IAsyncLifetime, IDisposable
{
    private static readonly byte[] Iso = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7 + 3)).ToArray();

    private readonly TempDir _dir = new();
    private FakeImageFactory _factory = null!;
    private FakeProxmox _pve = null!;

    public async Task InitializeAsync()
    {
        _factory = await FakeImageFactory.StartAsync();
        _factory.Images = (_, version, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso.Concat(System.Text.Encoding.ASCII.GetBytes(version)).ToArray() : null;
        _factory.Releases = FakeImageFactory.ReleasesOf("v1.10.7", "v1.11.4", "v1.11.5");
        _pve = await FakeProxmox.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _pve.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private string Config() => _dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {_dir.File("cache")}
          factory_url: {_factory.BaseUrl}
          github_api_url: {_factory.BaseUrl}
        manifest:
          dir: {_dir.File("manifests")}
        proxmox:
          lab:
            url: {_pve.Endpoint}
            node: pve1
            token_env: RET_PVE_TOKEN
            fingerprint: "{_pve.Fingerprint}"
        """);

    private string Orders(string version, string retention) => _dir.Write($"orders-{version}.yaml", $"""
        orders:
          - orderid: RET-{version}
            customer: Retention Lab
            positions:
              - name: iso
                product: talos
                version: {version}
                customization: {"{}"}
                push: {"{"}enabled: true, proxmox: [lab]{retention}{"}"}
        """);

    private Task<RunResult> RunAsync(string version, string retention = "") =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = Config(),
            OrdersPath = Orders(version, retention),
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == "RET_PVE_TOKEN" ? FakeProxmox.Token : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    [Fact]
    public async Task An_order_run_retires_old_versions_keeps_what_a_vm_uses_and_records_each_in_the_manifest()
    {
        (await RunAsync("v1.10.7")).Orders.ToList().ForEach(o => Assert.True(o.Status == "Succeeded", File.ReadAllText(o.ManifestPath)));
        (await RunAsync("v1.11.4")).Orders.ToList().ForEach(o => Assert.True(o.Status == "Succeeded", File.ReadAllText(o.ManifestPath)));
        var files = _pve.Storage("pve1", "local");
        var v3 = Assert.Single(files.Keys, k => k.Contains("-v1.10.7-", StringComparison.Ordinal));
        var v4 = Assert.Single(files.Keys, k => k.Contains("-v1.11.4-", StringComparison.Ordinal));
        files["local:iso/debian-12.iso"] = new byte[3];
        _pve.AddVm(100, "pve1", "talos-cp-1", false, new Dictionary<string, string> { ["ide2"] = v3 + ",media=cdrom" });

        var run = await RunAsync("v1.11.5", ", retention: {keep_versions: 1}");

        var order = Assert.Single(run.Orders);
        Assert.Equal("Succeeded", order.Status);
        Assert.Equal(new[] { v4 }, _pve.Deleted.ToArray());
        Assert.True(files.ContainsKey(v3));
        Assert.True(files.ContainsKey("local:iso/debian-12.iso"));
        Assert.Single(files.Keys, k => k.Contains("-v1.11.5-", StringComparison.Ordinal));
        var manifest = File.ReadAllText(order.ManifestPath);
        Assert.Contains("remote_retention:", manifest);
        Assert.Contains($"path: {v4}", manifest);
        Assert.Contains("status: removed", manifest);
        Assert.Contains($"path: {v3}", manifest);
        Assert.Contains("status: in_use", manifest);
        Assert.Contains("pve1/100 (VM talos-cp-1, ide2)", manifest);

        // Without push.retention nothing is removed.
        _pve.Vms.Clear();
        await RunAsync("v1.11.5");
        Assert.Equal(new[] { v4 }, _pve.Deleted.ToArray());
    }
}
