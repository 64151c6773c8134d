using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;

namespace TalosImage.Tests.Servers;

/// <summary>
/// A loopback Talos Image Factory and GitHub releases API in one server, behaving as
/// /work/shared/reference/image-factory.md describes: POST /schematics canonicalises (parse, re-emit with the
/// project's SchematicYaml, 201 JSON id + schematic; 400 plain text on unknown fields), GET /versions and
/// /version/{v}/extensions/official and /version/{v}/overlays/official answer JSON as text/plain, GET /repos/siderolabs/talos/releases pages with Link
/// headers, an ETag and 304, a Bearer token check; and on demand 429 with Retry-After, 500s and slow answers. It is
/// its own PXE host too (GET /pxe/{schematic}/{version}/{platform}-{arch}[-secureboot] renders an iPXE script), as a
/// self-hosted factory is.
/// </summary>
public sealed class FakeImageFactory : IAsyncDisposable
{
    public sealed record Release(string Tag, bool Prerelease = false, bool Draft = false, DateTimeOffset? PublishedAt = null);
    public sealed record Extension(string Name, string Ref = "", string Digest = "", string Author = "Sidero Labs", string Description = "");
    public sealed record Overlay(string Name, string Image, string Ref = "", string Digest = "");
    public sealed record Seen(string Method, string Path, string Query, string? IfNoneMatch, string? Authorization);

    private LoopbackHttpServer _server = null!;
    private int _fail500;
    private int _fail429;
    private int _schematicPosts;
    private readonly ConcurrentDictionary<string, Schematic> _schematics = new(StringComparer.Ordinal);

    private FakeImageFactory()
    {
    }

    public static async Task<FakeImageFactory> StartAsync()
    {
        var fake = new FakeImageFactory();
        fake._server = await LoopbackHttpServer.StartAsync(fake.HandleAsync);
        return fake;
    }

    /// <summary>http://127.0.0.1:PORT: the factory and the GitHub API base alike.</summary>
    public string BaseUrl => _server.BaseUrl;

    /// <summary>What GET /versions lists (ascending, as the factory does).</summary>
    public List<string> Versions { get; set; } = new() { "v1.10.6", "v1.10.7", "v1.11.4", "v1.11.5", "v1.12.0-alpha.1", "v1.12.0-beta.2", "v1.12.0-beta.10" };

    /// <summary>GitHub releases, in any order: they are served newest first by published_at.</summary>
    public List<Release> Releases { get; set; } = new();

    /// <summary>Releases per page unless per_page asks for fewer.</summary>
    public int PageSize { get; set; } = 2;

    /// <summary>When set, GitHub requests must carry "Authorization: Bearer" with it (else 401, echoing the header).</summary>
    public string? RequiredToken { get; set; }

    /// <summary>
    /// Where the releases API lives under this server: "" (the root, as a loopback api.github.com) or "/api/v3" (as
    /// GitHub Enterprise Server serves it). The Links of the pages point under it too.
    /// </summary>
    public string GitHubApiPrefix { get; set; } = "";

    /// <summary>When set, the pages' Link headers point to this base instead of this server's (another origin).</summary>
    public string? LinkBase { get; set; }

    /// <summary>
    /// When set, GET .../releases answers as GitHub does once the primary rate limit is used up: this status (403 or
    /// 429), X-RateLimit-Limit 60, X-RateLimit-Remaining 0 and X-RateLimit-Reset at this time.
    /// </summary>
    public (int Status, DateTimeOffset Reset)? GitHubRateLimited { get; set; }

    /// <summary>When set, GET .../releases answers 200 with this body (JSON that is not a list, text that is not JSON).</summary>
    public string? ReleasesBody { get; set; }

    /// <summary>Official extensions, the same for every version the factory lists.</summary>
    public List<Extension> Extensions { get; set; } = new()
    {
        new("siderolabs/amd-ucode"), new("siderolabs/binfmt-misc"), new("siderolabs/btrfs"), new("siderolabs/iscsi-tools"),
        new("siderolabs/qemu-guest-agent", "ghcr.io/siderolabs/qemu-guest-agent:10.0.2", "sha256:0123", "Sidero Labs", "QEMU guest agent"),
        new("siderolabs/util-linux-tools"),
    };

    /// <summary>Official overlays, the same for every version from v1.7.0 the factory lists (older versions list none, as the factory does).</summary>
    public List<Overlay> Overlays { get; set; } = new()
    {
        new("jetson_nano", "siderolabs/sbc-jetson", "ghcr.io/siderolabs/sbc-jetson:v0.1.1", "sha256:1111"),
        new("rock5b", "siderolabs/sbc-rockchip", "ghcr.io/siderolabs/sbc-rockchip:v0.1.2", "sha256:2222"),
        new("rpi_generic", "siderolabs/sbc-raspberrypi", "ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5", "sha256:3333"),
        new("turingrk1", "siderolabs/sbc-rockchip", "ghcr.io/siderolabs/sbc-rockchip:v0.1.2", "sha256:2222"),
    };

    /// <summary>Answer POST /schematics with this ID instead of the canonical YAML's hash (a server that disagrees).</summary>
    public string? SchematicIdOverride { get; set; }

    /// <summary>Delay before every answer (slow server); cancelled when the client goes away.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Retry-After of the 429s.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    public ConcurrentQueue<Seen> Log { get; } = new();

    /// <summary>When set, images are sent with this Content-Disposition (a hostile server's file name) instead of the asset's.</summary>
    public string? ContentDisposition { get; set; }

    /// <summary>When set, GET /image/... answers 302 to this location (given the asset); the target path then serves the image.</summary>
    public Func<string, string>? RedirectImages { get; set; }

    private readonly ConcurrentDictionary<string, byte[]> _redirected = new(StringComparer.Ordinal);

    public int SchematicPosts => Volatile.Read(ref _schematicPosts);

    private int _schematicPostsInFlight;
    private int _maxSchematicPostsInFlight;

    /// <summary>The most POST /schematics requests this server was answering at one time (since the last reset).</summary>
    public int MaxSchematicPostsInFlight => Volatile.Read(ref _maxSchematicPostsInFlight);

    public void ResetSchematicPostsInFlight() => Interlocked.Exchange(ref _maxSchematicPostsInFlight, 0);

    /// <summary>How long each POST /schematics takes to answer (so that concurrent POSTs overlap and can be counted).</summary>
    public TimeSpan SchematicDelay { get; set; }

    /// <summary>How long each GET /versions takes to answer (a run's planning waits for it).</summary>
    public TimeSpan VersionsDelay { get; set; }

    private int _versionGets;

    /// <summary>GET /versions requests seen (counted as they arrive).</summary>
    public int VersionGets => Volatile.Read(ref _versionGets);

    /// <summary>
    /// The bytes of an image, by (schematic, version, asset), for GET and HEAD /image/...; null answers 404. As the factory
    /// does, an image is only served for a schematic created here, a listed version, and official extensions (an
    /// unknown extension name fails only now, with 400).
    /// </summary>
    public Func<string, string, string, byte[]?>? Images { get; set; }

    /// <summary>
    /// Fault injection for GET /image/...: called with the request and the image's bytes before they are served. When
    /// it returns true it has answered (or broken) the request itself; false serves the image as usual. Null: no faults.
    /// </summary>
    public Func<HttpContext, byte[], Task<bool>>? ImageFault { get; set; }

    /// <summary>GET requests for images (bytes downloaded from this factory; checksum files are not images).</summary>
    public int ImageGets => Log.Count(s => s.Method == "GET" && s.Path.StartsWith("/image/", StringComparison.Ordinal) && !IsChecksumPath(s.Path));

    // ------------------------------------------------------------------ a factory behind a login, checksums, a CDN

    /// <summary>What GET /image/.../&lt;asset&gt;.sha256 and .sha512 answer.</summary>
    public enum ChecksumMode
    {
        /// <summary>404 for both (a self-hosted factory without the enterprise feature).</summary>
        NotFound,
        /// <summary>402 for both, as the public factory answers.</summary>
        PaymentRequired,
        /// <summary>The right .sha256 (sha256sum format); .sha512 404.</summary>
        Sha256,
        /// <summary>.sha256 404, the right .sha512 (sha512sum format).</summary>
        Sha512,
        /// <summary>A .sha256 of other bytes.</summary>
        WrongSha256,
        /// <summary>.sha256 404, a .sha512 of other bytes.</summary>
        WrongSha512,
        /// <summary>200 with text that is no checksum.</summary>
        NotAChecksum,
    }

    public ChecksumMode Checksums { get; set; }

    /// <summary>
    /// When set, every factory request (not the GitHub API's, not the CDN's) must carry exactly this Authorization
    /// header, else <see cref="AuthFailureStatus"/> with WWW-Authenticate and a body that echoes what was sent (as a
    /// careless server might: the client must still not show it).
    /// </summary>
    public string? RequiredAuthorization { get; set; }

    /// <summary>401 (default) or 403: the answer to a request without the required Authorization.</summary>
    public int AuthFailureStatus { get; set; } = 401;

    /// <summary>The header value of HTTP Basic credentials.</summary>
    public static string BasicHeader(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    private LoopbackHttpServer? _cdn;

    /// <summary>Requests the CDN server received (its own port: another origin for the same-host rule).</summary>
    public ConcurrentQueue<Seen> CdnLog { get; } = new();

    /// <summary>http://127.0.0.1:OTHERPORT of the CDN, once <see cref="StartCdnAsync"/> ran.</summary>
    public string? CdnUrl => _cdn?.BaseUrl;

    /// <summary>When true (and the CDN is started), GET /image/... answers 302 to the CDN, with a presigned-looking query.</summary>
    public bool RedirectToCdn { get; set; }

    private readonly ConcurrentDictionary<string, byte[]> _cdnFiles = new(StringComparer.Ordinal);

    /// <summary>Starts a second loopback server, the factory's "CDN": it serves what GET /image/... redirected to it, with no login.</summary>
    public async Task<string> StartCdnAsync()
    {
        _cdn ??= await LoopbackHttpServer.StartAsync(async ctx =>
        {
            var req = ctx.Request;
            CdnLog.Enqueue(new Seen(req.Method, req.Path.Value ?? "", req.QueryString.Value ?? "", null, req.Headers.Authorization.FirstOrDefault()));
            if (_cdnFiles.TryGetValue(req.Path.Value ?? "", out var bytes))
            {
                await SendImageAsync(ctx, bytes, Path.GetFileName(req.Path.Value ?? ""));
                return;
            }
            await Text(ctx, 404, "not on the CDN");
        });
        return _cdn.BaseUrl;
    }

    private static bool IsChecksumPath(string path) => path.EndsWith(".sha256", StringComparison.Ordinal) || path.EndsWith(".sha512", StringComparison.Ordinal);

    private async Task ChecksumAsync(HttpContext ctx, string schematicId, string version, string file)
    {
        var sha512 = file.EndsWith(".sha512", StringComparison.Ordinal);
        var asset = file.Substring(0, file.Length - ".sha256".Length);
        var bytes = _schematics.ContainsKey(schematicId) && Versions.Contains(version) ? Images?.Invoke(schematicId, version, asset) : null;
        if (Checksums == ChecksumMode.PaymentRequired)
        {
            await Text(ctx, 402, "checksums are an enterprise feature");
            return;
        }
        var serves = bytes is not null && Checksums switch
        {
            ChecksumMode.Sha256 or ChecksumMode.WrongSha256 or ChecksumMode.NotAChecksum => !sha512,
            ChecksumMode.Sha512 or ChecksumMode.WrongSha512 => sha512,
            _ => false,
        };
        if (!serves)
        {
            await Text(ctx, 404, "not found");
            return;
        }
        var content = Checksums is ChecksumMode.WrongSha256 or ChecksumMode.WrongSha512 ? bytes!.Concat(new byte[] { 1 }).ToArray() : bytes!;
        var hex = Convert.ToHexString(sha512 ? SHA512.HashData(content) : SHA256.HashData(content)).ToLowerInvariant();
        await Text(ctx, 200, Checksums == ChecksumMode.NotAChecksum ? "<html>no checksum here</html>" : $"{hex}  {asset}");
    }

    /// <summary>The next <paramref name="count"/> requests answer 500.</summary>
    public void Fail500(int count) => Interlocked.Exchange(ref _fail500, count);

    /// <summary>The next <paramref name="count"/> requests answer 429 with Retry-After.</summary>
    public void RateLimit(int count) => Interlocked.Exchange(ref _fail429, count);

    public int Count(string method, string path) => Log.Count(s => s.Method == method && s.Path == path);

    public int GitHubRequests => Log.Count(s => s.Path.StartsWith(GitHubApiPrefix + "/repos/", StringComparison.Ordinal));

    /// <summary>The ETag the release list has now.</summary>
    public string ReleasesETag => "\"" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(",", Releases.Select(r => $"{r.Tag}/{r.Prerelease}/{r.Draft}"))))).Substring(0, 16).ToLowerInvariant() + "\"";

    /// <summary>Waits <paramref name="delay"/> before an answer; false when the client went away meanwhile (nothing is answered then).</summary>
    private static async Task<bool> PausedAsync(TimeSpan delay, HttpContext ctx)
    {
        if (delay <= TimeSpan.Zero)
        {
            return true;
        }
        try
        {
            await Task.Delay(delay, ctx.RequestAborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        Log.Enqueue(new Seen(req.Method, req.Path.Value ?? "", req.QueryString.Value ?? "", req.Headers.IfNoneMatch.FirstOrDefault(), req.Headers.Authorization.FirstOrDefault()));
        if (!await PausedAsync(Delay, ctx))
        {
            return;
        }
        if (RequiredAuthorization is { } required && !(req.Path.Value ?? "").StartsWith(GitHubApiPrefix + "/repos/", StringComparison.Ordinal) &&
            req.Headers.Authorization.FirstOrDefault() != required)
        {
            ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"factory\", Bearer";
            await Text(ctx, AuthFailureStatus, "unauthorized: got " + (req.Headers.Authorization.FirstOrDefault() ?? "nothing"));
            return;
        }
        if (Interlocked.Decrement(ref _fail429) >= 0)
        {
            ctx.Response.StatusCode = 429;
            ctx.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Text(ctx, 429, "rate limited");
            return;
        }
        if (Interlocked.Decrement(ref _fail500) >= 0)
        {
            await Text(ctx, 500, "internal error");
            return;
        }
        var path = req.Path.Value ?? "";
        var segments = path.Trim('/').Split('/');
        if (req.Method == "POST" && path == "/schematics")
        {
            await CreateSchematicAsync(ctx);
        }
        else if (req.Method == "GET" && path == "/versions")
        {
            Interlocked.Increment(ref _versionGets);
            if (!await PausedAsync(VersionsDelay, ctx))
            {
                return;
            }
            await Json(ctx, 200, Versions);
        }
        else if (req.Method == "GET" && segments is ["version", var v, "extensions", "official"])
        {
            if (!Versions.Contains(v))
            {
                await Text(ctx, 404, "version not found");
                return;
            }
            await Json(ctx, 200, Extensions.Select(e => new { name = e.Name, @ref = e.Ref, digest = e.Digest, author = e.Author, description = e.Description }));
        }
        else if (req.Method == "GET" && segments is ["version", var ov, "overlays", "official"])
        {
            if (!Versions.Contains(ov))
            {
                await Text(ctx, 404, "version not found");
                return;
            }
            var supported = TalosImage.Core.Factory.OverlayRules.Supports(TalosImage.Core.Versions.TalosSemVersion.Parse(ov));
            await Json(ctx, 200, (supported ? Overlays : new List<Overlay>()).Select(o => new { name = o.Name, image = o.Image, @ref = o.Ref, digest = o.Digest }));
        }
        else if (req.Method == "GET" && segments is ["image", var cs, var cv, var checksum] && IsChecksumPath(checksum))
        {
            await ChecksumAsync(ctx, cs, cv, checksum);
        }
        else if ((req.Method == "GET" || req.Method == "HEAD") && segments is ["image", var schematic, var version, var asset])
        {
            await ImageAsync(ctx, schematic, version, asset);
        }
        else if ((req.Method == "GET" || req.Method == "HEAD") && segments is ["pxe", var pxeSchematic, var pxeVersion, var pxePath])
        {
            await PxeAsync(ctx, pxeSchematic, pxeVersion, pxePath);
        }
        else if (req.Method == "GET" && _redirected.TryGetValue(path, out var moved))
        {
            await SendImageAsync(ctx, moved, "moved");
        }
        else if (req.Method == "GET" && path == GitHubApiPrefix + "/repos/siderolabs/talos/releases")
        {
            await ReleasesAsync(ctx);
        }
        else
        {
            await Text(ctx, 404, "not found");
        }
    }

    private async Task CreateSchematicAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _schematicPosts);
        var inFlight = Interlocked.Increment(ref _schematicPostsInFlight);
        try
        {
            int max;
            while (inFlight > (max = Volatile.Read(ref _maxSchematicPostsInFlight)) && Interlocked.CompareExchange(ref _maxSchematicPostsInFlight, inFlight, max) != max)
            {
            }
            if (!await PausedAsync(SchematicDelay, ctx))
            {
                return;
            }
            await AnswerSchematicAsync(ctx);
        }
        finally
        {
            Interlocked.Decrement(ref _schematicPostsInFlight);
        }
    }

    private async Task AnswerSchematicAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        Schematic schematic;
        try
        {
            schematic = SchematicReader.Parse("schematic", body);
        }
        catch (TalosValidationException e)
        {
            await Text(ctx, 400, "failed to parse schematic: " + e.Message);
            return;
        }
        var yaml = schematic.ToCanonicalYaml();
        var id = SchematicIdOverride ?? SchematicYaml.ComputeId(yaml);
        _schematics[id] = schematic;
        await Json(ctx, 201, new { id, schematic = yaml });
    }

    private async Task ImageAsync(HttpContext ctx, string schematicId, string version, string asset)
    {
        if (!_schematics.TryGetValue(schematicId, out var schematic))
        {
            await Text(ctx, 404, "schematic not found");
            return;
        }
        if (!Versions.Contains(version))
        {
            await Text(ctx, 404, "version not found");
            return;
        }
        var unknown = schematic.Customization.OfficialExtensions.FirstOrDefault(n => Extensions.All(e => e.Name != n));
        if (unknown is not null)
        {
            await Text(ctx, 400, $"error building image: extension \"{unknown}\" not found");
            return;
        }
        if (schematic.Overlay is { IsEmpty: false } overlay)
        {
            if (!TalosImage.Core.Factory.OverlayRules.Supports(TalosImage.Core.Versions.TalosSemVersion.Parse(version)))
            {
                await Text(ctx, 400, $"overlay is not supported for Talos version {version}");
                return;
            }
            if (Overlays.All(o => o.Name != overlay.Name))
            {
                await Text(ctx, 400, $"official overlay \"{overlay.Name}\" is not available for Talos version {version}");
                return;
            }
        }
        if (Images?.Invoke(schematicId, version, asset) is not { } bytes)
        {
            await Text(ctx, 404, "asset not found");
            return;
        }
        if (RedirectToCdn && _cdn is not null && ctx.Request.Method == "GET")
        {
            var cdnPath = $"/cdn/{schematicId}/{version}/{asset}";
            _cdnFiles[cdnPath] = bytes;
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = _cdn.BaseUrl + cdnPath + "?X-Amz-Signature=0123456789abcdef";
            return;
        }
        if (RedirectImages is { } redirect && ctx.Request.Method == "GET")
        {
            var location = redirect(asset);
            _redirected[new Uri(new Uri(BaseUrl + "/"), location).AbsolutePath] = bytes;
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = location;
            return;
        }
        await SendImageAsync(ctx, bytes, asset);
    }

    /// <summary>
    /// GET /pxe/{schematic}/{version}/{platform}-{arch}[-secureboot]: the iPXE script the factory's PXE frontend renders
    /// (kernel and initramfs URLs on this server, the kernel command line; with SecureBoot the UKI's URL), for a schematic
    /// created here and a listed version.
    /// </summary>
    public string PxeScript(string schematicId, string version, string path)
    {
        var secureBoot = path.EndsWith("-secureboot", StringComparison.Ordinal);
        var arch = path.Contains("-arm64", StringComparison.Ordinal) ? "arm64" : "amd64";
        var image = $"{BaseUrl}/image/{schematicId}/{version}";
        return secureBoot
            ? $"#!ipxe\n\nchain {image}/{path.Substring(0, path.Length - "-secureboot".Length)}-secureboot-uki.efi\n"
            : $"#!ipxe\n\nkernel {image}/kernel-{arch} talos.platform={path.Substring(0, path.LastIndexOf('-'))} console=ttyS0\ninitrd {image}/initramfs-{arch}.xz\nboot\n";
    }

    private async Task PxeAsync(HttpContext ctx, string schematicId, string version, string path)
    {
        if (!_schematics.ContainsKey(schematicId))
        {
            await Text(ctx, 404, "schematic not found");
            return;
        }
        if (!Versions.Contains(version))
        {
            await Text(ctx, 404, "version not found");
            return;
        }
        var script = Encoding.UTF8.GetBytes(PxeScript(schematicId, version, path));
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.ContentLength = script.Length;
        if (ctx.Request.Method == "GET")
        {
            await ctx.Response.Body.WriteAsync(script);
        }
    }

    private async Task SendImageAsync(HttpContext ctx, byte[] bytes, string asset)
    {
        if (ctx.Request.Method == "GET" && ImageFault is { } fault && await fault(ctx, bytes))
        {
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = bytes.Length;
        ctx.Response.Headers.ContentDisposition = ContentDisposition ?? $"attachment; filename={asset}";
        if (ctx.Request.Method == "GET")
        {
            await ctx.Response.Body.WriteAsync(bytes);
        }
    }

    private async Task ReleasesAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        if (RequiredToken is not null && req.Headers.Authorization.FirstOrDefault() != "Bearer " + RequiredToken)
        {
            // Echo what was sent, as a careless server might: the client must still not show the token.
            await Json(ctx, 401, new { message = "Bad credentials: " + req.Headers.Authorization.FirstOrDefault(), documentation_url = "https://docs.github.com/rest" });
            return;
        }
        if (GitHubRateLimited is { } limited)
        {
            ctx.Response.Headers["X-RateLimit-Limit"] = "60";
            ctx.Response.Headers["X-RateLimit-Remaining"] = "0";
            ctx.Response.Headers["X-RateLimit-Used"] = "60";
            ctx.Response.Headers["X-RateLimit-Reset"] = limited.Reset.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Json(ctx, limited.Status, new { message = "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit.)", documentation_url = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting" });
            return;
        }
        if (ReleasesBody is not null)
        {
            ctx.Response.ContentType = "application/json; charset=utf-8";
            await ctx.Response.WriteAsync(ReleasesBody);
            return;
        }
        var perPage = int.TryParse(req.Query["per_page"], out var pp) ? Math.Min(pp, PageSize) : PageSize;
        var page = int.TryParse(req.Query["page"], out var pg) ? pg : 1;
        var ordered = Releases.OrderByDescending(r => r.PublishedAt ?? DateTimeOffset.MinValue).ToList();
        var pages = Math.Max(1, (ordered.Count + perPage - 1) / perPage);
        var etag = ReleasesETag;
        ctx.Response.Headers.ETag = etag;
        if (page == 1 && req.Headers.IfNoneMatch.FirstOrDefault() == etag)
        {
            ctx.Response.StatusCode = 304;
            return;
        }
        string Link(int p) => $"<{LinkBase ?? BaseUrl}{GitHubApiPrefix}/repos/siderolabs/talos/releases?per_page={perPage}&page={p}>";
        var links = new List<string>();
        if (page < pages)
        {
            links.Add(Link(page + 1) + "; rel=\"next\"");
            links.Add(Link(pages) + "; rel=\"last\"");
        }
        if (page > 1)
        {
            links.Add(Link(1) + "; rel=\"first\"");
            links.Add(Link(page - 1) + "; rel=\"prev\"");
        }
        if (links.Count > 0)
        {
            ctx.Response.Headers["Link"] = string.Join(", ", links);
        }
        var items = ordered.Skip((page - 1) * perPage).Take(perPage).Select(r => new
        {
            tag_name = r.Tag,
            name = r.Tag,
            draft = r.Draft,
            prerelease = r.Prerelease,
            published_at = r.Draft ? null : (r.PublishedAt ?? DateTimeOffset.UnixEpoch).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ"),
        });
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(JsonConvert.SerializeObject(items));
    }

    /// <summary>JSON as the factory sends it: with text/plain.</summary>
    private static Task Json(HttpContext ctx, int status, object value)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.WriteAsync(JsonConvert.SerializeObject(value));
    }

    private static Task Text(HttpContext ctx, int status, string text)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.WriteAsync(text + "\n");
    }

    /// <summary>Releases from tags, one day apart in list order (the last is the newest).</summary>
    public static List<Release> ReleasesOf(params string[] tags) =>
        tags.Select((t, i) => new Release(t, TalosImage.Core.Versions.TalosSemVersion.Parse(t).IsPrerelease, false, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(i))).ToList();

    public async ValueTask DisposeAsync()
    {
        if (_cdn is not null)
        {
            await _cdn.DisposeAsync();
        }
        await _server.DisposeAsync();
    }
}
