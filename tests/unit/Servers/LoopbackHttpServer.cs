using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TalosImage.Tests.Servers;

/// <summary>
/// A real Kestrel server on 127.0.0.1 and a free port, for tests that need HTTP. Every request goes to
/// <c>handler</c>; the server stops when disposed. Nothing listens on any other address.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private LoopbackHttpServer(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:PORT (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = "";

    public Uri BaseUri => new(BaseUrl);

    /// <summary>Requests received so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public static async Task<LoopbackHttpServer> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var server = new LoopbackHttpServer(app);
        app.Run(ctx =>
        {
            Interlocked.Increment(ref server._requests);
            return handler(ctx);
        });
        await app.StartAsync();
        server.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
