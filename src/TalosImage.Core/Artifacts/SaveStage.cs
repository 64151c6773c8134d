using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Http;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// The download stage's one entry point, for Save-TalosImage and the order runner alike: <see cref="Plan"/> normalises
/// the request and decides the cache hit (a verified file is taken as it is, unless -Force or -Verify ask otherwise);
/// <see cref="RunAsync"/> returns the hit, or downloads under the cache lock as <see cref="CacheAccess"/> says.
/// </summary>
public sealed class SaveStage
{
    private readonly string _cacheDir;
    private readonly IEngineEvents _events;
    private readonly CacheAccess _access;

    public SaveStage(string cacheDir, IEngineEvents events, HttpOptions? http = null, CacheAccess? access = null)
    {
        // Every host's downloads are checked against the factory's checksum file where it serves one.
        Downloader = new ArtifactDownloader(cacheDir, events, http, factoryChecksums: true);
        _cacheDir = cacheDir;
        _events = events ?? NullEngineEvents.Instance;
        _access = access ?? CacheAccess.PerCall();
    }

    /// <summary>The downloader behind the stage (bytes downloaded, for a run's summary).</summary>
    public ArtifactDownloader Downloader { get; }

    /// <summary>What saving <paramref name="request"/> means: its cache path, and the cached artifact when that is the answer (nothing is read but the metadata).</summary>
    public SaveStep Plan(ArtifactRequest request, SaveOptions? options = null)
    {
        var r = request.Normalise();
        options ??= new SaveOptions();
        var cached = options.Force || options.Verify ? null : Downloader.TryGetCached(r);
        return new SaveStep(r, options, ArtifactDownloader.PathFor(_cacheDir, r.SchematicId, r.Version, r.Asset), cached);
    }

    /// <summary>
    /// The artifact of <paramref name="step"/>: the cache hit as planned, else downloaded (or verified) under the
    /// cache lock. <see cref="Saved.Shared"/> is true when this call joined a save of the same artifact already under way.
    /// </summary>
    public async Task<Saved> RunAsync(SaveStep step, CancellationToken ct)
    {
        if (step.Cached is { } cached)
        {
            _events.Verbose(ArtifactDownloader.CacheHitText(cached.Path, cached.Sha256));
            return new Saved(cached, Shared: false);
        }
        using var held = await _access.EnterAsync(_cacheDir, _events, ct).ConfigureAwait(false);
        var saving = Downloader.SaveAsync(step.Request, step.Options, ct, out var joined);
        return new Saved(await saving.ConfigureAwait(false), joined);
    }
}

/// <summary>A planned save: the normalised request, its options, its cache path and, for a cache hit, the cached artifact.</summary>
public sealed record SaveStep(ArtifactRequest Request, SaveOptions Options, string Path, TalosArtifact? Cached)
{
    /// <summary>What a run would do, for -WhatIf and -Confirm.</summary>
    public string Action => Options.Force ? $"Download {Request.Url} again"
        : Options.Verify ? $"Verify, and download {Request.Url} if missing or corrupt"
        : $"Download {Request.Url}";
}

/// <summary>A saved artifact; <paramref name="Shared"/> when another caller's transfer produced it (count its bytes once).</summary>
public sealed record Saved(TalosArtifact Artifact, bool Shared);
