using System.Text;
using TalosImage.Core;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

public class FactoryClientTests
{
    internal static Schematic WithExtensions(params string[] names) =>
        new() { Customization = new SchematicCustomization { OfficialExtensions = names } };

    [Theory]
    [InlineData("ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515", "siderolabs/qemu-guest-agent")]
    [InlineData("dc7b152cb3ea99b821fcb7340ce7168313ce393d663740b791c36f6e95fc8586", "siderolabs/iscsi-tools", "siderolabs/qemu-guest-agent")]
    [InlineData("376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba")]
    public async Task Creating_a_schematic_returns_the_factory_id_and_canonical_yaml(string id, params string[] extensions)
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var client = new FactoryClient(fake.BaseUrl + "/", FastHttp.Options);

        var s = await client.CreateSchematicAsync(WithExtensions(extensions), CancellationToken.None);

        Assert.Equal(id, s.SchematicId);
        Assert.Equal("Factory", s.Source);
        Assert.Equal(fake.BaseUrl, s.FactoryUrl);
        Assert.Equal(extensions, s.Extensions);
        Assert.Equal(id, SchematicYaml.ComputeId(s.Yaml));
        Assert.Equal(1, fake.Count("POST", "/schematics"));
    }

    [Fact]
    public async Task The_fake_rejects_unknown_fields_with_400_plain_text()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var http = new HttpClient();
        var response = await http.PostAsync(fake.BaseUrl + "/schematics", new StringContent("customization:\n    extraKernelArg: [a]\n", Encoding.UTF8, "application/yaml"));
        Assert.Equal(400, (int)response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("did you mean 'extraKernelArgs'", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_rejected_schematic_names_the_url_the_status_and_the_server_message()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options);
        var bad = new Schematic { Overlay = new SchematicOverlay { Image = "siderolabs/sbc-raspberrypi" } };

        var e = await Assert.ThrowsAsync<TalosException>(() => client.CreateSchematicAsync(bad, CancellationToken.None));

        Assert.Equal("Http400", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(fake.BaseUrl + "/schematics", e.Message);
        Assert.Contains("400", e.Message);
        Assert.Contains("an overlay needs both image", e.Message);
    }

    [Fact]
    public async Task A_server_answer_without_an_id_is_a_protocol_error()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.SchematicIdOverride = "not-an-id";
        var e = await Assert.ThrowsAsync<TalosException>(() => new FactoryClient(fake.BaseUrl, FastHttp.Options).CreateSchematicAsync(new Schematic(), CancellationToken.None));
        Assert.Equal("InvalidServerAnswer", e.ErrorId);
        Assert.Equal(TalosErrorKind.ProtocolError, e.Kind);
    }

    [Fact]
    public async Task Versions_and_extensions_are_read_as_json_although_served_as_text_plain()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options);

        Assert.Equal(fake.Versions, await client.GetVersionsAsync(CancellationToken.None));
        var extensions = await client.GetOfficialExtensionsAsync("1.11.5", CancellationToken.None);
        var qemu = Assert.Single(extensions, e => e.Name == "siderolabs/qemu-guest-agent");
        Assert.Equal(new FactoryExtension("siderolabs/qemu-guest-agent", "ghcr.io/siderolabs/qemu-guest-agent:10.0.2", "sha256:0123", "Sidero Labs", "QEMU guest agent"), qemu);
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/extensions/official"));
    }

    [Fact]
    public async Task Extensions_of_an_unknown_version_are_UnknownVersion()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var e = await Assert.ThrowsAsync<TalosException>(() => new FactoryClient(fake.BaseUrl, FastHttp.Options).GetOfficialExtensionsAsync("v1.1.0", CancellationToken.None));
        Assert.Equal("UnknownVersion", e.ErrorId);
        Assert.Contains("/version/v1.1.0/extensions/official", e.Message);
    }

    [Fact]
    public async Task A_429_with_Retry_After_and_500s_are_retried_until_success()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options);
        fake.RateLimit(1);
        Assert.NotEmpty(await client.GetVersionsAsync(CancellationToken.None));
        Assert.Equal(2, fake.Count("GET", "/versions"));

        fake.Fail500(2);
        Assert.NotEmpty(await client.GetVersionsAsync(CancellationToken.None));
        Assert.Equal(5, fake.Count("GET", "/versions"));
    }

    [Fact]
    public async Task A_slow_factory_times_out_with_the_url_in_the_message()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Delay = TimeSpan.FromSeconds(20);
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options with { HeadersTimeout = TimeSpan.FromMilliseconds(300) });
        var e = await Assert.ThrowsAsync<TalosException>(() => client.GetVersionsAsync(CancellationToken.None));
        Assert.Equal("HttpTimeout", e.ErrorId);
        Assert.Contains(fake.BaseUrl + "/versions", e.Message);
    }

    [Fact]
    public void A_base_url_that_is_not_http_is_refused()
    {
        var e = Assert.Throws<TalosException>(() => new FactoryClient("ftp://127.0.0.1/"));
        Assert.Equal("InvalidFactoryUrl", e.ErrorId);
    }

    [Fact]
    public void The_default_url_is_TALOS_FACTORY_URL_else_the_public_factory()
    {
        Assert.Equal("http://127.0.0.1:8080", FactoryClient.DefaultUrl(n => n == "TALOS_FACTORY_URL" ? "http://127.0.0.1:8080/" : null));
        Assert.Equal(FactoryCatalog.PublicFactoryUrl, FactoryClient.DefaultUrl(_ => null));
        Assert.Equal(FactoryCatalog.PublicFactoryUrl, FactoryClient.DefaultUrl(_ => "not a url"));
    }
}
