using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Factory;

/// <summary>One official system extension as GET /version/{v}/extensions/official lists it.</summary>
public sealed record FactoryExtension(string Name, string Ref, string Digest, string Author, string Description);

/// <summary>One official overlay as GET /version/{v}/overlays/official lists it (Image is the repository, e.g. siderolabs/sbc-raspberrypi).</summary>
public sealed record FactoryOverlay(string Name, string Image, string Ref, string Digest);

/// <summary>
/// The Image Factory's API (POST /schematics, GET /versions, GET /version/{v}/extensions/official and overlays/official) over the shared
/// HTTP pipeline. The base URL is configurable: self-hosted factories and loopback test servers work alike.
/// </summary>
public sealed class FactoryClient
{
    private readonly HttpClient _client;
    private readonly HttpOptions _http;

    public FactoryClient(string factoryUrl, HttpOptions? http = null)
    {
        if (!Uri.TryCreate(factoryUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new TalosException(TalosErrors.InvalidFactoryUrl, $"'{(uri is null ? factoryUrl : HttpPipeline.Redact(uri))}' is not an http(s) URL of an Image Factory", factoryUrl);
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            // The user info is never shown (Redact drops it) nor sent: a credential goes through HttpOptions.Credential.
            throw new TalosException(TalosErrors.InvalidFactoryUrl,
                $"'{HttpPipeline.Redact(uri)}' holds a user name or password, which a factory URL must not have; give the credential with -FactoryCredential or config.yaml's defaults.factory_auth", HttpPipeline.Redact(uri));
        }
        FactoryUrl = factoryUrl.TrimEnd('/');
        _http = http ?? HttpOptions.Default;
        _client = HttpPipeline.For(FactoryUrl, _http);
    }

    /// <summary>The base URL, without a trailing slash.</summary>
    public string FactoryUrl { get; }

    /// <summary>TALOS_FACTORY_URL when it is set to an http(s) URL, else the public factory.</summary>
    public static string DefaultUrl(Func<string, string?>? environment = null)
    {
        var url = (environment ?? Environment.GetEnvironmentVariable)(OrderLoader.FactoryUrlVariable);
        return !string.IsNullOrWhiteSpace(url) && Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
            ? url!.TrimEnd('/')
            : FactoryCatalog.PublicFactoryUrl;
    }

    /// <summary>
    /// POST /schematics with the canonical YAML. The server's id and schematic are the truth (Source = Factory);
    /// the other properties describe the schematic that was sent.
    /// </summary>
    public async Task<TalosSchematic> CreateSchematicAsync(Schematic schematic, CancellationToken ct)
    {
        var yaml = schematic.ToCanonicalYaml();
        using var request = new HttpRequestMessage(HttpMethod.Post, "schematics")
        {
            Content = new ByteArrayContent(new UTF8Encoding(false).GetBytes(yaml)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        var (json, url) = await GetJsonAsync(request, ct).ConfigureAwait(false);
        var id = (json as JObject)?["id"]?.Type == JTokenType.String ? (string?)json["id"] : null;
        var canonical = (json as JObject)?["schematic"]?.Type == JTokenType.String ? (string?)json["schematic"] : null;
        if (id is null || id.Length != 64 || !id.All(Uri.IsHexDigit))
        {
            throw new TalosException(TalosErrors.InvalidServerAnswer,
                $"POST {url}: expected {{\"id\": \"<64 hex>\", \"schematic\": \"...\"}}, got: {Shorten(json.ToString(Newtonsoft.Json.Formatting.None))}", url);
        }
        return SchematicService.Describe(schematic, id.ToLowerInvariant(), canonical ?? yaml, "Factory", FactoryUrl);
    }

    /// <summary>GET /versions: the versions the factory can build, as it spells them (ascending).</summary>
    public async Task<IReadOnlyList<string>> GetVersionsAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "versions");
        var (json, url) = await GetJsonAsync(request, ct).ConfigureAwait(false);
        if (json is not JArray array || array.Any(t => t.Type != JTokenType.String))
        {
            throw new TalosException(TalosErrors.InvalidServerAnswer,
                $"GET {url}: expected a JSON list of version strings, got: {Shorten(json.ToString(Newtonsoft.Json.Formatting.None))}", url);
        }
        return array.Select(t => (string)t!).ToList();
    }

    /// <summary>The URL <see cref="GetOfficialExtensionsAsync"/> asks: <c>{factory}/version/vX.Y.Z/extensions/official</c> (for messages).</summary>
    public string OfficialExtensionsUrl(string version) =>
        HttpPipeline.Redact(new Uri(FactoryUrl + "/" + OfficialExtensionsPath(TalosSemVersion.Parse(version))));

    private static string OfficialExtensionsPath(TalosSemVersion v) => $"version/{Uri.EscapeDataString(v.ToString())}/extensions/official";

    /// <summary>GET /version/{v}/extensions/official. <paramref name="version"/> is normalised to vX.Y.Z[-pre] first.</summary>
    public async Task<IReadOnlyList<FactoryExtension>> GetOfficialExtensionsAsync(string version, CancellationToken ct)
    {
        var v = TalosSemVersion.Parse(version);
        using var request = new HttpRequestMessage(HttpMethod.Get, OfficialExtensionsPath(v));
        var (json, url) = await GetJsonAsync(request, ct, notFound: $"the factory at {FactoryUrl} does not know Talos {v}").ConfigureAwait(false);
        if (json is not JArray array)
        {
            throw new TalosException(TalosErrors.InvalidServerAnswer,
                $"GET {url}: expected a JSON list of extensions, got: {Shorten(json.ToString(Newtonsoft.Json.Formatting.None))}", url);
        }
        static string S(JToken item, string key) => item is JObject o && o[key] is JValue { Type: JTokenType.String } s ? (string)s! : "";
        return array.Select(e => new FactoryExtension(S(e, "name"), S(e, "ref"), S(e, "digest"), S(e, "author"), S(e, "description")))
            .Where(e => e.Name.Length > 0)
            .ToList();
    }

    /// <summary>The URL <see cref="GetOfficialOverlaysAsync"/> asks: <c>{factory}/version/vX.Y.Z/overlays/official</c> (for messages).</summary>
    public string OfficialOverlaysUrl(string version) =>
        HttpPipeline.Redact(new Uri(FactoryUrl + "/" + OfficialOverlaysPath(TalosSemVersion.Parse(version))));

    private static string OfficialOverlaysPath(TalosSemVersion v) => $"version/{Uri.EscapeDataString(v.ToString())}/overlays/official";

    /// <summary>
    /// GET /version/{v}/overlays/official (JSON, possibly served as text/plain; bounded in size and time by the
    /// pipeline like the extension list). The factory answers an empty list for versions without overlay support.
    /// </summary>
    public async Task<IReadOnlyList<FactoryOverlay>> GetOfficialOverlaysAsync(string version, CancellationToken ct)
    {
        var v = TalosSemVersion.Parse(version);
        using var request = new HttpRequestMessage(HttpMethod.Get, OfficialOverlaysPath(v));
        var (json, url) = await GetJsonAsync(request, ct, notFound: $"the factory at {FactoryUrl} does not know Talos {v}").ConfigureAwait(false);
        if (json is not JArray array)
        {
            throw new TalosException(TalosErrors.InvalidServerAnswer,
                $"GET {url}: expected a JSON list of overlays, got: {Shorten(json.ToString(Newtonsoft.Json.Formatting.None))}", url);
        }
        static string S(JToken item, string key) => item is JObject o && o[key] is JValue { Type: JTokenType.String } s ? (string)s! : "";
        return array.Select(e => new FactoryOverlay(S(e, "name"), S(e, "image"), S(e, "ref"), S(e, "digest")))
            .Where(e => e.Name.Length > 0)
            .ToList();
    }

    private async Task<(JToken Json, string Url)> GetJsonAsync(HttpRequestMessage request, CancellationToken ct, string? notFound = null)
    {
        using var response = await HttpPipeline.SendAsync(_client, request, _http, ct).ConfigureAwait(false);
        var url = HttpPipeline.Redact(response.RequestMessage?.RequestUri ?? request.RequestUri);
        if (notFound is not null && (int)response.StatusCode == 404)
        {
            throw new TalosException(TalosErrors.UnknownVersion, $"{request.Method} {url} answered 404: {notFound}", url);
        }
        await HttpPipeline.EnsureSuccessAsync(response, _http, ct).ConfigureAwait(false);
        var text = await HttpText.ReadAsync(response, _http, ct).ConfigureAwait(false);
        return (HttpText.ParseJson(text, url), url);
    }

    private static string Shorten(string s) => SafeText.Excerpt(s, 200);
}
