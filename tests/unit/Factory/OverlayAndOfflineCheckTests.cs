using System.Globalization;
using Newtonsoft.Json.Linq;
using TalosImage.Core;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>
/// The official overlay list, overlay checks (name, image, version), and extension/overlay checks against the official
/// lists cached in the cache folder: offline of any age (saying it), online while younger than the maximum age.
/// </summary>
public class OverlayAndOfflineCheckTests
{
    private static SchematicOverlay Rpi(string name = "rpi_generic", string image = "siderolabs/sbc-raspberrypi") => new() { Name = name, Image = image };

    [Fact]
    public async Task The_factory_lists_overlays_served_as_text_plain()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options);

        var overlays = await client.GetOfficialOverlaysAsync("1.11.5", CancellationToken.None);

        var rpi = Assert.Single(overlays, o => o.Name == "rpi_generic");
        Assert.Equal(("siderolabs/sbc-raspberrypi", "ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5", "sha256:3333"), (rpi.Image, rpi.Ref, rpi.Digest));
        Assert.Equal(fake.Overlays.Count, overlays.Count);
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/overlays/official"));
    }

    [Fact]
    public async Task An_unknown_version_is_UnknownVersion()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var e = await Assert.ThrowsAsync<TalosException>(() => new FactoryClient(fake.BaseUrl, FastHttp.Options).GetOfficialOverlaysAsync("v9.9.9", CancellationToken.None));
        Assert.Equal("UnknownVersion", e.ErrorId);
    }

    [Fact]
    public async Task Get_TalosOverlay_filters_by_wildcards_and_reports_unknown_names_with_the_nearest()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        var (overlays, errors) = await service.FindOverlaysAsync("v1.11.5", new[] { "ROCK*", "rpi_generc" }, CancellationToken.None);

        Assert.Equal(new[] { "rock5b" }, overlays.Select(o => o.Name));
        Assert.Equal("v1.11.5", overlays[0].Version);
        var error = Assert.Single(errors);
        Assert.Equal("UnknownOverlay", error.ErrorId);
        Assert.Contains("'rpi_generc' (nearest: rpi_generic", error.Message);
    }

    [Fact]
    public async Task An_overlay_is_checked_by_name_and_by_image()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        var note = await service.CheckOverlayAsync("v1.11.5", Rpi(), CancellationToken.None);
        var name = await Assert.ThrowsAsync<TalosException>(() => service.CheckOverlayAsync("v1.11.5", Rpi("rpi_gneric"), CancellationToken.None));
        var image = await Assert.ThrowsAsync<TalosException>(() => service.CheckOverlayAsync("v1.11.5", Rpi(image: "siderolabs/sbc-rockchip"), CancellationToken.None));

        Assert.Contains("checked against the factory's list", note);
        Assert.Equal("UnknownOverlay", name.ErrorId);
        Assert.Contains("no official overlay 'rpi_gneric' (nearest: rpi_generic from siderolabs/sbc-raspberrypi", name.Message);
        Assert.Equal("UnknownOverlay", image.ErrorId);
        Assert.Contains("comes from the image 'siderolabs/sbc-raspberrypi', not 'siderolabs/sbc-rockchip'", image.Message);
        // One list per version however many checks.
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/overlays/official"));
    }

    [Theory]
    [InlineData("v1.6.7", false)]
    [InlineData("v1.7.0-alpha.1", true)]
    [InlineData("v1.7.0", true)]
    public void Overlays_exist_from_talos_1_7_0_pre_releases_counting_as_their_release(string version, bool supported)
    {
        Assert.Equal(supported, OverlayRules.CheckVersion(version) is null);
    }

    [Fact]
    public async Task An_overlay_on_a_version_without_overlays_is_refused_without_a_request()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Versions.Insert(0, "v1.6.7");
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance);

        var e = await Assert.ThrowsAsync<TalosException>(() => service.CheckOverlayAsync("v1.6.7", Rpi(), CancellationToken.None));

        Assert.Equal("OverlayUnavailable", e.ErrorId);
        Assert.Contains("overlay is not supported for Talos version v1.6.7", e.Message);
        Assert.Empty(fake.Log);
    }

    [Fact]
    public async Task Offline_a_cached_list_is_used_and_its_age_said()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        // Online once: the lists are written to the cache.
        var online = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance, lists: new OfficialListCache(dir.Path, fake.BaseUrl));
        await online.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/iscsi-tools" }, CancellationToken.None);
        await online.CheckOverlayAsync("v1.11.5", Rpi(), CancellationToken.None);
        Age(OfficialListCache.PathOf(dir.Path, OfficialListKind.Extensions, "v1.11.5"), TimeSpan.FromDays(3));
        var requests = fake.Log.Count;

        var events = new RecordingEvents();
        var offline = new SchematicService(null, events, lists: new OfficialListCache(dir.Path, fake.BaseUrl));
        var note = await offline.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/iscsi-tools" }, CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<TalosException>(() => offline.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/iscsi-tool" }, CancellationToken.None));
        var overlay = await Assert.ThrowsAsync<TalosException>(() => offline.CheckOverlayAsync("v1.11.5", Rpi("rpi_genric"), CancellationToken.None));

        Assert.Contains("checked against the list cached 3 days ago", note);
        Assert.Contains(events.Verbose, v => v.Contains("checked against the list cached 3 days ago"));
        Assert.Equal("UnknownExtension", unknown.ErrorId);
        Assert.Contains("(nearest: siderolabs/iscsi-tools", unknown.Message);
        Assert.Contains("checked against the list cached 3 days ago", unknown.Message);
        Assert.Equal("UnknownOverlay", overlay.ErrorId);
        Assert.Contains("checked against the list cached less than a minute ago", overlay.Message);
        Assert.Equal(requests, fake.Log.Count);
    }

    [Fact]
    public async Task Online_a_cached_list_younger_than_the_maximum_age_is_used_and_an_older_one_fetched_again()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var lists = new OfficialListCache(dir.Path, fake.BaseUrl);
        lists.WriteExtensions("v1.11.5", new[] { new FactoryExtension("siderolabs/iscsi-tools", "", "", "", "") }, DateTimeOffset.UtcNow - OfficialListCache.MaxAge + TimeSpan.FromHours(1));
        lists.WriteExtensions("v1.11.4", new[] { new FactoryExtension("siderolabs/iscsi-tools", "", "", "", "") }, DateTimeOffset.UtcNow - OfficialListCache.MaxAge - TimeSpan.FromHours(1));
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance, lists: lists);

        var young = await service.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/iscsi-tools" }, CancellationToken.None);
        var old = await service.CheckExtensionsAsync("v1.11.4", new[] { "siderolabs/qemu-guest-agent" }, CancellationToken.None);

        Assert.Contains("the list cached 6 days ago", young);
        Assert.Equal(0, fake.Count("GET", "/version/v1.11.5/extensions/official"));
        // The old list did not have qemu-guest-agent; the factory's has, and the cache now holds the factory's list.
        Assert.Contains("the factory's list", old);
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.4/extensions/official"));
        var rewritten = lists.ReadExtensions("v1.11.4")!;
        Assert.True(rewritten.AgeAt(DateTimeOffset.UtcNow) < TimeSpan.FromMinutes(5));
        Assert.Contains(rewritten.Items, e => e.Name == "siderolabs/qemu-guest-agent");
    }

    [Fact]
    public async Task A_list_cached_from_another_factory_or_without_its_time_is_not_used_for_checks()
    {
        using var dir = new TempDir();
        new OfficialListCache(dir.Path, "http://127.0.0.1:1").WriteExtensions("v1.11.5", new[] { new FactoryExtension("siderolabs/iscsi-tools", "", "", "", "") }, DateTimeOffset.UtcNow);
        dir.Write("versions/extensions-v1.11.4.json", "[\"siderolabs/iscsi-tools\"]\n");
        var offline = new SchematicService(null, NullEngineEvents.Instance, lists: new OfficialListCache(dir.Path, "http://127.0.0.1:2"));

        Assert.Null(await offline.CheckExtensionsAsync("v1.11.5", new[] { "siderolabs/nope" }, CancellationToken.None));
        Assert.Null(await offline.CheckExtensionsAsync("v1.11.4", new[] { "siderolabs/nope" }, CancellationToken.None));
        // Completion still offers the names of either.
        Assert.Equal(new[] { "siderolabs/iscsi-tools" }, OfficialListCache.ReadNames(dir.Path, OfficialListKind.Extensions, "v1.11.4"));
        Assert.Equal(new[] { "siderolabs/iscsi-tools" }, OfficialListCache.ReadNames(dir.Path, OfficialListKind.Extensions, "v1.11.5"));
    }

    [Fact]
    public async Task A_read_only_cache_is_not_written()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var service = new SchematicService(new FactoryClient(fake.BaseUrl, FastHttp.Options), NullEngineEvents.Instance, lists: new OfficialListCache(dir.Path, fake.BaseUrl, readOnly: true));
        await service.CheckOverlayAsync("v1.11.5", Rpi(), CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "versions")));
    }

    /// <summary>Rewrites a cached list's fetch time to <paramref name="age"/> ago.</summary>
    internal static void Age(string path, TimeSpan age)
    {
        var o = (JObject)TalosImage.Core.Http.HttpText.ParseJson(File.ReadAllText(path), path);
        o["fetched_at"] = (DateTimeOffset.UtcNow - age).ToString("o", CultureInfo.InvariantCulture);
        File.WriteAllText(path, o.ToString());
    }
}
