using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// Downloads factory assets into the verified cache (<c>&lt;cache&gt;/artifacts/&lt;schematic&gt;/&lt;version&gt;/&lt;asset&gt;</c>).
/// The body is streamed to <c>&lt;file&gt;.part</c> and hashed in the same pass; the file gets its final name only
/// when every announced byte arrived and its metadata is written (metadata first, so a final name always has a record). A broken transfer is retried (resumed with
/// Range and If-Range where the answering server, e.g. a CDN behind a redirect, accepts ranges and gave a strong validator; restarted otherwise).
/// Nothing planted in the cache (a link, a FIFO) is followed: see <see cref="CacheFiles"/>.
/// Concurrent requests for one artifact in this process share one download. Callers that share a cache across
/// processes hold a <see cref="CacheLock"/>.
/// </summary>
public sealed class ArtifactDownloader
{
    private static int _nextActivityId = 41000;

    private readonly string _cacheDir;
    private readonly IEngineEvents _events;
    private readonly HttpOptions _http;
    private readonly ConcurrentDictionary<string, Lazy<Task<TalosArtifact>>> _inflight = new(StringComparer.Ordinal);
    private long _bytesDownloaded;
    private readonly bool _factoryChecksums;

    /// <summary>
    /// A downloader into <paramref name="cacheDir"/>. <paramref name="factoryChecksums"/>: ask the factory for the
    /// asset's <c>.sha256</c> / <c>.sha512</c> after each download and verify against it (<see cref="FactoryChecksum"/>);
    /// <see cref="SaveStage"/>, the stage every host goes through, turns it on. Off, the downloader makes exactly the
    /// requests of the transfer itself (the transfer-mechanics tests count them) and records <see cref="HashSource.Local"/>.
    /// </summary>
    public ArtifactDownloader(string cacheDir, IEngineEvents events, HttpOptions? http = null, bool factoryChecksums = false)
    {
        if (string.IsNullOrWhiteSpace(cacheDir))
        {
            throw new TalosException(TalosErrors.InvalidCacheDirectory, "The cache directory is empty.");
        }
        _cacheDir = Path.GetFullPath(cacheDir);
        _events = events ?? NullEngineEvents.Instance;
        _http = http ?? HttpOptions.Default;
        _factoryChecksums = factoryChecksums;
    }

    /// <summary>Bytes received from servers by this instance (resumed prefixes are not counted twice).</summary>
    public long BytesDownloaded => Interlocked.Read(ref _bytesDownloaded);

    /// <summary><c>&lt;cache&gt;/artifacts/&lt;schematic&gt;/&lt;version&gt;/&lt;asset&gt;</c></summary>
    public static string PathFor(string cacheDir, string schematicId, string version, string asset) =>
        CachePaths.ArtifactPath(cacheDir, schematicId, version, asset);

    /// <summary>The verbose line of a cache hit decided by the metadata (no bytes read).</summary>
    internal static string CacheHitText(string path, string sha256) => $"{path}: in the cache (size and mtime as recorded, sha256 {sha256}).";

    /// <summary>The cached artifact when its metadata matches the file (no bytes read), else null. For -WhatIf.</summary>
    public TalosArtifact? TryGetCached(ArtifactRequest request)
    {
        var r = request.Normalise();
        var path = PathFor(_cacheDir, r.SchematicId, r.Version, r.Asset);
        var meta = ArtifactMetadata.TryRead(path);
        return meta is not null && meta.Matches(path) ? Result(r, path, meta.Sha256, meta.Size, fromCache: true, Stopwatch.StartNew(), RecordedHashSource(meta)) : null;
    }

    /// <summary>
    /// The artifact in the cache: taken from it when its metadata matches (FromCache, no bytes read; with
    /// <see cref="SaveOptions.Verify"/> re-hashed first), downloaded otherwise. Concurrent calls for the same artifact
    /// share one task (and so the first caller's options and cancellation).
    /// </summary>
    public Task<TalosArtifact> SaveAsync(ArtifactRequest request, SaveOptions options, CancellationToken ct) => SaveAsync(request, options, ct, out _);

    /// <summary>
    /// <see cref="SaveAsync(ArtifactRequest, SaveOptions, CancellationToken)"/>; <paramref name="joined"/> is true when
    /// this call joined a save of the same artifact already under way (its result is that save's: a caller that counts
    /// bytes downloaded counts them for the call that started the transfer only).
    /// </summary>
    public Task<TalosArtifact> SaveAsync(ArtifactRequest request, SaveOptions options, CancellationToken ct, out bool joined)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }
        var r = request.Normalise();
        options ??= new SaveOptions();
        var path = PathFor(_cacheDir, r.SchematicId, r.Version, r.Asset);
        var key = Path.DirectorySeparatorChar == '\\' ? path.ToLowerInvariant() : path;
        Lazy<Task<TalosArtifact>>? mine = null;
        mine = new Lazy<Task<TalosArtifact>>(() => RunAndForgetAsync(key, mine!, r, options, path, ct));
        var entry = _inflight.GetOrAdd(key, mine);
        joined = !ReferenceEquals(entry, mine);
        return entry.Value;
    }

    private async Task<TalosArtifact> RunAndForgetAsync(string key, Lazy<Task<TalosArtifact>> entry, ArtifactRequest r, SaveOptions options, string path, CancellationToken ct)
    {
        try
        {
            await Task.Yield();
            return await SaveCoreAsync(r, options, path, ct).ConfigureAwait(false);
        }
        finally
        {
            ((ICollection<KeyValuePair<string, Lazy<Task<TalosArtifact>>>>)_inflight).Remove(new KeyValuePair<string, Lazy<Task<TalosArtifact>>>(key, entry));
        }
    }

    private async Task<TalosArtifact> SaveCoreAsync(ArtifactRequest r, SaveOptions options, string path, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var url = r.Url;
        var shown = HttpPipeline.Redact(new Uri(url));
        var progress = new TransferProgress(_events, Interlocked.Increment(ref _nextActivityId), $"Save-TalosImage {r.Version} {r.Asset}");
        RefusePlanted(path);

        if (!options.Force)
        {
            var cached = ArtifactMetadata.TryRead(path);
            if (cached is not null && cached.Matches(path))
            {
                if (!options.Verify)
                {
                    _events.Verbose(CacheHitText(path, cached.Sha256));
                    return Result(r, path, cached.Sha256, cached.Size, fromCache: true, clock, RecordedHashSource(cached));
                }
                progress.Start("Verifying");
                var actual = await FileHash.Sha256Async(path, done => progress.Report(done, cached.Size), ct).ConfigureAwait(false);
                progress.Complete();
                if (string.Equals(actual, cached.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    _events.Verbose($"{path}: verified (sha256 {actual}).");
                    RestoreSideFiles(r, path, cached, actual);
                    return Result(r, path, actual, cached.Size, fromCache: true, clock, RecordedHashSource(cached));
                }
                _events.Warning($"{path} is corrupt: sha256 {actual}, recorded {cached.Sha256}. Deleting it and downloading again.");
                Discard(path);
            }
            else if (File.Exists(path))
            {
                _events.Verbose($"{path}: " + (cached is null ? "no metadata" : "changed since it was recorded") + "; downloading again.");
                Discard(path);
            }
        }
        else
        {
            _events.Verbose($"{path}: -Force, downloading again.");
        }

        var created = CreateFolders(Path.GetDirectoryName(path)!);
        _events.Verbose($"GET {shown} -> {path}");
        string sha;
        long size;
        HashSource hashSource;
        var observer = options.Observer;
        var overlapped = false;
        try
        {
            (sha, size) = await DownloadAsync(url, path, progress, observer, ct).ConfigureAwait(false);
            // The verify-before-final-name point: the body is complete, its length as announced and its SHA-256
            // known. The factory's checksum, where it serves one, is checked here; whatever fails leaves neither the
            // download nor its overlapped expansion (the observer's catch below).
            // The factory serves checksums beside its images (/image/...); an iPXE script comes from the PXE host, which has none.
            hashSource = r.Format == "pxe" ? HashSource.Local : await CheckFactoryChecksumAsync(url, r.Asset, path, sha, shown, ct).ConfigureAwait(false);
            // Then the expansion that took the body as it arrived finishes under its temporary name.
            overlapped = observer is not null && await observer.FinishAsync(sha, size, ct).ConfigureAwait(false);
        }
        catch
        {
            observer?.Abandon("the download failed");
            RemoveEmptyFolders(created);
            throw;
        }
        var meta = Metadata(r, url, sha, DateTimeOffset.UtcNow, hashSource.Word());
        try
        {
            Record(meta, path);
        }
        catch
        {
            observer?.Abandon("the download could not be recorded");
            RemoveEmptyFolders(created);
            throw;
        }
        _events.Verbose($"{path}: {Units.Bytes(size)} in {Units.Duration(clock.Elapsed)}, sha256 {sha}.");
        var result = Result(r, path, sha, size, fromCache: false, clock, hashSource.Word());
        if (overlapped)
        {
            observer!.Commit(result); // the expansion's record and final name, after the download's
        }
        return result;
    }

    /// <summary>
    /// The checksum step: the factory's <c>&lt;asset&gt;.sha256</c> / <c>.sha512</c> (<see cref="FactoryChecksum"/>), when
    /// it serves one, checked against the complete <c>.part</c> before it is recorded and renamed. Any failure removes
    /// the <c>.part</c>: no file of a download that was not verified is left. Returns what the hash was checked against.
    /// </summary>
    private async Task<HashSource> CheckFactoryChecksumAsync(string url, string asset, string path, string sha256, string shown, CancellationToken ct)
    {
        if (!_factoryChecksums)
        {
            return HashSource.Local;
        }
        var part = path + CachePaths.PartSuffix;
        try
        {
            var expected = await FactoryChecksum.FetchAsync(url, asset, _http, _events, ct).ConfigureAwait(false);
            var source = await FactoryChecksum.VerifyAsync(expected, part, sha256, shown, null, ct).ConfigureAwait(false);
            _events.Verbose(expected is null
                ? $"{path}: sha256 computed here only (the factory serves no checksum)."
                : $"{path}: matches the factory's {expected.Url}.");
            return source;
        }
        catch
        {
            AtomicFile.TryDelete(part);
            throw;
        }
    }

    /// <summary>What a cached record says its hash was checked against; local for a record written before it said so.</summary>
    private static string RecordedHashSource(ArtifactMetadata meta) => meta.RecordedHashSource();

    private static ArtifactMetadata Metadata(ArtifactRequest r, string url, string sha, DateTimeOffset downloadedAt, string? hashSource)
    {
        var meta = ArtifactMetadata.For(r.Identity(sha) with { Url = url }, ArtifactKind.Downloaded, r.InstallerImage, downloadedAt);
        meta.HashSource = hashSource;
        return meta;
    }

    /// <summary>
    /// Refuses anything in the artifact's part of the cache that the cache did not write: a link or a non-folder on the
    /// way from the cache folder to it, a link or a non-regular file at its final name, its side files or its
    /// <c>.part</c> (<see cref="CacheFiles"/>). Nothing is read, written or removed through them.
    /// </summary>
    private void RefusePlanted(string path)
    {
        CacheFiles.RefuseUnlessFolders(_cacheDir, Path.GetDirectoryName(path)!);
        foreach (var file in new[] { path, ArtifactMetadata.MetaPath(path), ArtifactMetadata.ShaPath(path), path + CachePaths.PartSuffix })
        {
            CacheFiles.RefuseUnlessFileOrAbsent(file);
        }
    }

    /// <summary>
    /// After -Verify found the file's hash to be the recorded one: rewrites a missing or wrong <c>.sha256</c> and a
    /// <c>.meta.json</c> that lost what it says about the file, from the verified hash and the request (the path's
    /// identity), so that <c>sha256sum -c</c> over the cache agrees with the tool. Sound side files are left as they are.
    /// </summary>
    private void RestoreSideFiles(ArtifactRequest r, string path, ArtifactMetadata cached, string verified)
    {
        var meta = Metadata(r, cached.Url.Length > 0 ? cached.Url : r.Url, verified, cached.DownloadedAt == default ? DateTimeOffset.UtcNow : cached.DownloadedAt, cached.HashSource);
        if (cached.InstallerImage is { Length: > 0 } image)
        {
            meta.InstallerImage = image;
        }
        try
        {
            var restored = meta.RestoreFor(path);
            if (restored.Count > 0)
            {
                _events.Warning($"{path}: verified (sha256 {verified}); restored {string.Join(" and ", restored.Select(Path.GetFileName))}, which did not say so.");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TalosException(TalosErrors.CacheWriteFailed, $"Cannot record {path} in the cache: {e.Message}", path, e);
        }
    }

    /// <summary>
    /// Records the complete <c>.part</c> (metadata first) and renames it to <paramref name="path"/>; when the record
    /// cannot be written (a full disk), the part, the side files and any older file of that name are removed, so no
    /// file keeps the final name without a record that matches it.
    /// </summary>
    private static void Record(ArtifactMetadata meta, string path)
    {
        var part = path + CachePaths.PartSuffix;
        CacheFiles.RefuseUnlessFileOrAbsent(part);
        CacheFiles.RefuseUnlessFileOrAbsent(path);
        try
        {
            meta.WriteFor(path, part);
            AtomicFile.Replace(part, path);
            if (!meta.Matches(path))
            {
                meta.WriteFor(path); // a file system whose rename touched the mtime
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AtomicFile.TryDelete(part);
            try
            {
                Discard(path);
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException)
            {
            }
            throw new TalosException(TalosErrors.CacheWriteFailed, $"Cannot record {path} in the cache: {e.Message}", path, e);
        }
    }

    /// <summary>
    /// Serialises creating a file in a cache folder with removing empty cache folders, so that a failed download in
    /// this process never removes a folder another download is about to write its <c>.part</c> into. (Other processes
    /// share a cache only under <see cref="CacheLock"/>.)
    /// </summary>
    private static readonly object FolderGate = new();

    /// <summary>Creates <paramref name="folder"/> and its missing parents; returns the ones it created, deepest first.</summary>
    private static IReadOnlyList<string> CreateFolders(string folder)
    {
        lock (FolderGate)
        {
            var missing = new List<string>();
            for (var dir = Path.GetFullPath(folder); !string.IsNullOrEmpty(dir) && !Directory.Exists(dir); dir = Path.GetDirectoryName(dir)!)
            {
                missing.Add(dir);
            }
            Directory.CreateDirectory(folder);
            return missing;
        }
    }

    /// <summary>
    /// After a failed download: removes the folders this download created (deepest first) while they are empty; the
    /// first that holds anything (a <c>.part</c>, another artifact) stops it, with every folder above it.
    /// </summary>
    private void RemoveEmptyFolders(IReadOnlyList<string> created)
    {
        lock (FolderGate)
        {
            foreach (var dir in created)
            {
                try
                {
                    if (!Directory.Exists(dir) || Directory.EnumerateFileSystemEntries(dir).Any())
                    {
                        return;
                    }
                    Directory.Delete(dir, recursive: false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _events.Verbose($"{dir}: not removed after the failed download ({e.Message}).");
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Creates the <c>.part</c> exclusively (its folder made again if a failed download in this process removed it
    /// meanwhile): a stale regular <c>.part</c> is replaced, anything else at that name is refused, never followed.
    /// </summary>
    private static FileStream OpenPart(string part)
    {
        lock (FolderGate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(part)!);
            return CacheFiles.CreateNew(part);
        }
    }

    /// <summary>Deletes a file that is not (or no longer) trusted, with its side files.</summary>
    private static void Discard(string path)
    {
        ArtifactMetadata.DeleteFor(path);
        File.Delete(path);
    }

    private static TalosArtifact Result(ArtifactRequest r, string path, string sha, long size, bool fromCache, Stopwatch clock, string hashSource) => new(r.Identity(sha, size))
    {
        Path = path,
        HashSource = hashSource,
        InstallerImage = r.InstallerImage,
        FromCache = fromCache,
        Kind = nameof(ArtifactKind.Downloaded),
        DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
    };

    /// <summary>
    /// Downloads <paramref name="url"/> to <c>path.part</c> (complete and flushed; the caller records it and gives it
    /// its final name); returns the SHA-256 and size.
    /// Up to <see cref="HttpOptions.MaxAttempts"/> transfers into one <c>.part</c>, created exclusively and held open
    /// across them (so a name planted meanwhile is never written through). A retry resumes with Range only when the
    /// answer that began the file had a strong validator (a strong ETag, else a strong Last-Modified), a length and
    /// <c>Accept-Ranges: bytes</c>; it asks with If-Range, and appends only a 206 with the same validator and a
    /// Content-Range from the kept length to the same total. Anything else starts again from byte 0: a server that now
    /// serves other bytes never yields a spliced file. The body must be framed (Content-Length or chunked) and sent as
    /// is (no Content-Encoding), else its bytes are not the file and nothing is stored.
    /// </summary>
    private async Task<(string Sha256, long Size)> DownloadAsync(string url, string path, TransferProgress progress, IBodyObserver? observer, CancellationToken ct)
    {
        var part = path + CachePaths.PartSuffix;
        var client = HttpPipeline.For(new Uri(url).GetLeftPart(UriPartial.Authority), _http);
        var shown = HttpPipeline.Redact(new Uri(url));
        var maxAttempts = Math.Max(1, _http.MaxAttempts);
        Validator? validator = null;    // of the answer that began the bytes in the part; null: not resumable
        FileStream? file = null;
        Exception? last = null;
        var complete = false;
        progress.Start("Connecting");
        try
        {
            for (var attempt = 1; attempt <= maxAttempts; attempt++)
            {
                if (attempt > 1)
                {
                    await Task.Delay(RetryHandler.Backoff(_http, attempt - 1), ct).ConfigureAwait(false);
                }
                // A .part from an earlier run is never trusted: only this run's own attempts are resumed.
                long have = validator is not null && file is not null ? file.Length : 0;
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
                if (have > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(have, null);
                    request.Headers.IfRange = validator!.Condition;
                }
                using var response = await HttpPipeline.SendAsync(client, request, _http, ct).ConfigureAwait(false);
                var answered = HttpPipeline.Redact(response.RequestMessage?.RequestUri ?? new Uri(url));
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                {
                    last = new IOException($"{answered} refused the range bytes={have}-");
                    _events.Verbose($"GET {answered}: 416 for bytes={have}-; restarting from zero.");
                    validator = null;
                    continue;
                }
                await HttpPipeline.EnsureSuccessAsync(response, _http, ct).ConfigureAwait(false);
                RefuseContentCoding(response, answered);

                var placed = Place(response, have, validator, answered);
                if (placed.Refused is { } refused)
                {
                    last = refused;
                    validator = null;
                    continue;
                }
                validator = placed.Validator;

                try
                {
                    file ??= OpenPart(part);
                    var received = await ReceiveAsync(response, file, part, placed.Offset, placed.Total, progress, observer, ct).ConfigureAwait(false);
                    complete = true;
                    return received;
                }
                catch (Exception e) when (IsTransferFailure(e, ct))
                {
                    last = e;
                    if (e is LengthMismatchException)
                    {
                        validator = null; // the server's framing cannot be trusted: next attempt from zero
                    }
                    var done = file?.Length ?? 0;
                    var next = attempt < maxAttempts ? (validator is not null ? $"resuming (attempt {attempt + 1} of {maxAttempts})" : $"restarting (attempt {attempt + 1} of {maxAttempts})") : "giving up";
                    _events.Warning($"GET {answered}: transfer broke after {Units.Bytes(done)}: {HttpPipeline.Describe(e)}; {next}.");
                }
            }
        }
        finally
        {
            file?.Dispose();
            if (file is not null && !complete)
            {
                AtomicFile.TryDelete(part); // this run's own part of a download that failed or was cancelled: no temp file stays
            }
            progress.Complete();
        }
        throw new TalosException(TalosErrors.DownloadFailed,
            $"GET {shown}: download failed after {maxAttempts} attempt(s): {(last is null ? "no answer" : HttpPipeline.Describe(last))}", shown, last);
    }

    /// <summary>
    /// Where a successful answer's body goes in the <c>.part</c> that holds <paramref name="have"/> bytes: a 206 that
    /// continues the file (same validator, Content-Range from <paramref name="have"/> to the same total) at
    /// <paramref name="have"/>; a 200 from byte 0 (framed: Content-Length or chunked). A 206 that does not continue the
    /// file is <see cref="Placement.Refused"/>: the next attempt starts from zero. Any other answer is not the file.
    /// </summary>
    private Placement Place(HttpResponseMessage response, long have, Validator? validator, string answered)
    {
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            var why = have == 0 || validator is null ? "no range was asked for"
                : range is null || !string.Equals(range.Unit, "bytes", StringComparison.OrdinalIgnoreCase) || range.From != have || range.Length is null ||
                  (range.To is { } to && to != range.Length - 1) ||
                  (response.Content.Headers.ContentLength is { } partLength && partLength != range.Length - have) ? $"Content-Range '{range}' to bytes={have}-"
                : range.Length != validator.Total ? $"Content-Range '{range}': the file was {validator.Total} bytes"
                : validator.Differs(response);
            if (why is not null)
            {
                _events.Warning($"GET {answered}: a partial answer that does not continue the file ({why}); restarting from zero.");
                return new Placement(0, null, null, new IOException($"{answered} answered 206 that does not continue the file ({why})"));
            }
            _events.Verbose($"GET {answered}: resuming at {Units.Bytes(have)} of {Units.Bytes(range!.Length!.Value)} ({validator!.Describe()} unchanged).");
            return new Placement(have, range.Length, validator);
        }
        if (response.StatusCode == HttpStatusCode.OK)
        {
            if (have > 0)
            {
                _events.Verbose($"GET {answered}: range not honoured (the file changed, or no ranges); restarting from zero.");
            }
            var total = response.Content.Headers.ContentLength;
            if (total is null && response.Headers.TransferEncodingChunked != true && response.Version.Major < 2)
            {
                throw new TalosException(TalosErrors.DownloadProtocolError,
                    $"GET {answered} answered without a Content-Length or chunked framing: the end of its body cannot be told from a cut connection, so it is not stored.", answered);
            }
            return new Placement(0, total, Validator.From(response, total));
        }
        throw new TalosException(TalosErrors.DownloadProtocolError,
            $"GET {answered} answered {(int)response.StatusCode} {response.ReasonPhrase}, not 200 with the file.", answered);
    }

    /// <summary>The offset and total of an answer's body in the part, the validator to resume it with, or why it was refused.</summary>
    private sealed record Placement(long Offset, long? Total, Validator? Validator, Exception? Refused = null);

    /// <summary>
    /// Only identity was asked for (Accept-Encoding: identity): a body in a content coding (gzip, br ...) is not the
    /// file's bytes, and hashing and storing it would record the wrong file under the right name.
    /// </summary>
    private static void RefuseContentCoding(HttpResponseMessage response, string answered)
    {
        var codings = response.Content.Headers.ContentEncoding.Where(c => !string.Equals(c, "identity", StringComparison.OrdinalIgnoreCase)).ToList();
        if (codings.Count > 0)
        {
            throw new TalosException(TalosErrors.DownloadProtocolError,
                $"GET {answered} sent the file with Content-Encoding '{SafeText.ForMessage(string.Join(", ", codings), 100)}' though only identity was asked for: " +
                "those bytes are not the file, so it is not stored.", answered);
        }
    }

    /// <summary>
    /// What proves that a later range of the URL belongs to the same file as the bytes already kept: the first answer's
    /// strong ETag, else its Last-Modified when strong (at least a second before its Date), and its length.
    /// </summary>
    private sealed class Validator
    {
        private readonly EntityTagHeaderValue? _etag;
        private readonly DateTimeOffset? _lastModified;

        private Validator(EntityTagHeaderValue? etag, DateTimeOffset? lastModified, long total)
        {
            _etag = etag;
            _lastModified = lastModified;
            Total = total;
        }

        public long Total { get; }

        /// <summary>The validator of a 200, or null when it cannot be resumed safely.</summary>
        public static Validator? From(HttpResponseMessage response, long? total)
        {
            if (total is not { } length || length <= 0 || !response.Headers.AcceptRanges.Contains("bytes", StringComparer.OrdinalIgnoreCase))
            {
                return null;
            }
            if (response.Headers.ETag is { IsWeak: false } etag)
            {
                return new Validator(etag, null, length);
            }
            if (response.Content.Headers.LastModified is { } modified && response.Headers.Date is { } date && date - modified >= TimeSpan.FromSeconds(1))
            {
                return new Validator(null, modified, length);
            }
            return null;
        }

        public RangeConditionHeaderValue Condition => _etag is not null ? new RangeConditionHeaderValue(_etag) : new RangeConditionHeaderValue(_lastModified!.Value);

        /// <summary>Null when the 206 carries the same validator; else why not.</summary>
        public string? Differs(HttpResponseMessage response)
        {
            if (_etag is not null)
            {
                var etag = response.Headers.ETag;
                return etag is { IsWeak: false } && string.Equals(etag.Tag, _etag.Tag, StringComparison.Ordinal) ? null : $"ETag {etag?.ToString() ?? "missing"}, the file had {_etag}";
            }
            var modified = response.Content.Headers.LastModified;
            return modified == _lastModified ? null : $"Last-Modified {modified?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}, the file had {Describe()}";
        }

        public string Describe() => _etag is not null ? $"ETag {_etag}" : $"Last-Modified {_lastModified!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
    }

    private static bool IsTransferFailure(Exception e, CancellationToken ct) =>
        e is IOException or HttpRequestException or TimeoutException || (e is OperationCanceledException && !ct.IsCancellationRequested);

    /// <summary>
    /// Writes the body to the held <c>.part</c> from <paramref name="offset"/> (re-hashing the kept prefix first),
    /// hashing while writing, checks the length and flushes to disk (the caller records and renames it).
    /// </summary>
    private async Task<(string, long)> ReceiveAsync(HttpResponseMessage response, FileStream file, string part, long offset, long? total, TransferProgress progress, IBodyObserver? observer, CancellationToken ct)
    {
        // An observer takes a body from byte 0 only, and only the first: a resumed or restarted transfer drops it.
        if (observer is not null && offset > 0)
        {
            observer.Abandon("the transfer resumed");
        }
        var feeding = observer is not null && offset == 0 && observer.Begin(total);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long written;
        file.Position = 0;
        if (offset > 0)
        {
            progress.Status("Checking the partial download");
            var kept = await FileHash.AppendAsync(hash, file, offset, null, ct).ConfigureAwait(false);
            if (kept != offset)
            {
                throw new LengthMismatchException($"{part} is shorter than {offset} bytes");
            }
            file.SetLength(offset);
            file.Position = offset;
        }
        else
        {
            file.SetLength(0);
        }
        written = offset;
        progress.Status("Downloading");
        progress.Report(written, total);

        using var body = new ReadTimeoutStream(await response.Content.ReadAsStreamAsync().ConfigureAwait(false), _http.ReadTimeout);
        // Three buffers in rotation: the next block is received (on another thread) while the current one is
        // hashed, and written while the block after it is received.
        var buffers = new[] { new byte[FileHash.BufferSize], new byte[FileHash.BufferSize], new byte[FileHash.BufferSize] };
        Task<int> pendingRead = Task.Run(() => FillAsync(body, buffers[0], ct), ct);
        Task pendingWrite = Task.CompletedTask;
        try
        {
            for (var k = 0; ; k++)
            {
                var n = await pendingRead.ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                if (total is { } t && written + n > t)
                {
                    throw new LengthMismatchException($"the body is longer than the announced {t} bytes");
                }
                var current = buffers[k % 3];
                // buffers[(k + 1) % 3] was last used by write k-2, which ended before write k-1 started.
                var next = buffers[(k + 1) % 3];
                pendingRead = Task.Run(() => FillAsync(body, next, ct), ct);
                hash.AppendData(current, 0, n);
                if (feeding)
                {
                    await observer!.AppendAsync(current, n, ct).ConfigureAwait(false);
                }
                await pendingWrite.ConfigureAwait(false);
                pendingWrite = WriteAsync(file, current, n, written, ct);
                written += n;
                Interlocked.Add(ref _bytesDownloaded, n);
                progress.Report(written, total);
            }
        }
        catch
        {
            // Never close the body or the file under a running read or write; the first failure is the one reported.
            await Quietly(pendingRead).ConfigureAwait(false);
            await Quietly(pendingWrite).ConfigureAwait(false);
            throw;
        }
        await pendingWrite.ConfigureAwait(false);
        if (total is { } expected && written != expected)
        {
            throw new LengthMismatchException($"received {written} of {expected} bytes");
        }
        if (feeding)
        {
            observer!.EndOfBody();
        }
        file.Flush(flushToDisk: true);
        return (FileHash.Hex(hash.GetHashAndReset()), written);
    }

    private const long WritebackChunk = 32L << 20;

    /// <summary>Writes a block at <paramref name="offset"/>; each time a 32 MiB boundary is crossed, starts the writeback of the previous 32 MiB.</summary>
    private static async Task WriteAsync(FileStream file, byte[] buffer, int count, long offset, CancellationToken ct)
    {
        await file.WriteAsync(buffer, 0, count, ct).ConfigureAwait(false);
        var end = offset + count;
        if (end / WritebackChunk != offset / WritebackChunk)
        {
            var boundary = end / WritebackChunk * WritebackChunk;
            Writeback.Start(file, boundary - WritebackChunk, WritebackChunk);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception) when (task.IsFaulted || task.IsCanceled)
        {
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the body ends.</summary>
    private static async Task<int> FillAsync(Stream body, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await body.ReadAsync(buffer, filled, buffer.Length - filled, ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }

    /// <summary>The body did not have the length its headers announced.</summary>
    private sealed class LengthMismatchException : IOException
    {
        public LengthMismatchException(string message)
            : base(message)
        {
        }
    }
}
