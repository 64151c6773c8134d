using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Core.Versions;
using Xunit;

namespace TalosImage.Tests.Orders;

public class OrderLoaderTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static TalosValidationException Invalid(TempDir dir, string orders, string config = "defaults: {}\n")
    {
        var c = dir.Write("config.yaml", config);
        var o = dir.Write("orders.yaml", orders);
        return Assert.Throws<TalosValidationException>(() => OrderLoader.Load(c, o, NoEnvironment));
    }

    private static OrderInput Valid(TempDir dir, string orders, string config = "defaults: {}\n", Func<string, string?>? env = null)
    {
        var c = dir.Write("config.yaml", config);
        var o = dir.Write("orders.yaml", orders);
        return OrderLoader.Load(c, o, env ?? NoEnvironment);
    }

    [Fact]
    public void The_compat_files_of_talos_order_py_load_unchanged()
    {
        var input = OrderLoader.Load(TestPaths.Compat("talos_order-config.yaml"), TestPaths.Compat("talos_order-orders.yaml"), NoEnvironment);

        var config = input.Config;
        Assert.Equal("/var/cache/talos-sync", config.CacheDir);
        Assert.Equal("/var/lib/vz/template/iso", config.ProxmoxDefaultIsoDir);
        Assert.True(config.Push.Enabled);
        Assert.True(config.Push.PreferDecompressed);
        Assert.Equal("-av --progress --inplace", config.Push.RsyncOpts);
        Assert.Equal("-o BatchMode=yes", config.Push.SshOpts);
        Assert.Equal(3, config.CachePolicy.KeepVersions);
        Assert.Equal("/var/cache/talos-sync/manifests", config.Manifest.Dir);

        var order = Assert.Single(input.Orders);
        Assert.Equal("ORD-2025-0001", order.OrderId);
        Assert.Equal("ACME Mobility GmbH", order.Customer);
        var p = Assert.Single(order.Positions);
        Assert.Equal("talos-nocloud-secureboot-raw-amd64", p.Name);
        Assert.Equal(VersionKind.Latest, p.Version.Kind);
        Assert.Equal("raw.xz", p.Format);
        Assert.True(p.SecureBoot);
        Assert.True(p.DecompressRaw);
        Assert.Equal(new[] { "console=ttyS0,115200" }, p.Schematic!.Customization.ExtraKernelArgs);
        Assert.Equal(new[] { "siderolabs/amd-ucode", "siderolabs/binfmt-misc", "siderolabs/btrfs" }, p.Schematic.Customization.OfficialExtensions);
        Assert.Equal(new[] { "pve-01.example.lan", "pve-02.example.lan" }, p.Push.Hosts.Select(h => h.Host));
        Assert.True(p.Push.Enabled && p.Push.PreferDecompressed);
    }

    [Fact]
    public void A_list_at_the_top_and_the_aliases_of_talos_order_py_work()
    {
        using var dir = new TempDir();
        var input = Valid(dir, """
            - orderid: A
              positions:
                - product: TALOS
                  image_format: rawxz
                  version: {type: exact, value: 1.11.5}
                  schematic_id: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
                  customization: null
                  push: null
                - product: talos
                  image_format: raw
                  version: {type: latest-in-minor, minor: "1.7"}
                  customization: {}
            """);
        var positions = input.Orders.Single().Positions;
        Assert.Equal("raw.xz", positions[0].Format);
        Assert.Equal("v1.11.5", positions[0].Version.Value);
        Assert.Equal("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", positions[0].SchematicId);
        Assert.False(positions[0].Push.Enabled);
        Assert.Equal("raw.xz", positions[1].Format);
        Assert.Equal(new VersionRequest(VersionKind.LatestInMinor, "v1.7"), positions[1].Version);
        Assert.Equal("<unnamed>", positions[0].Name);
        Assert.Equal("nocloud", positions[0].Platform);
        Assert.Equal("amd64", positions[0].Arch);
    }

    [Fact]
    public void A_quoted_false_is_an_error_not_true()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, """
            orders:
              - orderid: A
                positions:
                  - product: talos
                    customization: {}
                    secureboot: "false"
            """);
        var p = Assert.Single(e.Problems);
        Assert.Equal(6, p.Line);
        Assert.Equal("orders[0].positions[0].secureboot", p.Key);
        Assert.Contains("expected true or false", p.Message);
        Assert.Contains("remove the quotes", p.Message);
        Assert.EndsWith("orders.yaml", p.File);
    }

    [Fact]
    public void Every_problem_in_a_file_is_reported_at_once_with_line_column_and_near_miss()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, """
            orders:
              - orderid: ../../etc/passwd
                positions:
                  - product: talos
                    customization: {}
                    platfrom: metal
                  - product: debian
                    schematic_id: xyz
                    arch: amd46
                  - product: talos
                    customization: {}
                    version: {type: exakt, value: v1.11.5}
              - orderid: B
              - orderid: b
            """);
        var byKey = e.Problems.ToDictionary(p => p.Key);
        Assert.Contains("cannot be used in a file name", byKey["orders[0].orderid"].Message);
        Assert.Equal((2, 14), (byKey["orders[0].orderid"].Line, byKey["orders[0].orderid"].Column));
        Assert.Contains("did you mean 'platform'?", byKey["orders[0].positions[0].platfrom"].Message);
        Assert.Equal(6, byKey["orders[0].positions[0].platfrom"].Line);
        Assert.Contains("unsupported product 'debian'", byKey["orders[0].positions[1].product"].Message);
        Assert.Contains("64 lowercase hex", byKey["orders[0].positions[1].schematic_id"].Message);
        Assert.Contains("amd64", byKey["orders[0].positions[1].arch"].Message);
        Assert.Contains("did you mean 'exact'?", byKey["orders[0].positions[2].version.type"].Message);
        Assert.Contains("duplicate orderid 'b'", byKey["orders[2].orderid"].Message);
        Assert.Equal(7, e.Problems.Count);
        Assert.Contains("7 problems", e.Message);
    }

    [Fact]
    public void A_yaml_syntax_error_names_file_line_and_column()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, "orders:\n  - orderid: A\n    positions: [\n");
        var p = Assert.Single(e.Problems);
        Assert.Contains("YAML syntax error", p.Message);
        Assert.True(p.Line >= 3, $"line {p.Line}");
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("ä")]
    public void Orderids_that_are_unsafe_as_file_names_are_refused(string id)
    {
        using var dir = new TempDir();
        var e = Invalid(dir, $"orders:\n  - orderid: \"{id}\"\n    positions: []\n");
        Assert.Contains(e.Problems, p => p.Key == "orders[0].orderid" && p.Message.Contains("file name"));
    }

    [Fact]
    public void Orderid_of_128_safe_characters_is_accepted_and_129_is_not()
    {
        using var dir = new TempDir();
        Valid(dir, $"- orderid: {new string('a', 128)}\n");
        var e = Invalid(dir, $"- orderid: {new string('a', 129)}\n");
        Assert.Single(e.Problems);
    }

    [Fact]
    public void Config_problems_and_order_problems_are_reported_together()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, secureboot: yes, platform: aws}\n",
            "defaults:\n  cache_policy:\n    keep_versions: three\n  concurency: 2\n");
        Assert.Contains(e.Problems, p => p.File.EndsWith("config.yaml") && p.Key == "defaults.cache_policy.keep_versions" && p.Line == 3);
        Assert.Contains(e.Problems, p => p.File.EndsWith("config.yaml") && p.Message.Contains("did you mean 'concurrency'?"));
        Assert.Contains(e.Problems, p => p.File.EndsWith("orders.yaml") && p.Key.EndsWith("secureboot") && p.Message.Contains("no SecureBoot images"));
    }

    [Fact]
    public void A_bare_list_of_system_extensions_is_explained()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, "- orderid: A\n  positions:\n    - product: talos\n      customization:\n        systemExtensions:\n          - siderolabs/hello-world\n");
        Assert.Contains("officialExtensions", Assert.Single(e.Problems).Message);
    }

    [Fact]
    public void Unsafe_hosts_and_remote_folders_are_refused_at_load_time()
    {
        using var dir = new TempDir();
        var e = Invalid(dir, """
            - orderid: A
              positions:
                - product: talos
                  customization: {}
                  push:
                    enabled: true
                    hosts:
                      - host: "-oProxyCommand=touch /tmp/x"
                      - host: pve-01
                        iso_dir: "/x\necho INJECTED"
                      - host: "pve 02"
                      - host: pve-03
                        iso_dir: /var/lib/../../etc
            """);
        Assert.Equal(4, e.Problems.Count);
        Assert.All(e.Problems, p => Assert.Matches("not a host name|not a safe remote folder", p.Message));
    }

    [Fact]
    public void Factory_url_comes_from_config_and_TALOS_FACTORY_URL_overrides_it()
    {
        using var dir = new TempDir();
        const string orders = "- orderid: A\n";
        const string config = "defaults:\n  factory_url: http://127.0.0.1:9/\n";
        Assert.Equal("http://127.0.0.1:9", Valid(dir, orders, config).Config.FactoryUrl);
        var env = new Dictionary<string, string?> { ["TALOS_FACTORY_URL"] = "http://127.0.0.1:10" };
        Assert.Equal("http://127.0.0.1:10", Valid(dir, orders, config, k => env.GetValueOrDefault(k)).Config.FactoryUrl);
    }

    [Fact]
    public void Deep_nesting_and_huge_files_are_refused_without_crashing()
    {
        using var dir = new TempDir();
        var deep = "- orderid: A\n  positions:\n    - product: talos\n      overlay:\n        image: x\n        name: y\n        options: " + new string('[', 5000) + new string(']', 5000) + "\n";
        Assert.Contains("nested deeper", Assert.Single(Invalid(dir, deep).Problems).Message);

        var huge = new string('#', (int)YamlInput.MaxFileBytes + 1);
        Assert.Contains("limited to", Assert.Single(Invalid(dir, huge).Problems).Message);
    }

    [Fact]
    public void Alias_bombs_are_refused()
    {
        using var dir = new TempDir();
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
                   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
                   "orders:\n  - orderid: A\n    positions:\n      - product: talos\n        overlay: {image: i, name: n, options: {x: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}}\n";
        var e = Invalid(dir, bomb);
        Assert.NotEmpty(e.Problems);
    }

    [Fact]
    public void Proxmox_endpoints_are_named_in_config_and_referenced_by_positions()
    {
        using var dir = new TempDir();
        const string config = """
            proxmox:
              cluster-a:
                url: https://127.0.0.1:8006
                nodes: [pve1, pve2]
                storage: local
                token_env: PVE_TOKEN_A
                fingerprint: "AA:BB"
            """;
        var input = Valid(dir, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, push: {enabled: true, proxmox: [cluster-a]}}\n", config);
        var endpoint = input.Config.Proxmox["cluster-a"];
        Assert.Equal(new[] { "pve1", "pve2" }, endpoint.Nodes);
        Assert.Equal("PVE_TOKEN_A", endpoint.TokenEnv);
        Assert.Equal(new[] { "cluster-a" }, input.Orders[0].Positions[0].Push.Proxmox);

        var e = Invalid(dir, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, push: {enabled: true, proxmox: [cluster-b]}}\n", config);
        Assert.Contains("did you mean 'cluster-a'?", Assert.Single(e.Problems).Message);
    }
}
