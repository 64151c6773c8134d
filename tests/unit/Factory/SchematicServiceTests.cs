using System.Collections;
using TalosImage.Core;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

public class SchematicServiceTests
{
    [Fact]
    public async Task N_identical_schematics_requested_concurrently_make_one_POST()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Delay = TimeSpan.FromMilliseconds(200); // keep the first POST open while the others arrive
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
            service.EnsureAsync(FactoryClientTests.WithExtensions("siderolabs/iscsi-tools", "siderolabs/util-linux-tools"), CancellationToken.None))));
        var other = await service.EnsureAsync(FactoryClientTests.WithExtensions("siderolabs/qemu-guest-agent"), CancellationToken.None);

        Assert.All(results, r => Assert.Equal("613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245", r.SchematicId));
        Assert.Equal("ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515", other.SchematicId);
        Assert.Equal(2, fake.SchematicPosts);
    }

    [Fact]
    public async Task A_server_id_that_differs_from_the_local_one_wins_with_a_warning_naming_both()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var serverId = new string('a', 64);
        fake.SchematicIdOverride = serverId;
        var events = new RecordingEvents();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), events);

        var s = await service.EnsureAsync(new Schematic(), CancellationToken.None);

        Assert.Equal(serverId, s.SchematicId);
        var warning = Assert.Single(events.Warnings);
        Assert.Contains(serverId, warning);
        Assert.Contains("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", warning);
    }

    [Fact]
    public async Task Without_a_factory_the_id_is_computed_locally()
    {
        var service = new SchematicService(null, NullEngineEvents.Instance);
        var s = await service.EnsureAsync(new Schematic { Overlay = new SchematicOverlay { Image = "siderolabs/sbc-raspberrypi", Name = "rpi_generic" } }, CancellationToken.None);
        Assert.Equal("ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9", s.SchematicId);
        Assert.Equal("Local", s.Source);
        Assert.Equal("overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\ncustomization: {}\n", s.Yaml);
        // Nothing to check extensions against offline: no error.
        await service.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/nope" }, CancellationToken.None);
    }

    [Fact]
    public async Task Unknown_extension_names_are_caught_with_the_nearest_official_names_and_the_list_is_fetched_once()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        await service.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/qemu-guest-agent", "siderolabs/iscsi-tools" }, CancellationToken.None);
        var e = await Assert.ThrowsAsync<TalosException>(() =>
            service.CheckExtensionsAsync("1.11.5", new[] { "siderolabs/qemu-guest-agnt", "siderolabs/btrfs", "iscsi-tool" }, CancellationToken.None));

        Assert.Equal("UnknownExtension", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("'siderolabs/qemu-guest-agnt' (nearest: siderolabs/qemu-guest-agent", e.Message);
        Assert.Contains("'iscsi-tool' (nearest: siderolabs/iscsi-tools", e.Message);
        Assert.DoesNotContain("'siderolabs/btrfs'", e.Message);
        Assert.Contains("v1.11.5", e.Message);
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/extensions/official"));
    }

    [Fact]
    public async Task The_extension_list_request_is_named_in_a_verbose_message_with_where_the_answer_came_from()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var events = new RecordingEvents();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), events);

        var (first, _) = await service.FindExtensionsAsync("1.11.5", Array.Empty<string>(), CancellationToken.None);
        var url = $"{fake.BaseUrl.TrimEnd('/')}/version/v1.11.5/extensions/official";
        Assert.Contains(events.Verbose, v => v.StartsWith($"GET {url}", StringComparison.Ordinal));
        Assert.Contains(events.Verbose, v => v.Contains($"{first.Count} official extension(s) of Talos v1.11.5 from {url}") && v.Contains("not from the on-disk cache"));

        // The same version again in this session: from memory, and it says so.
        while (events.Verbose.TryDequeue(out _))
        {
        }
        await service.FindExtensionsAsync("v1.11.5", new[] { "qemu*" }, CancellationToken.None);
        Assert.Contains(events.Verbose, v => v.Contains("v1.11.5") && v.Contains($"fetched earlier in this session from {url}"));
        Assert.DoesNotContain(events.Verbose, v => v.StartsWith("GET ", StringComparison.Ordinal));
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/extensions/official"));
    }

    [Fact]
    public void Wildcards_match_the_whole_name_or_the_part_after_the_slash()
    {
        var all = new[] { new FactoryExtension("siderolabs/qemu-guest-agent", "", "", "", ""), new FactoryExtension("siderolabs/iscsi-tools", "", "", "", "") };
        var hits = ExtensionFilter.Select(all, "v1.11.5", new[] { "qemu*" }, out var unmatched);
        Assert.Equal("siderolabs/qemu-guest-agent", Assert.Single(hits).Name);
        Assert.Equal("v1.11.5", hits[0].Version);
        Assert.Empty(unmatched);

        Assert.Equal(2, ExtensionFilter.Select(all, "v1.11.5", new[] { "siderolabs/*" }, out _).Count);
        Assert.Equal(2, ExtensionFilter.Select(all, "v1.11.5", Array.Empty<string>(), out _).Count);
        Assert.Empty(ExtensionFilter.Select(all, "v1.11.5", new[] { "qemu-guest-agnt" }, out unmatched));
        Assert.Equal("qemu-guest-agnt", Assert.Single(unmatched));
        Assert.Contains("nearest: siderolabs/qemu-guest-agent", ExtensionFilter.NotFound("qemu-guest-agnt", "v1.11.5", all.Select(a => a.Name)).Message);
    }

    [Fact]
    public void Parameters_build_the_same_schematics_as_the_test_vectors()
    {
        Assert.Equal("d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f",
            SchematicBuilder.Build(new SchematicParameters { Meta = new[] { new KeyValuePair<object, object?>("10", "foo") } }).ComputeId());
        Assert.Equal("9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
            SchematicBuilder.Build(new SchematicParameters { KernelArgs = new[] { "noapic", "nolapic" } }).ComputeId());
        Assert.Equal("fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6",
            SchematicBuilder.Build(new SchematicParameters { SecureBootIncludeWellKnownCertificates = true }).ComputeId());
        Assert.Equal("92833e9ddd9bb9e11b2464fa5525429f01866306d52ebd882ee08d7918f6d1ea",
            SchematicBuilder.Build(new SchematicParameters { SectorSize = 4096 }).ComputeId());
        Assert.Equal("ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
            SchematicBuilder.Build(new SchematicParameters { OverlayImage = "siderolabs/sbc-raspberrypi", OverlayName = "rpi_generic" }).ComputeId());
    }

    [Fact]
    public void Meta_from_a_hashtable_is_sorted_by_key_and_options_keep_their_shape()
    {
        var table = new Hashtable { [12] = "b", [10] = "a" };
        var s = SchematicBuilder.Build(new SchematicParameters
        {
            Meta = table.Cast<DictionaryEntry>().Select(e => new KeyValuePair<object, object?>(e.Key, e.Value)).ToList(),
            OverlayImage = "siderolabs/sbc-rockchip",
            OverlayName = "rock5b",
            OverlayOptions = new Hashtable { ["configTxt"] = "x", ["list"] = new object[] { 1, true } },
        });
        Assert.Equal(new[] { 10, 12 }, s.Customization.Meta.Select(m => m.Key));
        Assert.Contains("    options:\n        configTxt: x\n        list:\n            - 1\n            - true\n", s.ToCanonicalYaml());
    }

    [Theory]
    [InlineData(256, null, null, "-Meta key '256'")]
    [InlineData(null, "uefi", null, "-Bootloader 'uefi'")]
    [InlineData(null, null, "always", "-SecureBootEnrollKeys 'always'")]
    public void Bad_parameters_name_the_parameter(int? metaKey, string? bootloader, string? enroll, string expected)
    {
        var e = Assert.Throws<TalosException>(() => SchematicBuilder.Build(new SchematicParameters
        {
            Meta = metaKey is null ? Array.Empty<KeyValuePair<object, object?>>() : new[] { new KeyValuePair<object, object?>(metaKey.Value, "v") },
            Bootloader = bootloader,
            SecureBootEnrollKeys = enroll,
        }));
        Assert.Equal("InvalidSchematic", e.ErrorId);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void An_overlay_needs_image_and_name()
    {
        var e = Assert.Throws<TalosException>(() => SchematicBuilder.Build(new SchematicParameters { OverlayName = "rpi_generic" }));
        Assert.Contains("-OverlayImage", e.Message);
    }

    [Fact]
    public async Task Creating_with_a_version_checks_the_extensions_first_and_carries_the_version()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        var s = await service.CreateAsync(FactoryClientTests.WithExtensions("siderolabs/qemu-guest-agent"), "1.11.5", CancellationToken.None);
        Assert.Equal(("v1.11.5", "Factory"), (s.Version, s.Source));

        var e = await Assert.ThrowsAsync<TalosException>(() => service.CreateAsync(FactoryClientTests.WithExtensions("siderolabs/qemu-agent"), "v1.11.5", CancellationToken.None));
        Assert.Equal("UnknownExtension", e.ErrorId);
        Assert.Equal(1, fake.SchematicPosts); // the bad one was never posted
        Assert.Null((await service.CreateAsync(new Schematic(), null, CancellationToken.None)).Version);
    }

    [Fact]
    public async Task Finding_extensions_filters_by_wildcard_and_reports_unknown_plain_names()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);
        var (found, errors) = await service.FindExtensionsAsync("v1.11.5", new[] { "*tools", "siderolabs/btrfs", "btrfz" }, CancellationToken.None);
        Assert.Equal(new[] { "siderolabs/btrfs", "siderolabs/iscsi-tools", "siderolabs/util-linux-tools" }, found.Select(f => f.Name));
        var error = Assert.Single(errors);
        Assert.Contains("'btrfz' (nearest: siderolabs/btrfs", error.Message);
        Assert.Equal("InvalidVersion", (await Assert.ThrowsAsync<TalosException>(() => service.FindExtensionsAsync("latest", Array.Empty<string>(), CancellationToken.None))).ErrorId);
    }
}
