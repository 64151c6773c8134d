// talosimage-testhost: the xunit suite's loopback servers in one process, for the Pester suite
// (tests/pester/TestHelpers.psm1: Start-TalosTestHost, Stop-TalosTestHost).
//
//   dotnet tests/TalosImage.TestHost/bin/<Config>/net10.0/talosimage-testhost.dll [--factory] [--proxmox] [--sshd]
//
// None given = all three:
//   --factory  FakeImageFactory (Kestrel, http) serving real images: an ISO of deterministic bytes, and small disk
//              images (4 MiB raw) as nocloud/metal-amd64.raw.xz and .raw.zst made by the real xz and zstd; apart from them
//              (factoryExtraAssets) nocloud-amd64.raw and the boot assets kernel-amd64, initramfs-amd64.xz,
//              cmdline-metal-amd64, metal-amd64-secureboot-uki.efi, installer-amd64.tar; /pxe/... scripts. The vanilla
//              schematic (empty customization) is created at start; others are created by POST /schematics as usual.
//   --proxmox  FakeProxmox (Kestrel, https, a self-signed certificate: pin proxmoxFingerprint), token auth.
//   --sshd     a real sshd (SshServerFixture: keys in a temp folder, a free high port; up to 3 attempts, each checked by
//              running `ssh ... true`). Without sshd, ssh, ssh-keygen or rsync: "ssh": null and "sshUnavailable" says why.
// Everything listens on 127.0.0.1 only; Kestrel takes port 0, so nothing collides with xunit or another test host.
//
// Once all is up it prints exactly ONE line of JSON on stdout (controlUrl, factory*, proxmox*, ssh, sshUnavailable),
// then serves until stdin closes, a line "stop" arrives, or SIGTERM/SIGINT; it then disposes every server, deletes
// its temp folders and exits 0. Startup failure: the reason on stderr, exit 1. Bad arguments: exit 2.
//
// The control endpoint (controlUrl, plain http on 127.0.0.1; answers JSON; 404 for unknown paths and for a server
// that was not started, 400 for a bad parameter):
//   GET  /factory/log                      {"requests":[{"method","path","query","conditional","authorized"}],"imageGets":N,"schematicPosts":N}
//                                          (conditional: an If-None-Match was sent; authorized: an Authorization header was, never its value)
//   POST /factory/reset                    clears the log, the delays and pending failures (created schematics stay)
//   POST /factory/delay?ms=N               every image GET waits N ms (0..600000) before it is answered; 0 = no delay
//   POST /factory/versions-delay?ms=N      every GET /versions waits N ms (0..600000): a run's planning waits for it
//   POST /factory/fail?status=S&count=N    the next N image GETs (0..1000) answer status S (400..599)
//   POST /factory/auth?basic=U:P           every factory request must carry Basic U:P (or ?bearer=TOKEN; neither: no
//        [&status=401|403]                 login); others get the status (default 401), echoing what was sent
//   POST /factory/checksums?mode=M         what <asset>.sha256/.sha512 answer: NotFound (default), PaymentRequired,
//                                          Sha256, Sha512, WrongSha256, WrongSha512, NotAChecksum
//   POST /factory/cdn?on=true|false        image GETs answer 302 to a second server on another port (the "CDN"); {"cdnUrl"}
//   GET  /factory/cdn/log                  {"requests":[{"method","path","authorized"}]} of the CDN
//   (reset also clears the login, the checksum mode, the CDN redirect and the CDN's log; imageGets counts no checksum file)
//   GET  /proxmox/log                      {"requests":["GET /api2/json/..."],"uploads":N,"downloadUrls":N}
//   GET  /proxmox/files                    [{"node","storage","volid","size","sha256"}] (node "*" on a shared storage)
//   GET  /proxmox/vms                      [{"vmid","node","name","template","config"}] (the fake's VMs and templates)
//   POST /proxmox/vms                      {"vmid","node","name"}: adds a VM that is not TalosImage's
//   POST /proxmox/reset                    clears the log, the stored files, the VMs and the counters (and what the lines below set)
//   POST /proxmox/avail?storage=S&bytes=N  the storage's status reports N bytes available (-1: computed again)
//   POST /proxmox/file?node=N&storage=S&volid=V&size=N  stores a volume of N zero bytes (node ignored on a shared storage)
//   POST /proxmox/vm?vmid=N&node=X&name=Y&template=0|1&key=K&value=V  a VM or template whose configuration has K: V
//   GET  /proxmox/deleted                  ["volid", ...] removed through DELETE .../content/{volume}, in order
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TalosImage.Tests;
using TalosImage.Tests.Publishing.Proxmox;
using TalosImage.Tests.Servers;

namespace TalosImage.TestHost;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        bool factory = false, proxmox = false, sshd = false;
        foreach (var arg in args)
        {
            switch (arg)
            {
                case "--factory":
                    factory = true;
                    break;
                case "--proxmox":
                    proxmox = true;
                    break;
                case "--sshd":
                    sshd = true;
                    break;
                default:
                    Console.Error.WriteLine($"talosimage-testhost: unknown argument '{arg}'; usage: talosimage-testhost [--factory] [--proxmox] [--sshd]");
                    return 2;
            }
        }
        if (!factory && !proxmox && !sshd)
        {
            factory = proxmox = sshd = true;
        }

        await using var host = new TestServers();
        string description;
        try
        {
            await host.StartAsync(factory, proxmox, sshd);
            description = host.Describe();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("talosimage-testhost: could not start: " + e);
            return 1;
        }
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        var stdin = new Thread(() =>
        {
            try
            {
                string? line;
                while ((line = Console.In.ReadLine()) is not null && line.Trim() != "stop")
                {
                }
            }
            catch (IOException)
            {
            }
            stop.TrySetResult();
        }) { IsBackground = true, Name = "stdin" };
        Console.Out.WriteLine(description);
        Console.Out.Flush();
        stdin.Start();
        await stop.Task;
        return 0;
    }
}

/// <summary>The servers asked for, the control endpoint over them, and the JSON that describes them.</summary>
public sealed class TestServers : IAsyncDisposable
{
    private const string ProxmoxStorage = "local";
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _stopping = new();
    private readonly List<ImageInfo> _images = new();
    /// <summary>The uncompressed raw and the boot assets (kernel, initramfs, cmdline, uki, installer), listed apart from the ISOs and compressed disk images.</summary>
    private readonly List<ImageInfo> _extraAssets = new();
    private LoopbackHttpServer? _control;
    private FakeImageFactory? _factory;
    private string? _schematicId;
    private FakeProxmox? _proxmox;
    private SshServerFixture? _sshd;
    private string? _remoteRoot;
    private string? _sshUnavailable = "not started (--sshd was not given)";
    private int _delayMs;
    private int _failStatus = 500;
    private int _failCount;

    private sealed record ImageInfo(string Asset, byte[] Bytes, string Sha256, long? RawSize, string? RawSha256);

    public async Task StartAsync(bool factory, bool proxmox, bool sshd)
    {
        if (factory)
        {
            await StartFactoryAsync();
        }
        if (proxmox)
        {
            // local-lvm: where VM templates import their disk (New-TalosVMTemplate).
            _proxmox = await FakeProxmox.StartAsync(f => f.Storages["local-lvm"] = (false, "images,rootdir")).WaitAsync(StepTimeout);
        }
        if (sshd)
        {
            await StartSshdAsync();
        }
        _control = await LoopbackHttpServer.StartAsync(HandleControlAsync).WaitAsync(StepTimeout);
    }

    private async Task StartFactoryAsync()
    {
        var iso = Pattern(1024 * 1024, seed: 7001);
        var nocloud = DiskImage(seed: 7002);
        var metal = DiskImage(seed: 7003);
        var compressed = await Task.WhenAll(
            Task.Run(() => TestImages.CompressAsync(nocloud, zstdLevel: 3)),
            Task.Run(() => TestImages.CompressAsync(metal, zstdLevel: 3))).WaitAsync(TimeSpan.FromSeconds(60));
        _images.Add(Image("metal-amd64.iso", iso, null));
        _images.Add(Image("nocloud-amd64.iso", iso, null));
        _images.Add(Image("nocloud-amd64.raw.xz", compressed[0].Xz, nocloud));
        _images.Add(Image("nocloud-amd64.raw.zst", compressed[0].Zst, nocloud));
        _images.Add(Image("metal-amd64.raw.xz", compressed[1].Xz, metal));
        _images.Add(Image("metal-amd64.raw.zst", compressed[1].Zst, metal));
        // The uncompressed disk image and the boot assets (small deterministic bytes; the iPXE script is rendered by the fake).
        _extraAssets.Add(Image("nocloud-amd64.raw", nocloud, null));
        _extraAssets.Add(Image("kernel-amd64", Pattern(64 * 1024, seed: 7004), null));
        _extraAssets.Add(Image("initramfs-amd64.xz", Pattern(96 * 1024, seed: 7005), null));
        _extraAssets.Add(Image("cmdline-metal-amd64", Encoding.ASCII.GetBytes("talos.platform=metal console=ttyS0\n"), null));
        _extraAssets.Add(Image("metal-amd64-secureboot-uki.efi", Pattern(80 * 1024, seed: 7006), null));
        _extraAssets.Add(Image("installer-amd64.tar", Pattern(128 * 1024, seed: 7007), null));

        _factory = await FakeImageFactory.StartAsync().WaitAsync(StepTimeout);
        _factory.Images = (_, _, asset) => _images.Concat(_extraAssets).FirstOrDefault(i => i.Asset == asset)?.Bytes;
        _factory.ImageFault = ImageFaultAsync;
        // GitHub releases of the same versions (GET /repos/siderolabs/talos/releases), for Resolve-TalosVersion -Source GitHub.
        _factory.Releases = FakeImageFactory.ReleasesOf(_factory.Versions.ToArray());

        // The vanilla schematic, created as a client would, so /image/<its id>/... answers at once.
        using var http = new HttpClient { Timeout = StepTimeout };
        using var response = await http.PostAsync(_factory.BaseUrl + "/schematics", new StringContent("customization: {}\n", Encoding.UTF8, "application/yaml"));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"the fake factory refused the vanilla schematic: {(int)response.StatusCode} {body}");
        }
        _schematicId = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString();
        _factory.Log.Clear();
    }

    private static ImageInfo Image(string asset, byte[] bytes, byte[]? raw) =>
        new(asset, bytes, Sha256(bytes), raw?.LongLength, raw is null ? null : Sha256(raw));

    /// <summary>Deterministic bytes: the same seed gives the same file on every run.</summary>
    private static byte[] Pattern(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A 4 MiB disk image: zeros (sparse when expanded), 512 KiB of noise at 1 MiB, text at 3 MiB.</summary>
    private static byte[] DiskImage(int seed)
    {
        var raw = new byte[4 * 1024 * 1024];
        Pattern(512 * 1024, seed).CopyTo(raw, 1024 * 1024);
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"talos test host disk {seed} ", 4000))).CopyTo(raw, 3 * 1024 * 1024);
        return raw;
    }

    private async Task StartSshdAsync()
    {
        _sshUnavailable = SshServerFixture.MissingTools();
        if (_sshUnavailable is not null)
        {
            return;
        }
        var failures = new List<string>();
        for (var attempt = 1; attempt <= 3 && _sshd is null; attempt++)
        {
            SshServerFixture fixture;
            try
            {
                fixture = new SshServerFixture();
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                failures.Add($"attempt {attempt}: {e.Message}");
                continue;
            }
            var probe = await ProbeAsync(fixture);
            if (probe is null)
            {
                _sshd = fixture;
            }
            else
            {
                failures.Add($"attempt {attempt}: port {fixture.Port}: {probe}");
                fixture.Dispose();
            }
        }
        if (_sshd is null)
        {
            throw new InvalidOperationException("sshd did not start:\n" + string.Join("\n", failures));
        }
        _remoteRoot = _sshd.NewFolder("remote");
    }

    /// <summary>Runs <c>ssh OPTIONS user@127.0.0.1 true</c>: null when it worked, else why not.</summary>
    private static async Task<string?> ProbeAsync(SshServerFixture fixture)
    {
        var args = fixture.SshOptions.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Concat(new[] { "-n", "-o", "ConnectTimeout=10", fixture.Host, "true" });
        ChildResult ssh;
        try
        {
            ssh = await ChildProcess.RunAsync("ssh", args, new ChildOptions { Timeout = StepTimeout });
        }
        catch (TimeoutException)
        {
            return "ssh did not finish in " + StepTimeout.TotalSeconds + " s";
        }
        return ssh.ExitCode == 0 ? null : $"ssh exited with {ssh.ExitCode}: {ssh.Stderr.Trim()} {fixture.Log.Trim()}";
    }

    /// <summary>The one line of JSON that tells a test everything it needs.</summary>
    public string Describe() => JsonSerializer.Serialize(new
    {
        controlUrl = _control!.BaseUrl,
        factoryUrl = _factory?.BaseUrl,
        factorySchematicId = _schematicId,
        factoryVersions = _factory?.Versions,
        factoryExtensions = _factory?.Extensions.Select(e => e.Name).ToArray(),
        factoryOverlays = _factory?.Overlays.Select(o => new { name = o.Name, image = o.Image }).ToArray(),
        factoryImages = _factory is null ? null : _images.Select(i => new { asset = i.Asset, size = i.Bytes.LongLength, sha256 = i.Sha256, rawSize = i.RawSize, rawSha256 = i.RawSha256 }).ToArray(),
        factoryExtraAssets = _factory is null ? null : _extraAssets.Select(i => new { asset = i.Asset, size = i.Bytes.LongLength, sha256 = i.Sha256 }).ToArray(),
        proxmoxUri = _proxmox?.Endpoint.ToString(),
        proxmoxTokenId = _proxmox is null ? null : FakeProxmox.TokenId,
        proxmoxSecret = _proxmox is null ? null : FakeProxmox.Secret,
        proxmoxToken = _proxmox is null ? null : FakeProxmox.Token,
        proxmoxFingerprint = _proxmox?.Fingerprint,
        proxmoxNodes = _proxmox?.Nodes,
        proxmoxStorage = _proxmox is null ? null : ProxmoxStorage,
        ssh = _sshd is null ? null : new
        {
            host = "127.0.0.1",
            user = Environment.UserName,
            target = _sshd.Host,
            port = _sshd.Port,
            sshOptions = _sshd.SshOptions,
            keyPath = _sshd.KeyPath,
            knownHostsPath = _sshd.KnownHostsPath,
            remoteRoot = _remoteRoot,
        },
        sshUnavailable = _sshUnavailable,
    });

    /// <summary>The control endpoint's faults for image GETs: first the delay, then a pending failure.</summary>
    private async Task<bool> ImageFaultAsync(HttpContext ctx, byte[] bytes)
    {
        var delay = Volatile.Read(ref _delayMs);
        if (delay > 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(delay, wait.Token);
            }
            catch (OperationCanceledException)
            {
                ctx.Abort();
                return true;
            }
        }
        if (TakeFailure())
        {
            ctx.Response.StatusCode = Volatile.Read(ref _failStatus);
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("failure injected by talosimage-testhost\n");
            return true;
        }
        return false;
    }

    /// <summary>True (and one fewer pending) when a failure is pending.</summary>
    private bool TakeFailure()
    {
        while (true)
        {
            var pending = Volatile.Read(ref _failCount);
            if (pending <= 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _failCount, pending - 1, pending) == pending)
            {
                return true;
            }
        }
    }

    private static bool IsChecksum(string path) => path.EndsWith(".sha256", StringComparison.Ordinal) || path.EndsWith(".sha512", StringComparison.Ordinal);

    private async Task HandleControlAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        var get = HttpMethods.IsGet(ctx.Request.Method);
        var post = HttpMethods.IsPost(ctx.Request.Method);
        if (path.StartsWith("/factory/", StringComparison.Ordinal) && _factory is { } factory)
        {
            switch (path, get, post)
            {
                case ("/factory/log", true, _):
                    var seen = factory.Log.ToArray();
                    await Json(ctx, 200, new
                    {
                        requests = seen.Select(s => new { method = s.Method, path = s.Path, query = s.Query, conditional = s.IfNoneMatch is not null, authorized = s.Authorization is not null }).ToArray(),
                        imageGets = seen.Count(s => s.Method == "GET" && s.Path.StartsWith("/image/", StringComparison.Ordinal) && !IsChecksum(s.Path)),
                        checksumGets = seen.Count(s => s.Method == "GET" && s.Path.StartsWith("/image/", StringComparison.Ordinal) && IsChecksum(s.Path)),
                        schematicPosts = seen.Count(s => s.Method == "POST" && s.Path == "/schematics"),
                    });
                    return;
                case ("/factory/reset", _, true):
                    Interlocked.Exchange(ref _delayMs, 0);
                    factory.VersionsDelay = TimeSpan.Zero;
                    Interlocked.Exchange(ref _failCount, 0);
                    factory.Log.Clear();
                    factory.RequiredAuthorization = null;
                    factory.AuthFailureStatus = 401;
                    factory.Checksums = FakeImageFactory.ChecksumMode.NotFound;
                    factory.RedirectToCdn = false;
                    factory.CdnLog.Clear();
                    await Json(ctx, 200, new { reset = true });
                    return;
                case ("/factory/auth", _, true):
                    var basic = ctx.Request.Query["basic"].ToString();
                    var bearer = ctx.Request.Query["bearer"].ToString();
                    var authStatus = ctx.Request.Query.ContainsKey("status") ? Number(ctx, "status", 401, 403) : 401;
                    if (authStatus is not (401 or 403) || (basic.Length > 0 && !basic.Contains(':')))
                    {
                        await Json(ctx, 400, new { error = "basic=USER:PASSWORD or bearer=TOKEN, status 401 or 403" });
                        return;
                    }
                    factory.RequiredAuthorization = basic.Length > 0
                        ? FakeImageFactory.BasicHeader(basic[..basic.IndexOf(':')], basic[(basic.IndexOf(':') + 1)..])
                        : bearer.Length > 0 ? "Bearer " + bearer : null;
                    factory.AuthFailureStatus = authStatus.Value;
                    await Json(ctx, 200, new { login = factory.RequiredAuthorization is not null, status = authStatus });
                    return;
                case ("/factory/checksums", _, true):
                    if (!Enum.TryParse<FakeImageFactory.ChecksumMode>(ctx.Request.Query["mode"].ToString(), ignoreCase: true, out var mode))
                    {
                        await Json(ctx, 400, new { error = "mode must be one of " + string.Join(", ", Enum.GetNames<FakeImageFactory.ChecksumMode>()) });
                        return;
                    }
                    factory.Checksums = mode;
                    await Json(ctx, 200, new { mode = mode.ToString() });
                    return;
                case ("/factory/cdn", _, true):
                    var on = string.Equals(ctx.Request.Query["on"].ToString(), "true", StringComparison.OrdinalIgnoreCase);
                    var cdnUrl = await factory.StartCdnAsync();
                    factory.RedirectToCdn = on;
                    await Json(ctx, 200, new { cdnUrl, on });
                    return;
                case ("/factory/cdn/log", true, _):
                    await Json(ctx, 200, new { requests = factory.CdnLog.ToArray().Select(c => new { method = c.Method, path = c.Path, authorized = c.Authorization is not null }).ToArray() });
                    return;
                case ("/factory/delay", _, true):
                    if (Number(ctx, "ms", 0, 600_000) is not { } ms)
                    {
                        await Json(ctx, 400, new { error = "ms must be a whole number from 0 to 600000" });
                        return;
                    }
                    Interlocked.Exchange(ref _delayMs, ms);
                    await Json(ctx, 200, new { delayMs = ms });
                    return;
                case ("/factory/versions-delay", _, true):
                    if (Number(ctx, "ms", 0, 600_000) is not { } versionsMs)
                    {
                        await Json(ctx, 400, new { error = "ms must be a whole number from 0 to 600000" });
                        return;
                    }
                    factory.VersionsDelay = TimeSpan.FromMilliseconds(versionsMs);
                    await Json(ctx, 200, new { versionsDelayMs = versionsMs });
                    return;
                case ("/factory/fail", _, true):
                    if (Number(ctx, "status", 400, 599) is not { } status || Number(ctx, "count", 0, 1000) is not { } count)
                    {
                        await Json(ctx, 400, new { error = "status must be 400..599 and count 0..1000" });
                        return;
                    }
                    Interlocked.Exchange(ref _failStatus, status);
                    Interlocked.Exchange(ref _failCount, count);
                    await Json(ctx, 200, new { status, count });
                    return;
            }
        }
        else if (path.StartsWith("/proxmox/", StringComparison.Ordinal) && _proxmox is { } pve)
        {
            switch (path, get, post)
            {
                case ("/proxmox/log", true, _):
                    await Json(ctx, 200, new { requests = pve.Log.ToArray(), uploads = Volatile.Read(ref pve.Uploads), downloadUrls = Volatile.Read(ref pve.DownloadUrls) });
                    return;
                case ("/proxmox/files", true, _):
                    var files = pve.Files.ToArray().SelectMany(store => store.Value.ToArray().Select(f => new
                    {
                        node = store.Key.Split('/')[0],
                        storage = store.Key.Split('/')[1],
                        volid = f.Key,
                        size = f.Value.LongLength,
                        sha256 = Sha256(f.Value),
                    })).OrderBy(f => f.node, StringComparer.Ordinal).ThenBy(f => f.volid, StringComparer.Ordinal).ToArray();
                    await Json(ctx, 200, files);
                    return;
                case ("/proxmox/vms", true, _):
                    await Json(ctx, 200, pve.Vms.ToArray().OrderBy(v => v.Key).Select(v => new
                    {
                        vmid = v.Key,
                        node = v.Value.Node,
                        name = v.Value.Name,
                        template = v.Value.Template,
                        config = v.Value.Config.ToDictionary(c => c.Key, c => c.Value),
                    }).ToArray());
                    return;
                case ("/proxmox/vms", _, true):
                    // A VM that is not TalosImage's: {"vmid": 9000, "node": "pve1", "name": "db"}.
                    var vmBody = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
                    using (var vmJson = JsonDocument.Parse(vmBody))
                    {
                        var vmRoot = vmJson.RootElement;
                        var vmId = vmRoot.GetProperty("vmid").GetInt32();
                        pve.AddVm(vmId, vmRoot.TryGetProperty("node", out var vmNode) ? vmNode.GetString() ?? "pve1" : "pve1",
                            vmRoot.TryGetProperty("name", out var vmName) ? vmName.GetString() ?? "vm" : "vm");
                        await Json(ctx, 200, new { added = vmId });
                    }
                    return;
                case ("/proxmox/avail", _, true):
                {
                    var storage = ctx.Request.Query["storage"].ToString();
                    if (!pve.Storages.ContainsKey(storage) || !long.TryParse(ctx.Request.Query["bytes"].ToString(), out var bytes))
                    {
                        await Json(ctx, 400, new { error = "storage and bytes are needed" });
                        return;
                    }
                    if (bytes < 0)
                    {
                        pve.AvailOverride.TryRemove(storage, out _);
                    }
                    else
                    {
                        pve.AvailOverride[storage] = bytes;
                    }
                    await Json(ctx, 200, new { storage, avail = bytes });
                    return;
                }
                case ("/proxmox/file", _, true):
                {
                    var storage = ctx.Request.Query["storage"].ToString();
                    var node = ctx.Request.Query["node"].ToString();
                    var volid = ctx.Request.Query["volid"].ToString();
                    if (!pve.Storages.ContainsKey(storage) || !pve.Nodes.Contains(node) || !volid.StartsWith(storage + ":", StringComparison.Ordinal) || Number(ctx, "size", 0, 1 << 26) is not { } size)
                    {
                        await Json(ctx, 400, new { error = "node, storage, volid (storage:content/name) and size are needed" });
                        return;
                    }
                    pve.Storage(node, storage)[volid] = new byte[size];
                    await Json(ctx, 200, new { volid, size });
                    return;
                }
                case ("/proxmox/vm", _, true):
                {
                    var node = ctx.Request.Query["node"].ToString();
                    var key = ctx.Request.Query["key"].ToString();
                    if (Number(ctx, "vmid", 100, 999999999) is not { } vmid || !pve.Nodes.Contains(node) || key.Length == 0)
                    {
                        await Json(ctx, 400, new { error = "vmid, node and key are needed" });
                        return;
                    }
                    pve.AddVm(vmid, node, ctx.Request.Query["name"].ToString(), ctx.Request.Query["template"].ToString() == "1",
                        new Dictionary<string, string> { [key] = ctx.Request.Query["value"].ToString() });
                    await Json(ctx, 200, new { vmid });
                    return;
                }
                case ("/proxmox/deleted", true, _):
                    await Json(ctx, 200, pve.Deleted.ToArray());
                    return;
                case ("/proxmox/reset", _, true):
                    pve.AvailOverride.Clear();
                    pve.Deleted.Clear();
                    pve.Log.Clear();
                    pve.Files.Clear();
                    pve.Vms.Clear();
                    pve.QemuCreates.Clear();
                    pve.UploadShapes.Clear();
                    Interlocked.Exchange(ref pve.Uploads, 0);
                    Interlocked.Exchange(ref pve.DownloadUrls, 0);
                    Interlocked.Exchange(ref pve.Requests, 0);
                    await Json(ctx, 200, new { reset = true });
                    return;
            }
        }
        await Json(ctx, 404, new { error = $"no {ctx.Request.Method} {path} here (see the header of tests/TalosImage.TestHost/Program.cs)" });
    }

    private static int? Number(HttpContext ctx, string name, int min, int max) =>
        int.TryParse(ctx.Request.Query[name].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n : null;

    private static Task Json(HttpContext ctx, int status, object value)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        return ctx.Response.WriteAsync(JsonSerializer.Serialize(value));
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await Quietly(_control);
        await Quietly(_factory);
        await Quietly(_proxmox);
        _sshd?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Stops a server within 10 s; a failure to stop is reported on stderr and does not stop the others.</summary>
    private static async Task Quietly(IAsyncDisposable? server)
    {
        if (server is null)
        {
            return;
        }
        try
        {
            await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"talosimage-testhost: stopping {server.GetType().Name}: {e.Message}");
        }
    }
}
