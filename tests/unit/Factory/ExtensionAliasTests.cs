using TalosImage.Core;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>Extension names as the factory takes them: its aliases accepted, duplicates refused offline (issue 17).</summary>
public class ExtensionAliasTests
{
    [Fact]
    public async Task A_renamed_extension_passes_the_check_as_the_factory_s_alias_and_a_name_with_no_target_still_fails()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Extensions.Add(new FakeImageFactory.Extension("siderolabs/nvidia-container-toolkit-lts"));
        var events = new RecordingEvents();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), events);

        await service.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/nvidia-container-toolkit", "siderolabs/btrfs" }, CancellationToken.None);
        Assert.Contains(events.Verbose, v => v.Contains("'siderolabs/nvidia-container-toolkit'") && v.Contains("alias 'siderolabs/nvidia-container-toolkit-lts'"));

        // The alias's target is not official in this version: the name is unknown, as the factory would say.
        var e = await Assert.ThrowsAsync<TalosException>(() =>
            service.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/i915-ucode" }, CancellationToken.None));
        Assert.Equal("UnknownExtension", e.ErrorId);
        Assert.Contains("'siderolabs/i915-ucode'", e.Message);
    }

    [Theory]
    [InlineData("[siderolabs/btrfs, siderolabs/iscsi-tools, siderolabs/btrfs]", "'siderolabs/btrfs' is listed twice (also at [0])", "officialExtensions[2]")]
    [InlineData("[siderolabs/i915, siderolabs/i915-ucode]", "'siderolabs/i915-ucode' is the factory's alias of 'siderolabs/i915', which [0] already orders as 'siderolabs/i915'", "officialExtensions[1]")]
    public void An_extension_ordered_twice_is_refused_when_the_orders_file_is_read(string list, string message, string key)
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", "defaults: {}\n");
        var o = dir.Write("o.yaml", $"- orderid: A\n  positions:\n    - product: talos\n      customization:\n        systemExtensions:\n          officialExtensions: {list}\n");

        var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(c, o, _ => null));

        var problem = Assert.Single(e.Problems);
        Assert.Contains(message, problem.Message);
        Assert.EndsWith(key, problem.Key);
        Assert.Equal(6, problem.Line); // the officialExtensions line
    }

    [Fact]
    public void Every_alias_names_an_official_siderolabs_extension_and_no_alias_is_a_target()
    {
        Assert.All(ExtensionAliases.All, a =>
        {
            Assert.StartsWith("siderolabs/", a.Key);
            Assert.StartsWith("siderolabs/", a.Value);
            Assert.NotEqual(a.Key, a.Value);
            Assert.False(ExtensionAliases.All.ContainsKey(a.Value), $"{a.Value} is both a target and an alias");
        });
        Assert.Equal("siderolabs/qemu-guest-agent", ExtensionAliases.Target("siderolabs/qemu-guest-agent"));
    }
}
