using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>
/// A loopback HTTPS Proxmox VE API that behaves as /work/shared/reference/proxmox.md describes: token auth (401/403
/// with the text in the status line), the node list, storage config with shared 0/1, content lists, multipart upload
/// (Content-Length required, part order, name normalisation, checksum, silent overwrite), download-url (refuses to
/// override without a checksum), and tasks that run for a few polls before they stop.
/// </summary>
public sealed partial class FakeProxmox : IAsyncDisposable
{
    public const string Secret = "5f0c2a9e-81d4-4b7e-a3c6-9e1d7b42f0aa";
    public const string TokenId = "root@pam!talos";
    public const string Token = TokenId + "=" + Secret;
    /// <summary>A valid token that may read but not allocate (403 on upload and download-url).</summary>
    public const string ReadOnlySecret = "c7e1b0d2-3a4f-4c59-8e6b-1f2a3b4c5d6e";
    public const string ReadOnlyToken = "audit@pve!ro=" + ReadOnlySecret;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (string Exit, int Polls)> _tasks = new();
    private int _taskCounter;

    private FakeProxmox(WebApplication app, X509Certificate2 certificate)
    {
        _app = app;
        Certificate = certificate;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-256 of the certificate, AA:BB:... as Proxmox shows it.</summary>
    public string Fingerprint => Convert.ToHexString(SHA256.HashData(Certificate.RawData)).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b);

    public Uri Endpoint { get; private set; } = null!;

    public string[] Nodes { get; init; } = { "pve1", "pve2" };

    /// <summary>Storage id -> (shared, content types).</summary>
    public Dictionary<string, (bool Shared, string Content)> Storages { get; } = new() { ["local"] = (false, "iso,vztmpl,backup,import") };

    /// <summary>Files: key "node/storage" (or "*/storage" when shared) -> volid -> bytes.</summary>
    public ConcurrentDictionary<string, ConcurrentDictionary<string, byte[]>> Files { get; } = new();

    /// <summary>Task polls answered "running" before a task stops.</summary>
    public int RunningPolls { get; set; } = 2;

    /// <summary>When set, every task stops with this exit status.</summary>
    public string? ForceTaskExit { get; set; }

    /// <summary>A careless server: a refused Authorization header is echoed in the status line and the body.</summary>
    public bool EchoAuthorization { get; set; }

    /// <summary>When set, sees every request first; returning true means it answered (a hostile server for one test).</summary>
    public Func<HttpContext, Task<bool>>? Intercept { get; set; }

    /// <summary>Bytes each storage reports as its total (status); avail is total minus the stored bytes unless <see cref="AvailOverride"/> says.</summary>
    public long StorageTotal { get; set; } = 64L << 30;

    /// <summary>Storage id -> the avail its status reports (a full storage for one test).</summary>
    public ConcurrentDictionary<string, long> AvailOverride { get; } = new();

    /// <summary>The node's root filesystem (uploads are staged in /var/tmp there): total and avail; null answers no rootfs.</summary>
    public (long Total, long Avail)? RootFs { get; set; } = (32L << 30, 16L << 30);


    /// <summary>Volume ids removed through DELETE .../content/{volume}, in order.</summary>
    public ConcurrentQueue<string> Deleted { get; } = new();

    public int Uploads;
    public int DownloadUrls;
    public int Requests;
    public ConcurrentQueue<string> Log { get; } = new();
    /// <summary>Content-Length and part names of every upload as received.</summary>
    public ConcurrentQueue<(long? ContentLength, string[] Parts)> UploadShapes { get; } = new();

    public static async Task<FakeProxmox> StartAsync(Action<FakeProxmox>? configure = null)
    {
        var certificate = CreateCertificate("pve1");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate));
        });
        var app = builder.Build();
        var fake = new FakeProxmox(app, certificate);
        configure?.Invoke(fake);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.Endpoint = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return fake;
    }

    public static X509Certificate2 CreateCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=PVE Cluster Node", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public ConcurrentDictionary<string, byte[]> Storage(string node, string storage) =>
        Files.GetOrAdd((Storages[storage].Shared ? "*" : node) + "/" + storage, _ => new ConcurrentDictionary<string, byte[]>());

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref Requests);
        var path = ctx.Request.Path.Value ?? "";
        Log.Enqueue($"{ctx.Request.Method} {path}");
        if (Intercept is { } intercept && await intercept(ctx))
        {
            return;
        }
        var auth = ctx.Request.Headers.Authorization.ToString();
        if (auth != "PVEAPIToken=" + Token && auth != "PVEAPIToken=" + ReadOnlyToken)
        {
            if (EchoAuthorization)
            {
                await Fail(ctx, 401, "invalid token value! got " + auth, new { authorization = auth });
                return;
            }
            await Fail(ctx, 401, "invalid token value!");
            return;
        }
        var readOnly = auth == "PVEAPIToken=" + ReadOnlyToken;
        if (!path.StartsWith("/api2/json/", StringComparison.Ordinal))
        {
            await Fail(ctx, 404, "Not Found");
            return;
        }
        var seg = path.Substring("/api2/json/".Length).Split('/');
        var post = HttpMethods.IsPost(ctx.Request.Method);
        var delete = HttpMethods.IsDelete(ctx.Request.Method);
        if (delete && readOnly)
        {
            await Fail(ctx, 403, $"Permission check failed (/storage/{(seg.Length > 3 ? seg[3] : "")}, Datastore.Allocate)");
            return;
        }
        if (seg is ["nodes", var dn, "storage", var ds, "content", var dv] && delete && Nodes.Contains(dn) && Storages.ContainsKey(ds))
        {
            var volid = Uri.UnescapeDataString(dv);
            if (!Storage(dn, ds).TryRemove(volid, out _))
            {
                await Fail(ctx, 500, $"volume '{volid}' does not exist");
                return;
            }
            Deleted.Enqueue(volid);
            await Data(ctx, NewTask(dn, "imgdel", "OK"));
            return;
        }
        if (seg is ["nodes", var rn, "status"] && !post && !delete && Nodes.Contains(rn))
        {
            await Data(ctx, RootFs is { } root
                ? new { uptime = 1000, rootfs = new { total = root.Total, avail = root.Avail, used = root.Total - root.Avail, free = root.Avail } }
                : (object)new { uptime = 1000 });
            return;
        }
        if (post && readOnly)
        {
            await Fail(ctx, 403, $"Permission check failed (/storage/{(seg.Length > 3 ? seg[3] : "")}, Datastore.AllocateTemplate)");
            return;
        }
        if (await HandleQemuAsync(ctx, seg))
        {
            return;
        }
        if (seg is ["nodes"] && !post)
        {
            await Data(ctx, Nodes.Select(n => new { node = n, status = "online", type = "node", id = "node/" + n }).ToArray());
            return;
        }
        if (seg is ["storage", var id] && !post)
        {
            if (!Storages.TryGetValue(id, out var s))
            {
                await Fail(ctx, 500, $"storage '{id}' does not exist");
                return;
            }
            await Data(ctx, new { storage = id, type = s.Shared ? "nfs" : "dir", shared = s.Shared ? 1 : 0, content = s.Content, digest = "0" });
            return;
        }
        if (seg is ["nodes", var node, "tasks", var upid, "status"] && !post)
        {
            if (!_tasks.TryGetValue(upid, out var task))
            {
                await Fail(ctx, 500, "unable to parse worker upid");
                return;
            }
            _tasks[upid] = task with { Polls = task.Polls + 1 };
            if (task.Polls < RunningPolls)
            {
                await Data(ctx, new { status = "running", upid, node });
                return;
            }
            await Data(ctx, new { status = "stopped", exitstatus = ForceTaskExit ?? task.Exit, upid, node });
            return;
        }
        if (seg is ["nodes", var n, "storage", var st, var action] && Nodes.Contains(n) && Storages.ContainsKey(st))
        {
            switch (action, post)
            {
                case ("content", false):
                    await ListContent(ctx, n, st);
                    return;
                case ("status", false):
                {
                    var used = Storage(n, st).Values.Sum(v => (long)v.Length);
                    var avail = AvailOverride.TryGetValue(st, out var a) ? a : StorageTotal - used;
                    await Data(ctx, new { total = StorageTotal, used, avail, active = 1, enabled = 1, shared = Storages[st].Shared ? 1 : 0, content = Storages[st].Content, type = Storages[st].Shared ? "nfs" : "dir" });
                    return;
                }
                case ("upload", true):
                    await Upload(ctx, n, st);
                    return;
                case ("download-url", true):
                    await DownloadUrl(ctx, n, st);
                    return;
            }
        }
        await Fail(ctx, 501, $"Method '{ctx.Request.Method} {path}' not implemented");
    }

    private async Task ListContent(HttpContext ctx, string node, string storage)
    {
        var want = ctx.Request.Query["content"].ToString();
        var items = Storage(node, storage)
            .Where(f => want.Length == 0 || f.Key.StartsWith($"{storage}:{want}/", StringComparison.Ordinal))
            .Select(f => new { volid = f.Key, size = f.Value.LongLength, format = Path.GetExtension(f.Key).TrimStart('.'), ctime = 1763800000, content = want })
            .ToArray();
        await Data(ctx, items);
    }

    private async Task Upload(HttpContext ctx, string node, string storage)
    {
        if (ctx.Request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            await Fail(ctx, 501, "chunked transfer encoding not supported");
            return;
        }
        if (ctx.Request.ContentLength is null)
        {
            await Fail(ctx, 411, "missing content-length header");
            return;
        }
        var type = ctx.Request.ContentType ?? "";
        var b = type.IndexOf("boundary=", StringComparison.Ordinal);
        if (!type.StartsWith("multipart/form-data", StringComparison.Ordinal) || b < 0)
        {
            await Fail(ctx, 400, "missing boundary");
            return;
        }
        var boundary = type.Substring(b + "boundary=".Length).Trim('"');
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body);
        if (body.Length != ctx.Request.ContentLength)
        {
            await Fail(ctx, 400, "body shorter than content-length");
            return;
        }
        var parts = ParseMultipart(body.ToArray(), boundary);
        var names = parts.Select(p => p.Name).ToArray();
        UploadShapes.Enqueue((ctx.Request.ContentLength, names));
        if (!(names.SequenceEqual(new[] { "content", "checksum-algorithm", "checksum", "filename" }) || names.SequenceEqual(new[] { "content", "filename" })))
        {
            await Fail(ctx, 400, "multipart parts in wrong order: " + string.Join(",", names));
            return;
        }
        var fields = parts.Where(p => p.FileName is null).ToDictionary(p => p.Name, p => Encoding.UTF8.GetString(p.Data));
        var file = parts.Last();
        var content = fields["content"];
        var name = Normalise(file.FileName ?? "");
        var fail = CheckName(content, name, storage);
        if (fail is not null)
        {
            await Fail(ctx, 400, fail);
            return;
        }
        Interlocked.Increment(ref Uploads);
        var exit = "OK";
        if (fields.TryGetValue("checksum", out var expected))
        {
            var got = Convert.ToHexStringLower(SHA256.HashData(file.Data));
            if (!string.Equals(got, expected, StringComparison.OrdinalIgnoreCase))
            {
                exit = $"checksum mismatch: got '{got}' != expect '{expected}'";
            }
        }
        if (exit == "OK")
        {
            Storage(node, storage)[$"{storage}:{content}/{name}"] = file.Data; // Proxmox overwrites silently.
        }
        await Data(ctx, NewTask(node, "imgcopy", exit));
    }

    private async Task DownloadUrl(HttpContext ctx, string node, string storage)
    {
        var form = await ctx.Request.ReadFormAsync();
        string? F(string key) => form.TryGetValue(key, out var v) ? v.ToString() : null;
        var content = F("content") ?? "";
        var compression = F("compression");
        if (compression is not null && content != "iso")
        {
            await Fail(ctx, 400, "Parameter verification failed.", new { compression = "compression can only be used with content type 'iso'" });
            return;
        }
        if (compression is not (null or "gz" or "zst" or "lzo" or "bz2"))
        {
            await Fail(ctx, 400, "Parameter verification failed.", new { compression = "value is not a valid enum" });
            return;
        }
        var name = Normalise(F("filename") ?? "");
        var fail = CheckName(content, name, storage);
        if (fail is not null)
        {
            await Fail(ctx, 400, fail);
            return;
        }
        Interlocked.Increment(ref DownloadUrls);
        var files = Storage(node, storage);
        var volid = $"{storage}:{content}/{name}";
        var checksum = F("checksum");
        string exit;
        if (files.TryGetValue(volid, out var existing))
        {
            exit = checksum is null
                ? $"refusing to override existing file '/var/lib/vz/template/{content}/{name}'"
                : string.Equals(Convert.ToHexStringLower(SHA256.HashData(existing)), checksum, StringComparison.OrdinalIgnoreCase)
                    ? "OK"
                    : "checksum mismatch: got 'x' != expect '" + checksum + "', aborting";
        }
        else
        {
            using var http = new HttpClient();
            var data = await http.GetByteArrayAsync(F("url"));
            if (checksum is not null && !string.Equals(Convert.ToHexStringLower(SHA256.HashData(data)), checksum, StringComparison.OrdinalIgnoreCase))
            {
                exit = $"checksum mismatch: got '{Convert.ToHexStringLower(SHA256.HashData(data))}' != expect '{checksum}', aborting";
            }
            else
            {
                if (compression == "gz")
                {
                    using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
                    using var plain = new MemoryStream();
                    gz.CopyTo(plain);
                    data = plain.ToArray();
                }
                files[volid] = data;
                exit = "OK";
            }
        }
        await Data(ctx, NewTask(node, "download", exit));
    }

    private string? CheckName(string content, string name, string storage)
    {
        if (!Storages[storage].Content.Split(',').Contains(content))
        {
            return $"storage '{storage}' does not support content-type '{content}'";
        }
        var ok = content switch
        {
            "iso" => name.EndsWith(".iso", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".img", StringComparison.OrdinalIgnoreCase),
            "import" => new[] { ".raw", ".qcow2", ".vmdk", ".ova" }.Any(e => name.EndsWith(e, StringComparison.Ordinal)),
            _ => false,
        };
        return ok ? null : $"wrong file extension for content '{content}': '{name}'";
    }

    public static string Normalise(string name)
    {
        var s = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_').ToArray());
        return s.Length > 255 ? s.Substring(0, 255) : s;
    }

    private string NewTask(string node, string type, string exit)
    {
        var n = Interlocked.Increment(ref _taskCounter);
        var upid = $"UPID:{node}:{n:X8}:0000A1B2:6921F0{n:X2}:{type}:local:{TokenId}:";
        _tasks[upid] = (exit, 0);
        return upid;
    }

    private static async Task Data(HttpContext ctx, object data)
    {
        ctx.Response.ContentType = "application/json;charset=UTF-8";
        await ctx.Response.WriteAsync(JsonConvert.SerializeObject(new { data }));
    }

    /// <summary>Proxmox puts the error text in the status line and answers {"data": null} (with "errors" for parameters).</summary>
    private static async Task Fail(HttpContext ctx, int code, string reason, object? errors = null)
    {
        ctx.Response.StatusCode = code;
        ctx.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = reason;
        ctx.Response.ContentType = "application/json;charset=UTF-8";
        await ctx.Response.WriteAsync(JsonConvert.SerializeObject(new { data = (object?)null, errors }));
    }

    private sealed record Part(string Name, string? FileName, byte[] Data);

    private static List<Part> ParseMultipart(byte[] body, string boundary)
    {
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var parts = new List<Part>();
        var pos = IndexOf(body, delimiter, 0);
        while (pos >= 0)
        {
            var start = pos + delimiter.Length;
            if (start + 2 <= body.Length && body[start] == '-' && body[start + 1] == '-')
            {
                break; // closing delimiter
            }
            start += 2; // CRLF
            var headersEnd = IndexOf(body, "\r\n\r\n"u8.ToArray(), start);
            var headers = Encoding.ASCII.GetString(body, start, headersEnd - start);
            var dataStart = headersEnd + 4;
            var next = IndexOf(body, delimiter, dataStart);
            var data = body.AsSpan(dataStart, next - 2 - dataStart).ToArray(); // minus CRLF before the delimiter
            parts.Add(new Part(Attribute(headers, "name") ?? "", Attribute(headers, "filename"), data));
            pos = next;
        }
        return parts;
    }

    private static string? Attribute(string headers, string name)
    {
        var key = " " + name + "=\"";
        var i = headers.IndexOf(key, StringComparison.Ordinal);
        if (i < 0)
        {
            return null;
        }
        i += key.Length;
        return headers.Substring(i, headers.IndexOf('"', i) - i);
    }

    private static int IndexOf(byte[] haystack, byte[] needle, int from) =>
        from > haystack.Length ? -1 : haystack.AsSpan(from).IndexOf(needle) is var i and >= 0 ? i + from : -1;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }
}

/// <summary>A plain-HTTP loopback stand-in for the Image Factory that download-url fetches from.</summary>
public sealed class FakeFactory : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeFactory(WebApplication app) => _app = app;

    public ConcurrentDictionary<string, byte[]> Files { get; } = new();
    public int Requests;
    public Uri BaseUri { get; private set; } = null!;

    public static async Task<FakeFactory> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeFactory(app);
        app.Run(async ctx =>
        {
            Interlocked.Increment(ref fake.Requests);
            if (fake.Files.TryGetValue(ctx.Request.Path.Value ?? "", out var data))
            {
                ctx.Response.ContentLength = data.Length;
                await ctx.Response.Body.WriteAsync(data);
            }
            else
            {
                ctx.Response.StatusCode = 404;
            }
        });
        await app.StartAsync();
        fake.BaseUri = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
