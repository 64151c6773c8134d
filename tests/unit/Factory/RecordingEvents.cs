using System.Collections.Concurrent;
using TalosImage.Core;
using TalosImage.Core.Http;

namespace TalosImage.Tests;

/// <summary>Engine events kept for assertions.</summary>
public sealed class RecordingEvents : IEngineEvents
{
    public ConcurrentQueue<string> Warnings { get; } = new();
    public ConcurrentQueue<string> Verbose { get; } = new();

    public void Progress(EngineProgress progress) { }
    void IEngineEvents.Verbose(string message) => Verbose.Enqueue(message);
    public void Warning(string message) => Warnings.Enqueue(message);
}

/// <summary>HTTP options that keep retries and timeouts short in tests.</summary>
public static class FastHttp
{
    public static HttpOptions Options { get; } = new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(2),
        HeadersTimeout = TimeSpan.FromSeconds(10),
        ReadTimeout = TimeSpan.FromSeconds(10),
        MaxAttempts = 3,
        BaseDelay = TimeSpan.FromMilliseconds(10),
        MaxDelay = TimeSpan.FromMilliseconds(50),
        MaxRetryAfter = TimeSpan.FromSeconds(5),
    };
}
