using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;
using TalosImage.Tests.Publishing.Proxmox;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Issue 14, items 1 and 2: every byte read from a server has a deadline and a size bound. Hostile loopback servers
/// answer with headers and then a body that never arrives, a body trickled a byte at a time, or an error body far
/// larger than anything worth reading. Every response body goes through one bounded reader (<c>HttpBody</c>): an idle
/// read timeout, an overall deadline for API and error answers, the caller's cancellation, and a size cap.
/// </summary>
public sealed class HostileHttpTests : IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    /// <summary>Fails a test that would otherwise wait for a stalled server forever.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(10);

    private static readonly HttpOptions Short = new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(2),
        HeadersTimeout = TimeSpan.FromSeconds(5),
        ReadTimeout = TimeSpan.FromMilliseconds(400),
        AnswerTimeout = TimeSpan.FromSeconds(1),
        MaxAttempts = 1,
        BaseDelay = TimeSpan.FromMilliseconds(5),
        MaxDelay = TimeSpan.FromMilliseconds(20),
    };

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    /// <summary>Ends every stalled handler when the test is over, so no server waits on after it.</summary>
    private readonly CancellationTokenSource _stop = new();

    public HostileHttpTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _dir.Dispose();
    }

    /// <summary>Sends the status line and headers (a Content-Length of 1,000) and then nothing, until the client goes away.</summary>
    private async Task StallAfterHeaders(HttpContext ctx, int status, Action? headersSent = null)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = 1000;
        await ctx.Response.Body.WriteAsync(Encoding.ASCII.GetBytes("{"));
        await ctx.Response.Body.FlushAsync();
        headersSent?.Invoke();
        await Idle(ctx);
    }

    private async Task Idle(HttpContext ctx)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stop.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, both.Token);
        }
        catch (OperationCanceledException)
        {
        }
        ctx.Abort();
    }

    /// <summary>Sends <paramref name="body"/> one byte every <paramref name="every"/>: never silent for long, never done.</summary>
    private async Task Trickle(HttpContext ctx, string body, TimeSpan every)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = bytes.Length;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stop.Token);
        try
        {
            foreach (var b in bytes)
            {
                await ctx.Response.Body.WriteAsync(new[] { b }, both.Token);
                await ctx.Response.Body.FlushAsync(both.Token);
                await Task.Delay(every, both.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            ctx.Abort();
        }
    }

    private async Task<T> Guarded<T>(Task<T> task, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(HangGuard)) != task)
        {
            _stop.Cancel();
            throw new Xunit.Sdk.XunitException($"{what} was still waiting after {HangGuard.TotalSeconds:0} s");
        }
        return await task;
    }

    private async Task<Exception?> GuardedException(Func<Task> action, string what)
    {
        var task = Record.ExceptionAsync(action);
        return await Guarded(task, what);
    }

    private static ArtifactRequest ImageAt(string factoryUrl) => new()
    {
        SchematicId = Schematic,
        Version = "v1.11.5",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = "iso",
        FactoryUrl = factoryUrl,
    };

    [Fact]
    public async Task An_image_404_whose_body_never_arrives_fails_with_Http404_within_the_read_timeout()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => StallAfterHeaders(ctx, 404));
        var watch = Stopwatch.StartNew();
        var e = await GuardedException(() => new ArtifactDownloader(_dir.File("cache"), NullEngineEvents.Instance, Short)
            .SaveAsync(ImageAt(server.BaseUrl), new SaveOptions(), CancellationToken.None), "GET of a 404 whose body never arrives");
        var failure = Assert.IsType<TalosException>(e);
        _output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: {failure.ErrorId}: {failure.Message}");
        Assert.Equal("Http404", failure.ErrorId);
        Assert.Contains("answered 404", failure.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_schematics_400_whose_body_never_arrives_fails_with_Http400_within_the_read_timeout()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => StallAfterHeaders(ctx, 400));
        var watch = Stopwatch.StartNew();
        var e = await GuardedException(() => new FactoryClient(server.BaseUrl, Short).CreateSchematicAsync(new Schematic(), CancellationToken.None),
            "POST /schematics answered 400 with a body that never arrives");
        var failure = Assert.IsType<TalosException>(e);
        _output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: {failure.ErrorId}: {failure.Message}");
        Assert.Equal("Http400", failure.ErrorId);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Cancelling_a_schematics_POST_whose_error_body_never_arrives_stops_it_at_once()
    {
        var headers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackHttpServer.StartAsync(ctx => StallAfterHeaders(ctx, 400, () => headers.TrySetResult()));
        using var cancel = new CancellationTokenSource();
        var slow = Short with { ReadTimeout = TimeSpan.FromSeconds(60), AnswerTimeout = TimeSpan.FromSeconds(60) };
        var post = new FactoryClient(server.BaseUrl, slow).CreateSchematicAsync(new Schematic(), cancel.Token);
        await Guarded(headers.Task.ContinueWith(_ => 0), "the 400's headers");
        await Task.Delay(100);
        var watch = Stopwatch.StartNew();
        cancel.Cancel();
        var e = await GuardedException(() => post, "a cancelled POST /schematics");
        _output.WriteLine($"stopped {watch.Elapsed.TotalMilliseconds:0} ms after the cancellation: {e?.GetType().Name}");
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Ctrl_C_during_an_image_404_whose_body_never_arrives_stops_the_run_at_once_and_releases_the_cache_lock()
    {
        var headers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var factory = await FakeImageFactory.StartAsync();
        factory.Images = (_, _, _) => new byte[1024];
        factory.ImageFault = async (ctx, _) =>
        {
            await StallAfterHeaders(ctx, 404, () => headers.TrySetResult());
            return true;
        };
        var cache = _dir.File("cache");
        var config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {cache}
              lock_timeout: 5
            manifest:
              dir: {_dir.Path}/manifests
            """);
        var orders = _dir.Write("orders.yaml", """
            - orderid: STALL-1
              positions:
                - {name: iso, product: talos, version: v1.11.5, customization: {}}
            """);
        using var cancel = new CancellationTokenSource();
        var run = new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            // The idle timeout is long: only the cancellation can end this run in time.
            Http = FastHttp.Options with { ReadTimeout = TimeSpan.FromSeconds(60), AnswerTimeout = TimeSpan.FromSeconds(60) },
            Environment = n => n == OrderLoader.FactoryUrlVariable ? factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(cancel.Token);
        await Guarded(headers.Task.ContinueWith(_ => 0), "the image GET's 404 headers");
        await Task.Delay(100);
        var watch = Stopwatch.StartNew();
        cancel.Cancel();
        var e = await GuardedException(() => run, "a cancelled run stuck on a 404 body");
        _output.WriteLine($"stopped {watch.Elapsed.TotalMilliseconds:0} ms after Ctrl+C: {e?.GetType().Name}");
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        // The lock is free: another holder gets it at once.
        using (await CacheLock.AcquireAsync(cache, TimeSpan.FromMilliseconds(200), NullEngineEvents.Instance, CancellationToken.None))
        {
        }
    }

    [Fact]
    public async Task A_Proxmox_200_whose_body_stalls_fails_within_the_read_timeout()
    {
        using var certificate = FakeProxmox.CreateCertificate("pve1");
        await using var app = await StartHttpsAsync(certificate, ctx => StallAfterHeaders(ctx, 200));
        var fingerprint = string.Join(":", Convert.ToHexString(SHA256.HashData(certificate.RawData)).Chunk(2).Select(c => new string(c)));
        using var client = new ProxmoxApiClient(app.Endpoint, ProxmoxApiToken.Parse(FakeProxmox.Token), fingerprint, new ProxmoxOptions { Http = Short });
        var watch = Stopwatch.StartNew();
        var e = await GuardedException(() => client.GetStorageConfigAsync(new ProxmoxCall("Reading storage local", "pve1", "local", "Datastore.Audit"), CancellationToken.None),
            "a Proxmox 200 whose body stalls");
        var failure = Assert.IsType<TalosException>(e);
        _output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: {failure.ErrorId}: {failure.Message}");
        Assert.Equal("HttpTimeout", failure.ErrorId);
        Assert.Contains("no data received", failure.Message);
        Assert.DoesNotContain(FakeProxmox.Secret, failure.ToString());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("factory")]
    [InlineData("github")]
    public async Task A_version_list_trickled_a_byte_at_a_time_hits_the_answer_deadline(string source)
    {
        // Never silent for the read timeout (2 s), but 20 s for the whole answer: the 1 s answer deadline ends it.
        var body = "[" + string.Join(",", Enumerable.Range(0, 20).Select(i => $"\"v1.11.{i}\"")) + "]";
        await using var server = await LoopbackHttpServer.StartAsync(ctx => Trickle(ctx, body, TimeSpan.FromMilliseconds(100)));
        var trickled = Short with { ReadTimeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        var e = await GuardedException(() => source == "factory"
            ? new FactoryClient(server.BaseUrl, trickled).GetVersionsAsync(CancellationToken.None)
            : new GitHubVersionSource(server.BaseUrl, null, trickled).FetchAsync(null, NullEngineEvents.Instance, CancellationToken.None), $"a trickled {source} version list");
        var failure = Assert.IsType<TalosException>(e);
        _output.WriteLine($"{watch.Elapsed.TotalSeconds:0.00} s: {failure.ErrorId}: {failure.Message}");
        Assert.Equal("HttpTimeout", failure.ErrorId);
        Assert.Contains("not complete within 1.0s", failure.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_404_with_a_64_MiB_body_reads_only_a_few_KiB_and_fails_with_Http404()
    {
        // A raw socket server, not Kestrel: Kestrel drops writes silently once the client has gone, so only a socket
        // tells how much of the body the client really took (what it read plus the kernel's socket buffers).
        const long size = 64L << 20;
        long sent = 0;
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(_stop.Token);
            using var stream = new System.Net.Sockets.NetworkStream(socket);
            var request = new byte[8192];
            var have = 0;
            while (!Encoding.ASCII.GetString(request, 0, have).Contains("\r\n\r\n"))
            {
                have += await stream.ReadAsync(request.AsMemory(have), _stop.Token);
            }
            var head = Encoding.ASCII.GetBytes($"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n");
            await stream.WriteAsync(head, _stop.Token);
            var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
            try
            {
                while (sent < size)
                {
                    await stream.WriteAsync(chunk, _stop.Token);
                    Interlocked.Add(ref sent, chunk.Length);
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
            }
        });
        var e = await GuardedException(() => new ArtifactDownloader(_dir.File("cache"), NullEngineEvents.Instance, Short with { ReadTimeout = TimeSpan.FromSeconds(5) })
            .SaveAsync(ImageAt($"http://127.0.0.1:{port}"), new SaveOptions(), CancellationToken.None), "GET of a 404 with a 64 MiB body");
        var failure = Assert.IsType<TalosException>(e);
        await Task.WhenAny(server, Task.Delay(TimeSpan.FromSeconds(5)));
        var served = Interlocked.Read(ref sent);
        _output.WriteLine($"the server got {served:N0} of {size:N0} bytes onto the socket; {failure.ErrorId}: {failure.Message.Length} characters");
        Assert.Equal("Http404", failure.ErrorId);
        Assert.Contains("answered 404", failure.Message);
        Assert.True(failure.Message.Length < 1000, $"{failure.Message.Length} characters");
        // The client stopped after the cap and closed the connection: the server got the cap plus socket buffers out, not the body.
        Assert.True(served < 16L << 20, $"the server sent {served:N0} bytes of the 404's body");
    }

    [Fact]
    public async Task The_error_body_cap_is_an_option_and_bounds_the_message()
    {
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync("not here: " + new string('x', 300) + " TAIL-NEVER-READ");
        });
        var e = await GuardedException(() => new ArtifactDownloader(_dir.File("cache"), NullEngineEvents.Instance, Short with { MaxErrorBodyBytes = 100 })
            .SaveAsync(ImageAt(server.BaseUrl), new SaveOptions(), CancellationToken.None), "GET of a 404");
        var failure = Assert.IsType<TalosException>(e);
        _output.WriteLine($"{failure.ErrorId}: {failure.Message}");
        Assert.Equal("Http404", failure.ErrorId);
        Assert.Contains("answered 404 Not Found: not here: xxx", failure.Message);
        Assert.DoesNotContain("TAIL", failure.Message);
        Assert.EndsWith("...", failure.Message);
        Assert.True(failure.Message.Count(c => c == 'x') <= 100, failure.Message);
    }

    private sealed class HttpsApp : IAsyncDisposable
    {
        public required WebApplication App { get; init; }
        public required Uri Endpoint { get; init; }

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    private static async Task<HttpsApp> StartHttpsAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpsApp { App = app, Endpoint = new Uri(address) };
    }
}
