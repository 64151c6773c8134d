using System;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Cache;

/// <summary>
/// Who holds the cache lock (<see cref="CacheLock"/>) while a stage changes the cache. A cmdlet's stage takes it for
/// each call (<see cref="PerCall"/>); an order run holds it for all of its stages and passes
/// <see cref="HeldByCaller"/>, so the stages never take it twice. Every stage entry point (SaveStage, ExpandStage,
/// CacheCleaner) asks this, so no host decides it.
/// </summary>
public abstract class CacheAccess
{
    private CacheAccess()
    {
    }

    /// <summary>The stage takes the lock of the cache it writes for the length of each call, waiting up to <paramref name="timeout"/> (default <see cref="CacheLock.DefaultTimeout"/>).</summary>
    public static CacheAccess PerCall(TimeSpan? timeout = null) => new PerCallAccess(timeout ?? CacheLock.DefaultTimeout);

    /// <summary>The caller already holds the lock of every cache the stage writes (an order run).</summary>
    public static CacheAccess HeldByCaller { get; } = new HeldAccess();

    /// <summary>Holds the lock of <paramref name="cacheDir"/> until the result is disposed (nothing when the caller holds it).</summary>
    public abstract Task<IDisposable> EnterAsync(string cacheDir, IEngineEvents events, CancellationToken ct);

    private sealed class PerCallAccess : CacheAccess
    {
        private readonly TimeSpan _timeout;

        public PerCallAccess(TimeSpan timeout) => _timeout = timeout;

        public override async Task<IDisposable> EnterAsync(string cacheDir, IEngineEvents events, CancellationToken ct) =>
            await CacheLock.AcquireAsync(cacheDir, _timeout, events, ct).ConfigureAwait(false);
    }

    private sealed class HeldAccess : CacheAccess
    {
        public override Task<IDisposable> EnterAsync(string cacheDir, IEngineEvents events, CancellationToken ct) =>
            Task.FromResult<IDisposable>(Nothing.Instance);
    }

    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();

        public void Dispose()
        {
        }
    }
}
