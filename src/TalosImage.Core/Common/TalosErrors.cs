using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace TalosImage.Core;

/// <summary>
/// One ErrorId of the catalogue (<see cref="TalosErrors"/>): the id (an ErrorRecord's FullyQualifiedErrorId), its kind
/// (which decides the ErrorRecord's category), what it means, and which hosts can raise it, each with the wording its
/// help page uses where that says something host-specific (a parameter, a stage). An id no host can raise carries the
/// reason instead.
/// </summary>
public sealed class TalosError
{
    internal TalosError(string id, TalosErrorKind kind, string meaning, string? category, bool kindFollowsCause,
        IReadOnlyList<TalosErrorSource> raisedBy, string? unreachable, string? family)
    {
        Id = id;
        Kind = kind;
        Meaning = meaning;
        Category = category ?? kind.ToString();
        KindFollowsCause = kindFollowsCause;
        RaisedBy = raisedBy;
        Unreachable = unreachable;
        Family = family;
    }

    /// <summary>The stable ErrorId.</summary>
    public string Id { get; }

    /// <summary>The kind; TalosCmdlet maps it onto the ErrorRecord's category.</summary>
    public TalosErrorKind Kind { get; }

    /// <summary>What the error means, for the help pages (markdown).</summary>
    public string Meaning { get; }

    /// <summary>The category as the help pages give it: the kind's name, or a sentence that starts with it where the kind varies.</summary>
    public string Category { get; }

    /// <summary>True when a raise site may give this id the kind of its cause (<see cref="Caused"/>).</summary>
    public bool KindFollowsCause { get; }

    /// <summary>The cmdlets (by name) and the console host (<see cref="TalosErrors.Hosts.TalosOrder"/>) that can raise it.</summary>
    public IReadOnlyList<TalosErrorSource> RaisedBy { get; }

    /// <summary>Why no host can raise it (null when one can).</summary>
    public string? Unreachable { get; }

    /// <summary>The computed family this id belongs to ("Http", "Unexpected"), or null.</summary>
    public string? Family { get; }

    /// <summary>The wording for <paramref name="host"/>'s help page: its own where it has one, else <see cref="Meaning"/>.</summary>
    public string MeaningFor(string host) => RaisedBy.FirstOrDefault(s => s.Host == host)?.Wording ?? Meaning;

    /// <summary>This id with the kind of its cause, where the catalogue says the kind follows the cause; else this entry.</summary>
    public TalosError Caused(TalosErrorKind cause) =>
        KindFollowsCause && cause != Kind ? new TalosError(Id, cause, Meaning, Category, true, RaisedBy, Unreachable, Family) : this;

    public override string ToString() => Id;
}

/// <summary>A host that can raise an ErrorId, and the wording of its help page where that differs from the meaning.</summary>
public sealed record TalosErrorSource(string Host, string? Wording = null);

/// <summary>
/// The ErrorId catalogue: every id the engine, the cmdlets and talos-order raise, with its kind, meaning and hosts.
/// Raise sites name an entry (<c>new TalosException(TalosErrors.CacheLocked, message, path)</c>), never a string; the
/// computed families go through it too: <see cref="Http(int)"/> (Http&lt;status&gt;, the kind from the status) and
/// <see cref="Unexpected(string)"/> (Unexpected&lt;Stage&gt;Error). A failed publish result carries only its id; its kind
/// is <see cref="Get(string)"/>'s. The help pages' ERRORS lists are written from here
/// (<c>dotnet run --project tools/TalosImage.HelpGen -- --update-docs</c>), in this order. talos-order reports every
/// id Invoke-TalosOrder does (its entries name both), and its own Usage.
/// </summary>
public static class TalosErrors
{
    /// <summary>The hosts that raise ErrorIds: the cmdlets by name, and the console host.</summary>
    public static class Hosts
    {
        public const string ClearTalosCache = "Clear-TalosCache";
        public const string ClearTalosPublished = "Clear-TalosPublished";
        public const string ExpandTalosImage = "Expand-TalosImage";
        public const string ExportTalosManifest = "Export-TalosManifest";
        public const string GetTalosCache = "Get-TalosCache";
        public const string GetTalosExtension = "Get-TalosExtension";
        public const string GetTalosOverlay = "Get-TalosOverlay";
        public const string GetTalosPublished = "Get-TalosPublished";
        public const string InvokeTalosOrder = "Invoke-TalosOrder";
        public const string NewTalosSchematic = "New-TalosSchematic";
        public const string NewTalosVMTemplate = "New-TalosVMTemplate";
        public const string PublishTalosImage = "Publish-TalosImage";
        public const string ResolveTalosVersion = "Resolve-TalosVersion";
        public const string SaveTalosImage = "Save-TalosImage";
        public const string TalosOrder = "talos-order";
    }

    public const string HttpFamily = "Http";
    public const string UnexpectedFamily = "Unexpected";

    // Declared before the entries: static fields are initialised in the order they are written.
    private static readonly List<TalosError> Entries = new();
    private static readonly Dictionary<string, TalosError> ById = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, TalosError> Computed = new(StringComparer.Ordinal);
    private static readonly Regex HttpId = new(@"^Http(?<status>\d{3})$", RegexOptions.CultureInvariant);
    private static readonly Regex UnexpectedId = new(@"^Unexpected(?<stage>[A-Z][a-z]+)Error$", RegexOptions.CultureInvariant);

    /// <summary>Every entry, in the catalogue's (and the help pages') order.</summary>
    public static IReadOnlyList<TalosError> All => Entries;

    // Entries, in the order the help pages list them.

    public static readonly TalosError InvalidOrderFile = Define("InvalidOrderFile", TalosErrorKind.InvalidData,
        meaning: "an input file (config.yaml, orders.yaml, a schematic.yaml) cannot be read or breaks a rule: every problem with its file, line, column and key, and the likely intended key for a near-miss. Terminating.",
        By(Hosts.InvokeTalosOrder, "config.yaml or orders.yaml cannot be read or breaks a rule: every problem with its file, line, column and key, and the likely intended key for a near-miss; also two orders that would share a manifest, or a manifest inside the artifact tree. Terminating; nothing runs."),
        By(Hosts.NewTalosSchematic, "with -Path, the schematic.yaml cannot be read or breaks the factory's rules; every problem with its line, column and key, and the likely intended key for a near-miss. Terminating."));

    public static readonly TalosError UnknownOrderId = Define("UnknownOrderId", TalosErrorKind.InvalidArgument,
        meaning: "an -OrderId the orders file does not have; the message names the nearest id, or all of them. Terminating.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError InvalidSchematic = Define("InvalidSchematic", TalosErrorKind.InvalidArgument,
        meaning: "the schematic parameters break a rule: an extension that is not a name, a META key outside 0 to 255 or given twice, an overlay without its image or its name, an option of a type a schematic cannot hold. Terminating.",
        By(Hosts.NewTalosSchematic));

    public static readonly TalosError InvalidArtifactRequest = Define("InvalidArtifactRequest", TalosErrorKind.InvalidArgument,
        meaning: "the schematic ID is not 64 hexadecimal characters, or the platform, architecture, format or factory URL is not one the factory could serve; nothing is asked.",
        By(Hosts.SaveTalosImage));

    public static readonly TalosError AssetVariantUnavailable = Define("AssetVariantUnavailable", TalosErrorKind.InvalidArgument,
        meaning: "the factory has no such variant of a boot asset: a UKI (format uki) exists only for SecureBoot, and the kernel and initramfs have no SecureBoot variant; the message says what to order instead. Decided offline, before anything is asked.",
        By(Hosts.SaveTalosImage),
        By(Hosts.InvokeTalosOrder, "a position orders format uki without secureboot, or kernel or initramfs with secureboot: the position fails at planning, offline, and the others go on."));

    public static readonly TalosError PlatformImageUnavailable = Define("PlatformImageUnavailable", TalosErrorKind.InvalidArgument,
        meaning: "Talos's platform table says the factory builds no such image: the platform lacks that architecture, boot method (ISO, disk image, PXE) or SecureBoot, or the Talos version is older than the platform; the message says what the platform has. Decided offline, before anything is downloaded.",
        By(Hosts.SaveTalosImage),
        By(Hosts.InvokeTalosOrder, "a position asks for an image the platform table rules out (e.g. an arm64 or ISO image for digital-ocean, a disk image for equinixMetal, akamai before v1.7.0): the position fails at planning, offline, and the others go on."));

    public static readonly TalosError InvalidVersion = Define("InvalidVersion", TalosErrorKind.InvalidArgument,
        meaning: "-Version is not a Talos version.",
        By(Hosts.SaveTalosImage, "-Version is not a Talos version (vMAJOR.MINOR.PATCH with an optional -PRERELEASE)."),
        By(Hosts.NewTalosSchematic),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay),
        By(Hosts.ResolveTalosVersion, "-Version is not a Talos version, or -LatestInMinor is neither a minor (v1.11) nor a full version."));

    public static readonly TalosError InvalidFactoryUrl = Define("InvalidFactoryUrl", TalosErrorKind.InvalidArgument,
        meaning: "-FactoryUrl is not an http(s) URL.",
        By(Hosts.NewTalosSchematic, "-FactoryUrl is not an http(s) URL (not used with -Offline or -WhatIf)."),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay),
        By(Hosts.ResolveTalosVersion, "-FactoryUrl is not an http(s) URL (with -Source Factory)."));

    public static readonly TalosError FactoryCredentialMissing = Define("FactoryCredentialMissing", TalosErrorKind.InvalidArgument,
        meaning: "config.yaml's defaults.factory_auth names an environment variable (bearer_token_env, password_env) that is not set or empty; the message names the variable, never a value. Terminating; nothing is asked.",
        By(Hosts.InvokeTalosOrder, "config.yaml's defaults.factory_auth names an environment variable (bearer_token_env, password_env) that is not set or empty (not needed with -Offline). Terminating; nothing is asked."));

    public static readonly TalosError FactoryCredentialInvalid = Define("FactoryCredentialInvalid", TalosErrorKind.InvalidArgument,
        meaning: "the factory credential cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character in either; the value is not repeated. Terminating.",
        By(Hosts.InvokeTalosOrder, "the factory credential (-FactoryCredential or defaults.factory_auth) cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character; the value is not repeated. Terminating."),
        By(Hosts.SaveTalosImage, "-FactoryCredential cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character; the value is not repeated. Terminating."),
        By(Hosts.NewTalosSchematic, "-FactoryCredential cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character; the value is not repeated. Terminating."),
        By(Hosts.GetTalosExtension, "-FactoryCredential cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character; the value is not repeated. Terminating."),
        By(Hosts.ResolveTalosVersion, "-FactoryCredential cannot be sent: an empty password or token, a user name with ':', a token with whitespace, or a control character; the value is not repeated. Terminating."));

    public static readonly TalosError FactoryAuthenticationFailed = Define("FactoryAuthenticationFailed", TalosErrorKind.PermissionDenied,
        meaning: "the factory answered 401 or 403 to a request that carried the factory credential; the message says which credential was sent (Basic with its user name, or a bearer token) and where it came from (-FactoryCredential, or the environment variable named in defaults.factory_auth), never its value. Without a credential a 401 or 403 stays Http401 / Http403.",
        By(Hosts.InvokeTalosOrder, "the factory answered 401 or 403 to a request that carried the credential of -FactoryCredential or defaults.factory_auth; the message names the source (the environment variable, or -FactoryCredential) and the user name, never the secret."),
        By(Hosts.SaveTalosImage, "the factory answered 401 or 403 to a request (the image or its checksum file) that carried -FactoryCredential; the message names the user name (or bearer), never the secret. Nothing is stored."),
        By(Hosts.NewTalosSchematic, "the factory answered 401 or 403 to a request that carried -FactoryCredential; the message names the user name (or bearer), never the secret."),
        By(Hosts.GetTalosExtension, "the factory answered 401 or 403 to a request that carried -FactoryCredential; the message names the user name (or bearer), never the secret."),
        By(Hosts.ResolveTalosVersion, "the factory answered 401 or 403 to GET /versions with -FactoryCredential; the message names the user name (or bearer), never the secret."));

    public static readonly TalosError InvalidGitHubApiUrl = Define("InvalidGitHubApiUrl", TalosErrorKind.InvalidArgument,
        meaning: "-GitHubApiUrl is not an http(s) URL (with -Source GitHub).",
        By(Hosts.ResolveTalosVersion));

    public static readonly TalosError ArtifactMissing = Define("ArtifactMissing", TalosErrorKind.InvalidArgument,
        meaning: "neither an artifact (-InputObject or the pipeline) nor -Path was given.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ArtifactFileMissing = Define("ArtifactFileMissing", TalosErrorKind.ObjectNotFound,
        meaning: "the file to publish does not exist.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError CacheLocked = Define("CacheLocked", TalosErrorKind.ResourceUnavailable,
        meaning: "another run held the cache lock <cache>/.lock for 30 minutes; the message names the holder.",
        By(Hosts.InvokeTalosOrder, "another run held the cache lock for defaults.lock_timeout (30 minutes unless configured); the message names the holder. Terminating."),
        By(Hosts.SaveTalosImage),
        By(Hosts.ClearTalosCache, "another run (Save-TalosImage, Invoke-TalosOrder, talos-order) held the cache lock <cache>/.lock for 30 minutes; the message names the holder. -WhatIf takes no lock."));

    public static readonly TalosError CacheLockDenied = Define("CacheLockDenied", TalosErrorKind.PermissionDenied,
        meaning: "the cache lock cannot be opened: the cache folder is not writable.",
        By(Hosts.InvokeTalosOrder, "the cache lock cannot be opened: cache_dir is not writable. Terminating."),
        By(Hosts.SaveTalosImage),
        By(Hosts.ClearTalosCache));

    public static readonly TalosError CacheDirectoryUnusable = Define("CacheDirectoryUnusable", TalosErrorKind.InvalidArgument,
        meaning: "the cache folder cannot be used at all: a part of it is a regular file, it is on a read-only or virtual file system, or it cannot be created; the message names the path and the problem.",
        By(Hosts.InvokeTalosOrder, "cache_dir cannot be used at all: a part of it is a regular file, it is on a read-only or virtual file system (/proc), or it cannot be created; the message names the path and the problem. Nothing is done; talos-order exits 2. Terminating."),
        By(Hosts.SaveTalosImage),
        By(Hosts.ClearTalosCache));

    public static readonly TalosError LogFileUnusable = Define("LogFileUnusable", TalosErrorKind.InvalidArgument,
        meaning: "-LogPath cannot be written: it is a folder, a part of it is a regular file, it is on a read-only or virtual file system; the message names the path and the problem. Nothing is done; talos-order exits 2. Terminating.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError CacheRemoveFailed = Define("CacheRemoveFailed", TalosErrorKind.WriteError,
        meaning: "a file under <cache>/artifacts cannot be deleted (no permission, a file in use).",
        By(Hosts.InvokeTalosOrder, "the purge (-PurgeCache, cache_policy.purge_before) or the retention after the orders cannot delete a file. Terminating."),
        By(Hosts.ClearTalosCache));

    public static readonly TalosError UnknownVersion = Define("UnknownVersion", TalosErrorKind.ObjectNotFound,
        meaning: "the version source or the factory does not know the Talos version; the message names the nearest versions where it can.",
        By(Hosts.InvokeTalosOrder, "a position's version is not listed by the version source (exact, or no version of the minor); or, at the schematic stage, the factory does not know the version whose extensions it checks."),
        By(Hosts.NewTalosSchematic, "with -Version, the factory does not know that Talos version (404 for its extension list)."),
        By(Hosts.GetTalosExtension, "the factory answers 404 for the version's extension list: it does not know that Talos version."),
        By(Hosts.GetTalosOverlay, "the factory answers 404 for the version's overlay list: it does not know that Talos version."),
        By(Hosts.ResolveTalosVersion, "the source does not list the exact version (the message names the nearest) or any version of the minor (naming the nearest minors), or lists no release at all."));

    public static readonly TalosError VersionListUnavailable = Define("VersionListUnavailable", TalosErrorKind.ResourceUnavailable,
        category: "ResourceUnavailable offline without a cached list, else the category of the cause: ConnectionError, OperationTimeout, PermissionDenied for a 401, 403 or GitHub's rate limit, ObjectNotFound, ProtocolError ...",
        meaning: "a version list is needed (latest, latest in a minor, a list) and cannot be had from the source, and none is cached.",
        kindFollowsCause: true,
        By(Hosts.InvokeTalosOrder, "a latest or latest-in-minor position cannot get a version list, and none is cached."),
        By(Hosts.ResolveTalosVersion, "-Latest, -LatestInMinor or -List cannot get a version list, and none is cached. An exact version is returned unchecked instead, with a warning."));

    public static readonly TalosError UnknownExtension = Define("UnknownExtension", TalosErrorKind.InvalidArgument,
        meaning: "an extension name is not an official extension of the Talos version; the message names the nearest official names.",
        By(Hosts.InvokeTalosOrder, "schematic stage: the customization names an extension that is not official for the position's version; the message names the nearest official names."),
        By(Hosts.NewTalosSchematic, "with -Version, an extension is not an official extension of that version; the message names each with its nearest official names. Nothing is created."),
        By(Hosts.GetTalosExtension, "a name without wildcards matches no official extension of the version; the message names the nearest ones. The other names are still listed."));

    public static readonly TalosError UnknownOverlay = Define("UnknownOverlay", TalosErrorKind.InvalidArgument,
        meaning: "an overlay name is not an official overlay of the Talos version, or its image is not the one the official overlay comes from; the message names the nearest official names (or the right image).",
        By(Hosts.InvokeTalosOrder, "schematic stage (and a dry run's check): the overlay's name is not official for the position's version, or its image is another; checked against the cached list of that version when there is one, before anything is downloaded."),
        By(Hosts.NewTalosSchematic, "with -Version, -OverlayName is not an official overlay of that version or -OverlayImage is not its image. Nothing is created."),
        By(Hosts.GetTalosOverlay, "a name without wildcards matches no official overlay of the version; the message names the nearest ones. The other names are still listed."));

    public static readonly TalosError OverlayUnavailable = Define("OverlayUnavailable", TalosErrorKind.InvalidArgument,
        meaning: "an overlay cannot go into this image: overlays go only into metal images for arm64, and only from Talos v1.7.0 (the factory's own rule). Decided offline, before anything is downloaded.",
        By(Hosts.InvokeTalosOrder, "a position with an overlay asks for another platform or architecture than metal-arm64, or a Talos version before v1.7.0: the position fails at planning, offline, and the others go on."),
        By(Hosts.NewTalosSchematic, "with -Version before v1.7.0 and an overlay. Nothing is created."));

    public static readonly TalosError VersionNotBuildable = Define("VersionNotBuildable", TalosErrorKind.ObjectNotFound,
        meaning: "GitHub lists the Talos release, but the factory cannot build it: the version is not in the factory's /versions. Checked when versions come from GitHub and the factory can be asked; offline (or when the factory cannot be reached) the version is used unchecked, with a warning.",
        By(Hosts.InvokeTalosOrder, "with version_source github, a position's version (exact, latest or latest in a minor) is a GitHub release that the factory's /versions does not list: the position fails at planning and the others go on."),
        By(Hosts.ResolveTalosVersion, "with -Source GitHub and -FactoryUrl, the release found is not in that factory's /versions: the factory cannot build it."));

    public static readonly TalosError Http400 = Define("Http400", TalosErrorKind.InvalidArgument,
        meaning: "the server rejected the request as malformed; the message carries its answer.",
        By(Hosts.InvokeTalosOrder, "schematic stage: the factory rejected the schematic."),
        By(Hosts.NewTalosSchematic, "the factory rejected the schematic; the message carries its answer."));

    public static readonly TalosError Http401 = Define("Http401", TalosErrorKind.PermissionDenied,
        meaning: "the server asks for authentication.",
        By(Hosts.InvokeTalosOrder, "the factory asks for authentication (schematic or download)."),
        By(Hosts.SaveTalosImage, "the factory, or a server it redirected to, asks for authentication."),
        By(Hosts.NewTalosSchematic, "the factory asks for authentication."),
        By(Hosts.GetTalosExtension, "the factory asks for authentication."),
        By(Hosts.GetTalosOverlay, "the factory asks for authentication."));

    public static readonly TalosError Http403 = Define("Http403", TalosErrorKind.PermissionDenied,
        meaning: "the server refused the request.",
        By(Hosts.InvokeTalosOrder, "the factory refused the request (schematic or download)."),
        By(Hosts.SaveTalosImage, "the server refused the download."),
        By(Hosts.NewTalosSchematic, "the factory refused the request."),
        By(Hosts.GetTalosExtension, "the factory refused the request."),
        By(Hosts.GetTalosOverlay, "the factory refused the request."));

    public static readonly TalosError Http404 = Define("Http404", TalosErrorKind.ObjectNotFound,
        meaning: "the server has no such resource.",
        By(Hosts.InvokeTalosOrder, "download stage: the factory has no such image; schematic stage: factory_url is not an Image Factory's API."),
        By(Hosts.SaveTalosImage, "the factory has no such image: an unknown schematic or version, or an asset it does not build."),
        By(Hosts.NewTalosSchematic, "the URL answers, but is not an Image Factory's API."));

    public static readonly TalosError Http500 = Define("Http500", TalosErrorKind.ResourceUnavailable,
        meaning: "the factory failed. 408, 429 and 5xx answers other than 501 and 505 are retried with backoff first, so this is the answer of the last of five attempts; other 5xx statuses are reported the same way (Http502, Http503 ...).",
        By(Hosts.InvokeTalosOrder, "the factory failed, after retries with backoff (408, 429 and 5xx other than 501 and 505); other 5xx statuses are reported the same way (Http502, Http503 ...)."),
        By(Hosts.SaveTalosImage),
        By(Hosts.NewTalosSchematic),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay));

    public static readonly TalosError HttpStatus = Define("Http<status>", TalosErrorKind.InvalidArgument,
        category: "InvalidArgument for another 4xx answer, ResourceUnavailable for a redirect that was not followed: a loop, or one from https to http",
        meaning: "any other unsuccessful answer, with the server's message.",
        kindFollowsCause: false,
        By(Hosts.InvokeTalosOrder, "any other unsuccessful answer of the factory, with its message."),
        By(Hosts.SaveTalosImage),
        By(Hosts.NewTalosSchematic),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay));

    public static readonly TalosError HttpConnectionFailed = Define("HttpConnectionFailed", TalosErrorKind.ConnectionError,
        meaning: "the server cannot be reached, after the retries.",
        By(Hosts.InvokeTalosOrder, "the factory cannot be reached, after the retries."),
        By(Hosts.SaveTalosImage, "the server cannot be reached (name resolution, a refused connection, TLS), after the retries."),
        By(Hosts.NewTalosSchematic, "the factory cannot be reached, after the retries."),
        By(Hosts.GetTalosExtension, "the factory cannot be reached, after the retries."),
        By(Hosts.GetTalosOverlay, "the factory cannot be reached, after the retries."),
        By(Hosts.PublishTalosImage, "the Proxmox API cannot be reached, after the retries."));

    public static readonly TalosError HttpTimeout = Define("HttpTimeout", TalosErrorKind.OperationTimeout,
        meaning: "no answer within the timeouts.",
        By(Hosts.InvokeTalosOrder, "the factory sent no answer within the timeouts."),
        By(Hosts.SaveTalosImage, "no answer headers within 25 minutes (the factory builds an image on its first request, which takes minutes)."),
        By(Hosts.NewTalosSchematic, "no answer within the timeouts (25 minutes for the headers, 60 seconds without data)."),
        By(Hosts.GetTalosExtension, "no answer within the timeouts (25 minutes for the headers, 60 seconds without data)."),
        By(Hosts.GetTalosOverlay, "no answer within the timeouts (25 minutes for the headers, 60 seconds without data)."),
        By(Hosts.PublishTalosImage, "the Proxmox API did not answer in time (an upload may take 3 hours)."));

    public static readonly TalosError HttpResponseTooLarge = Define("HttpResponseTooLarge", TalosErrorKind.ProtocolError,
        meaning: "the answer is larger than 16 MiB: not an API answer.",
        By(Hosts.InvokeTalosOrder, "schematic stage: an API answer larger than 16 MiB."),
        By(Hosts.NewTalosSchematic),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay));

    public static readonly TalosError InvalidServerAnswer = Define("InvalidServerAnswer", TalosErrorKind.ProtocolError,
        meaning: "the server's answer is not the JSON it gives.",
        By(Hosts.InvokeTalosOrder, "schematic stage: the factory's answer is not the JSON it gives."),
        By(Hosts.NewTalosSchematic, "the answer is not the JSON the factory gives ({\"id\": \"<64 hex>\", ...} for a schematic, a list for the extensions)."),
        By(Hosts.GetTalosExtension, "the answer is not the JSON list of extensions the factory gives."),
        By(Hosts.GetTalosOverlay, "the answer is not the JSON list of overlays the factory gives."));

    public static readonly TalosError DownloadProtocolError = Define("DownloadProtocolError", TalosErrorKind.ProtocolError,
        meaning: "the server answered with a success status that is neither 200 with the file nor 206 to a resumed request, a 200 with neither Content-Length nor chunked framing (its end cannot be told from a cut connection), or a body in a content coding (Content-Encoding: gzip ...) though identity was asked for. Nothing is stored.",
        By(Hosts.InvokeTalosOrder, "download stage: a success status that is neither 200 with the file nor 206 to a resumed request, a 200 without Content-Length or chunked framing, or a body in a content coding."),
        By(Hosts.SaveTalosImage));

    public static readonly TalosError FactoryChecksumMismatch = Define("FactoryChecksumMismatch", TalosErrorKind.InvalidData,
        meaning: "the factory serves <asset>.sha256 or .sha512 (enterprise factories) and the downloaded file does not have that hash, or the checksum file is not one (no hex digest of the right length for the asset). The partial file is removed; nothing gets the final name.",
        By(Hosts.InvokeTalosOrder, "download stage: the file does not have the hash the factory's <asset>.sha256 / .sha512 gives, or that file is not a checksum; nothing is stored."),
        By(Hosts.SaveTalosImage));

    public static readonly TalosError CachePathRefused = Define("CachePathRefused", TalosErrorKind.SecurityError,
        meaning: "a symbolic link, FIFO, device or folder that the cache did not write is planted in its tree; it is refused, never followed, and the message names the path.",
        By(Hosts.InvokeTalosOrder, "a symbolic link, FIFO, device or folder planted in the cache's tree (an artifact, its .part or side files, one of its folders, the lock) is refused, never followed; the message names the path. Terminating when it is the lock; else the download or expand stage of the positions that use it."),
        By(Hosts.SaveTalosImage, "something the cache did not write is planted in its tree: a symbolic link, a FIFO, a device or a folder at the artifact's name, its .part, .meta.json or .sha256, or a link in place of one of its folders or of the lock; the message names the path. Nothing is followed or removed: remove it and run again."),
        By(Hosts.ExpandTalosImage, "a symbolic link, FIFO, device or folder at the destination's .part is refused, never followed; the message names the path."),
        By(Hosts.ClearTalosCache, "a symbolic link or a non-regular file at <cache>/.lock or .lock.owner is refused, never written through; the message names the path."));

    public static readonly TalosError DownloadFailed = Define("DownloadFailed", TalosErrorKind.ConnectionError,
        meaning: "every one of five transfers broke (a stalled or closed connection, a body shorter or longer than announced, a .part file that could not be written); the message has the last cause.",
        By(Hosts.InvokeTalosOrder, "download stage: every one of five transfers broke; the message has the last cause."),
        By(Hosts.SaveTalosImage));

    public static readonly TalosError CacheWriteFailed = Define("CacheWriteFailed", TalosErrorKind.WriteError,
        meaning: "the downloaded file could not be recorded in the cache (its .meta.json, its .sha256 or the rename into place); the partial file is removed.",
        By(Hosts.InvokeTalosOrder, "download stage: the downloaded file could not be recorded in the cache."),
        By(Hosts.SaveTalosImage));

    public static readonly TalosError DecompressorMissing = Define("DecompressorMissing", TalosErrorKind.NotInstalled,
        meaning: "neither the library (liblzma, libzstd) nor the program (xz, zstd) is found; the message says how to install one.",
        By(Hosts.InvokeTalosOrder, "expand stage: neither liblzma/libzstd nor the xz/zstd program is found."),
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError InvalidDecompressor = Define("InvalidDecompressor", TalosErrorKind.InvalidArgument,
        meaning: "the environment variable TALOSIMAGE_DECOMPRESSOR is not one of auto, native, managed, program.",
        By(Hosts.ExpandTalosImage, "the environment variable TALOSIMAGE_DECOMPRESSOR is not one of auto, native, managed, program (-Decompressor wins over it)."));

    public static readonly TalosError CorruptImage = Define("CorruptImage", TalosErrorKind.InvalidData,
        meaning: "the compressed data is corrupt or truncated; nothing is left under the destination's name.",
        By(Hosts.InvokeTalosOrder, "expand stage: the compressed image is corrupt or truncated."),
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError DiskImageMissing = Define("DiskImageMissing", TalosErrorKind.InvalidData,
        meaning: "a raw.tar.gz holds no disk.raw.",
        By(Hosts.InvokeTalosOrder, "expand stage: a raw.tar.gz holds no disk.raw."),
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError ExpansionFailed = Define("ExpansionFailed", TalosErrorKind.InvalidOperation,
        meaning: "the decoder failed in another way, for example the xz or zstd program exited with an error.",
        By(Hosts.InvokeTalosOrder, "expand stage: the decoder failed in another way."),
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError ExpansionWriteFailed = Define("ExpansionWriteFailed", TalosErrorKind.WriteError,
        meaning: "the expanded image or its record cannot be written (a full disk, no permission); the partial output is removed.",
        By(Hosts.InvokeTalosOrder, "expand stage: the expanded image cannot be written."),
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError PublishFailed = Define("PublishFailed", TalosErrorKind.InvalidOperation,
        meaning: "publish stage: one or more pushes failed; the message names each host and its error (the same failures as Publish-TalosImage reports, including a missing or malformed Proxmox token variable), and the manifest records each push.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError UnexpectedSchematicError = Define("UnexpectedSchematicError", TalosErrorKind.InvalidOperation,
        meaning: "schematic stage: a failure the engine does not classify (a disk error, or a defect); the message names the exception.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError UnexpectedDownloadError = Define("UnexpectedDownloadError", TalosErrorKind.InvalidOperation,
        meaning: "download stage: a failure the engine does not classify, such as a cache folder that cannot be created.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError UnexpectedExpandError = Define("UnexpectedExpandError", TalosErrorKind.InvalidOperation,
        meaning: "expand stage: a failure the engine does not classify.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError UnexpectedPublishError = Define("UnexpectedPublishError", TalosErrorKind.InvalidOperation,
        meaning: "publish stage: a failure the engine does not classify.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError UnexpectedTemplateError = Define("UnexpectedTemplateError", TalosErrorKind.InvalidOperation,
        meaning: "template stage: a failure the engine does not classify.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError ManifestWriteFailed = Define("ManifestWriteFailed", TalosErrorKind.WriteError,
        meaning: "an order's manifest cannot be written; reported for the position (manifest) of that order.",
        By(Hosts.InvokeTalosOrder),
        By(Hosts.ExportTalosManifest, "the manifest cannot be written (no permission, a full or read-only disk); the file is written to a temporary name and renamed, so no half-written manifest is left under its name."));

    public static readonly TalosError LogWriteFailed = Define("LogWriteFailed", TalosErrorKind.WriteError,
        meaning: "a line of the -LogPath log could not be written during the run (its disk filled); one warning says so, the run goes on without the log and its result counts this failure (talos-order exits 1).",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError SourceNotFound = Define("SourceNotFound", TalosErrorKind.ObjectNotFound,
        meaning: "the image to expand does not exist.",
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError UnknownFormat = Define("UnknownFormat", TalosErrorKind.InvalidArgument,
        meaning: "the format cannot be told from the file name, and the input carries none.",
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError NotCompressed = Define("NotCompressed", TalosErrorKind.InvalidArgument,
        meaning: "the file is an ISO or an uncompressed image: there is nothing to expand.",
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError InvalidDestination = Define("InvalidDestination", TalosErrorKind.InvalidArgument,
        meaning: "-Destination is the source file itself.",
        By(Hosts.ExpandTalosImage));

    public static readonly TalosError UnsafeHost = Define("UnsafeHost", TalosErrorKind.InvalidArgument,
        meaning: "a -ComputerName that is not [user@]host: spaces, quotes, shell characters or a leading dash. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError UnsafeRemotePath = Define("UnsafeRemotePath", TalosErrorKind.InvalidArgument,
        meaning: "-IsoDirectory or -ImportDirectory is not absolute, has .. segments, or holds characters a remote shell would interpret. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError UnsafeOption = Define("UnsafeOption", TalosErrorKind.InvalidArgument,
        meaning: "-SshOption or -RsyncOption holds an option or -o key that is not allowed (one that changes the transport, the remote shell, or what is written or deleted). Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshTargetDuplicate = Define("SshTargetDuplicate", TalosErrorKind.InvalidArgument,
        meaning: "the same host and destination is named twice in -ComputerName.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshNotInstalled = Define("SshNotInstalled", TalosErrorKind.NotInstalled,
        meaning: "the ssh program cannot be started; install the OpenSSH client.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RsyncNotInstalled = Define("RsyncNotInstalled", TalosErrorKind.NotInstalled,
        meaning: "the rsync program cannot be started; install rsync.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshConnectionFailed = Define("SshConnectionFailed", TalosErrorKind.ConnectionError,
        meaning: "ssh exited with 255 (the host cannot be reached, or its key or the authentication was refused), or rsync lost the connection.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError RemoteMkdirFailed = Define("RemoteMkdirFailed", TalosErrorKind.WriteError,
        meaning: "the destination folder cannot be created on the host.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteDecompressorMissing = Define("RemoteDecompressorMissing", TalosErrorKind.NotInstalled,
        meaning: "with -RemoteExpand, the host has no xz, zstd or gzip for the image's format.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RsyncFailed = Define("RsyncFailed", TalosErrorKind.WriteError,
        meaning: "rsync failed in another way; the message has its exit code and output.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteVerifyFailed = Define("RemoteVerifyFailed", TalosErrorKind.InvalidData,
        meaning: "the SHA-256 of the file on the host, or of the image expanded there, is not the expected one; the file does not get its final name.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteExpandFailed = Define("RemoteExpandFailed", TalosErrorKind.WriteError,
        meaning: "the decompressor failed on the host.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteRenameFailed = Define("RemoteRenameFailed", TalosErrorKind.WriteError,
        meaning: "the verified temporary file cannot be renamed to its final name on the host.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteFileConflict = Define("RemoteFileConflict", TalosErrorKind.InvalidOperation,
        meaning: "the host already has a file of that name with another SHA-256 (both are in the message); it is neither reused nor overwritten unless -Force (push.replace: true) asks to replace it.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteFileInUse = Define("RemoteFileInUse", TalosErrorKind.InvalidOperation,
        meaning: "replacing or removing a file on the host was refused because a VM or template configuration in /etc/pve references it (the message names them); -ReplaceInUse (push.replace_in_use) replaces it anyway.",
        By(Hosts.PublishTalosImage), By(Hosts.ClearTalosPublished));

    public static readonly TalosError RetentionKeepMissing = Define("RetentionKeepMissing", TalosErrorKind.InvalidArgument,
        meaning: "Clear-TalosPublished was given neither -KeepVersions nor images from Get-TalosPublished. Terminating.",
        By(Hosts.ClearTalosPublished));

    public static readonly TalosError PublishSpaceInsufficient = Define("PublishSpaceInsufficient", TalosErrorKind.InvalidOperation,
        meaning: "the target storage or folder (or, for API uploads, the node's /var/tmp where Proxmox stages them) has less free space than the image needs; the message has both figures. Nothing was sent.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError RemoteCommandFailed = Define("RemoteCommandFailed", TalosErrorKind.InvalidOperation,
        meaning: "a remote check or step failed in another way; the message has its exit code and output.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError SftpOptionUnsupported = Define("SftpOptionUnsupported", TalosErrorKind.InvalidArgument,
        meaning: "the sftp transport (push.transport: sftp, -Transport Sftp) cannot honour an ssh option (-J/ProxyJump, -C, -o ControlPath, ...); the message names them. Use the rsync transport for them.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshHostKeyUnknown = Define("SshHostKeyUnknown", TalosErrorKind.SecurityError,
        meaning: "sftp transport: the host's key is in no known_hosts file and StrictHostKeyChecking is yes (the default); nothing was written. The message has the key's SHA256 fingerprint and the line to add (or use -o StrictHostKeyChecking=accept-new).",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshHostKeyChanged = Define("SshHostKeyChanged", TalosErrorKind.SecurityError,
        meaning: "sftp transport: the host offers another key than known_hosts lists for it, or a key marked @revoked; the connection is refused and nothing was written. The message names the known_hosts line and the new key's SHA256 fingerprint.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SshKeyUnreadable = Define("SshKeyUnreadable", TalosErrorKind.InvalidArgument,
        meaning: "sftp transport: an identity file cannot be read or decrypted (missing, not a private key, or protected by a passphrase that was not given or is wrong: -KeyPassphrase or TALOSIMAGE_SSH_PASSPHRASE), or there is no identity file at all.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError SftpTransferFailed = Define("SftpTransferFailed", TalosErrorKind.WriteError,
        meaning: "sftp transport: writing the temporary file on the host failed (permissions, disk full, connection lost); the message has the server's answer.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxEndpointInvalid = Define("ProxmoxEndpointInvalid", TalosErrorKind.InvalidArgument,
        meaning: "-ProxmoxUri is not an https:// URL. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxNodeMissing = Define("ProxmoxNodeMissing", TalosErrorKind.InvalidArgument,
        meaning: "a -Node name is blank. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxNodeDuplicate = Define("ProxmoxNodeDuplicate", TalosErrorKind.InvalidArgument,
        meaning: "a node is named twice in -Node. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxNodeInvalid = Define("ProxmoxNodeInvalid", TalosErrorKind.InvalidArgument,
        meaning: "a -Node is not a node name (letters, digits, dots and dashes). Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxStorageMissing = Define("ProxmoxStorageMissing", TalosErrorKind.InvalidArgument,
        meaning: "-Storage is empty. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxStorageInvalid = Define("ProxmoxStorageInvalid", TalosErrorKind.InvalidArgument,
        meaning: "-Storage is not a storage id. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxFingerprintInvalid = Define("ProxmoxFingerprintInvalid", TalosErrorKind.InvalidArgument,
        meaning: "-CertificateFingerprint is not a SHA-256 fingerprint (32 bytes in hexadecimal, AA:BB:..., optionally after sha256:). Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxFormatUnsupported = Define("ProxmoxFormatUnsupported", TalosErrorKind.InvalidArgument,
        meaning: "the artifact's format cannot be stored with the method: a compressed disk image must be expanded first, and DownloadUrl cannot publish an image expanded here; a boot asset (kernel, initramfs, cmdline, uki, installer, pxe) has no Proxmox content type on either transport. Terminating.",
        By(Hosts.PublishTalosImage),
        By(Hosts.InvokeTalosOrder, "a position pushes a boot asset (kernel, initramfs, cmdline, uki, installer, pxe), which has no Proxmox content type: each of its targets fails with this id and the reason (no host is contacted; the dry run warns), and the position fails at publish."));

    public static readonly TalosError ProxmoxTokenAmbiguous = Define("ProxmoxTokenAmbiguous", TalosErrorKind.InvalidArgument,
        meaning: "both -ApiToken and -Credential were given. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxTokenMissing = Define("ProxmoxTokenMissing", TalosErrorKind.InvalidArgument,
        meaning: "neither -ApiToken nor -Credential was given and $env:PROXMOX_API_TOKEN is not set (not asked under -WhatIf). Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxTokenInvalid = Define("ProxmoxTokenInvalid", TalosErrorKind.InvalidArgument,
        meaning: "the token is not of the form USER@REALM!TOKENID=SECRET; the value is not repeated. Terminating.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxUrlMissing = Define("ProxmoxUrlMissing", TalosErrorKind.InvalidArgument,
        meaning: "-Method DownloadUrl for an artifact without a factory http(s) URL.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxCertificateUntrusted = Define("ProxmoxCertificateUntrusted", TalosErrorKind.SecurityError,
        meaning: "this machine does not trust the node's certificate; the message shows its fingerprint, to compare with pvenode cert info and pin with -CertificateFingerprint.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError ProxmoxCertificatePinMismatch = Define("ProxmoxCertificatePinMismatch", TalosErrorKind.SecurityError,
        meaning: "the node presented a certificate other than the pinned one.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError ProxmoxAuthenticationFailed = Define("ProxmoxAuthenticationFailed", TalosErrorKind.PermissionDenied,
        meaning: "the API answered 401: the token id or secret is wrong, or the token no longer exists.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError ProxmoxPermissionDenied = Define("ProxmoxPermissionDenied", TalosErrorKind.PermissionDenied,
        meaning: "the API answered 403; the message names the permission needed. A 403 for reading the storage's configuration is no error: the storage is then taken as not shared.",
        By(Hosts.PublishTalosImage), By(Hosts.GetTalosPublished), By(Hosts.ClearTalosPublished));

    public static readonly TalosError ProxmoxApiError = Define("ProxmoxApiError", TalosErrorKind.ResourceUnavailable,
        meaning: "the API answered with another unsuccessful status; the message has Proxmox's text.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxProtocolError = Define("ProxmoxProtocolError", TalosErrorKind.ProtocolError,
        meaning: "the answer is not what the Proxmox VE API gives.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxContentNotAllowed = Define("ProxmoxContentNotAllowed", TalosErrorKind.InvalidOperation,
        meaning: "the storage does not allow the iso or import content; the message gives the pvesm command that enables it.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxVolumeConflict = Define("ProxmoxVolumeConflict", TalosErrorKind.InvalidOperation,
        meaning: "a volume of that name exists with another size or SHA-256; it is not overwritten.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxVolumeInUse = Define("ProxmoxVolumeInUse", TalosErrorKind.InvalidOperation,
        meaning: "replacing (-Force, push.replace) or removing a volume was refused because a VM or template configuration references it (the message names them), or because the VM configurations could not be read; -ReplaceInUse (push.replace_in_use) replaces it anyway.",
        By(Hosts.PublishTalosImage), By(Hosts.ClearTalosPublished));

    public static readonly TalosError ProxmoxTaskFailed = Define("ProxmoxTaskFailed", TalosErrorKind.InvalidOperation,
        meaning: "the node's upload or download task ended with an error.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxTaskTimeout = Define("ProxmoxTaskTimeout", TalosErrorKind.OperationTimeout,
        meaning: "the node's task was still running after an hour; it may still finish.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxVolumeMissing = Define("ProxmoxVolumeMissing", TalosErrorKind.InvalidData,
        meaning: "the task finished, but the volume is not listed on the storage.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError ProxmoxVolumeSizeMismatch = Define("ProxmoxVolumeSizeMismatch", TalosErrorKind.InvalidData,
        meaning: "the stored volume has another size than the artifact.",
        By(Hosts.PublishTalosImage));

    public static readonly TalosError TemplateSettingInvalid = Define("TemplateSettingInvalid", TalosErrorKind.InvalidArgument,
        meaning: "a template setting is out of range or malformed (vmid, name, storage, memory, cores, bridge, tags, keep, a qemu option); the message names it and what is expected. Nothing is sent.",
        By(Hosts.NewTalosVMTemplate),
        By(Hosts.InvokeTalosOrder, "template stage: a template setting is malformed (the loader checks most of them first)."));

    public static readonly TalosError TemplateImageUnidentified = Define("TemplateImageUnidentified", TalosErrorKind.InvalidData,
        meaning: "the disk image's SHA-256, schematic ID or version is not known, so a template could not be matched to its image later; publish the image with Publish-TalosImage (which knows them) or give -Sha256/-SchematicId/-Version.",
        By(Hosts.NewTalosVMTemplate));

    public static readonly TalosError TemplateSourceNotImport = Define("TemplateSourceNotImport", TalosErrorKind.InvalidArgument,
        meaning: "the volume is not a disk image in import content (<storage>:import/<name>.raw or .qcow2): import-from needs one; an ISO makes no template. Publish an expanded raw (Expand-TalosImage, then Publish-TalosImage -ProxmoxUri).",
        By(Hosts.NewTalosVMTemplate),
        By(Hosts.InvokeTalosOrder, "template stage: the position's published file is not a disk image in import content (an ISO, or a compressed raw not expanded): set prefer_decompressed: true."));

    public static readonly TalosError TemplateApiOnly = Define("TemplateApiOnly", TalosErrorKind.InvalidOperation,
        meaning: "templates are made through the Proxmox API only (API only): a result of an SSH push carries no API endpoint; publish through -ProxmoxUri, or give -ProxmoxUri, -Node and -VolumeId for a file the SSH push put into an import folder.",
        By(Hosts.NewTalosVMTemplate));

    public static readonly TalosError TemplateVmIdTaken = Define("TemplateVmIdTaken", TalosErrorKind.InvalidOperation,
        meaning: "the given VM id belongs to another VM or template (one that does not record this image); nothing is overwritten. Choose another id or leave it out (the next free id is taken).",
        By(Hosts.NewTalosVMTemplate),
        By(Hosts.InvokeTalosOrder, "template stage: template.vmid belongs to another VM or template."));

    public static readonly TalosError TemplateFailed = Define("TemplateFailed", TalosErrorKind.InvalidOperation,
        meaning: "template stage: making or finding the VM template failed on a Proxmox endpoint (the message has the Proxmox error: a failed task, 401/403, a certificate); the manifest's templates list records it.",
        By(Hosts.InvokeTalosOrder));

    public static readonly TalosError ConfirmationUnavailable = Define("ConfirmationUnavailable", TalosErrorKind.InvalidOperation,
        meaning: "-All without -Force in a host that cannot ask (pwsh -NonInteractive, a scheduled task); add -Force to remove without asking, or -WhatIf to see what would be removed.",
        By(Hosts.ClearTalosCache));

    public static readonly TalosError InvalidFamilyPattern = Define("InvalidFamilyPattern", TalosErrorKind.InvalidArgument,
        meaning: "a -Family wildcard is malformed (for example an unclosed `[`); the command stops before it lists anything.",
        By(Hosts.GetTalosCache));

    public static readonly TalosError UnexpectedError = Define("TalosImage.UnexpectedError", TalosErrorKind.NotSpecified,
        meaning: "a failure the engine does not classify; the exception says what.",
        By(Hosts.InvokeTalosOrder, "a failure that stops the run and that the engine does not classify (a defect: an unusable -LogPath or cache_dir is `LogFileUnusable` or `CacheDirectoryUnusable`). Terminating."),
        By(Hosts.SaveTalosImage, "a failure the engine does not classify, such as a cache folder that cannot be created; the exception says what."),
        By(Hosts.NewTalosSchematic),
        By(Hosts.GetTalosExtension),
        By(Hosts.GetTalosOverlay),
        By(Hosts.ResolveTalosVersion),
        By(Hosts.ExpandTalosImage, "a failure the engine does not classify, such as a source that cannot be read; the exception says what."),
        By(Hosts.PublishTalosImage, "a failure the engine does not classify, such as a file that cannot be read; the exception says what."),
        By(Hosts.ClearTalosCache, "a failure the engine does not classify, such as a cache folder that cannot be created; the exception says what."));

    // Ids no host can raise, with the reason (they are raised by engine code that a host's checks always keep away).

    public static readonly TalosError FactoryUnavailable = Unreached("FactoryUnavailable", TalosErrorKind.InvalidOperation,
        meaning: "the official extension list is asked for without a factory (offline).",
        reason: "SchematicService.GetOfficialExtensionsAsync without a factory: CheckExtensionsAsync returns before it when there is none, and Get-TalosExtension always has one");

    public static readonly TalosError UnknownVersionSource = Unreached("UnknownVersionSource", TalosErrorKind.InvalidArgument,
        meaning: "the version source is neither factory nor github.",
        reason: "Resolve-TalosVersion -Source is a ValidateSet (Factory, GitHub), and the order loader accepts only factory and github as defaults.version_source");

    public static readonly TalosError GitHubRateLimited = Unreached("GitHubRateLimited", TalosErrorKind.PermissionDenied,
        meaning: "GitHub's API rate limit is used up (403 or 429 with X-RateLimit-Remaining: 0, or a secondary limit with Retry-After): one sentence with the time it resets.",
        reason: "only the GitHub version source raises it, and the version resolver reports it as the cause of VersionListUnavailable (which takes its kind, PermissionDenied) or of an exact version's Unchecked warning");

    public static readonly TalosError InvalidKeepVersions = Unreached("InvalidKeepVersions", TalosErrorKind.InvalidArgument,
        meaning: "keep_versions is below 0.",
        reason: "Clear-TalosCache -KeepVersions has ValidateRange(0, ...), and the order loader takes keep_versions from 1 to 10000");

    public static readonly TalosError InvalidCacheDirectory = Unreached("InvalidCacheDirectory", TalosErrorKind.InvalidArgument,
        meaning: "the cache directory is empty.",
        reason: "the cmdlets resolve -CacheDirectory to a full path (an empty one is the current location), and the order loader refuses an empty cache_dir");

    public static readonly TalosError PositionFailed = Unreached("PositionFailed", TalosErrorKind.InvalidOperation,
        meaning: "an order position failed without an ErrorId of its own.",
        reason: "OrderRunner's fallback for a failed position without an ErrorId; PositionPipeline.Fail always records one");

    public static readonly TalosError VersionUnresolved = Unreached("VersionUnresolved", TalosErrorKind.InvalidOperation,
        meaning: "a position's version could not be resolved, for no recorded reason.",
        reason: "the fallback for a position whose planning failed without an ErrorId; the planner always records the resolver's");

    // The console host's own.

    public static readonly TalosError Usage = Define("Usage", TalosErrorKind.InvalidArgument,
        meaning: "talos-order's arguments are not its flags (an unknown flag, a missing value); it exits 2.",
        By(Hosts.TalosOrder));

    // Computed families.

    /// <summary>Http&lt;status&gt; for an unsuccessful HTTP answer: the catalogue's entry for a documented status, else one made from the family's.</summary>
    public static TalosError Http(int status) =>
        ById.TryGetValue(HttpFamily + status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var known) ? known
            : Computed.GetOrAdd(HttpFamily + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                id => new TalosError(id, HttpKind(status), HttpStatus.Meaning, null, false, HttpStatus.RaisedBy, null, HttpFamily));

    /// <summary>The kind of an unsuccessful HTTP status: 401/403 PermissionDenied, 404 ObjectNotFound, another 4xx InvalidArgument, else (5xx, a redirect not followed) ResourceUnavailable.</summary>
    public static TalosErrorKind HttpKind(int status) => status switch
    {
        401 or 403 => TalosErrorKind.PermissionDenied,
        404 => TalosErrorKind.ObjectNotFound,
        >= 400 and < 500 => TalosErrorKind.InvalidArgument,
        _ => TalosErrorKind.ResourceUnavailable,
    };

    /// <summary>Unexpected&lt;Stage&gt;Error of one of a position's stages.</summary>
    public static TalosError Unexpected(PipelineStage stage) => Unexpected(stage.Word());

    /// <summary>Unexpected&lt;Stage&gt;Error: a failure of an order position's stage that the engine does not classify.</summary>
    public static TalosError Unexpected(string stage)
    {
        var id = UnexpectedFamily + (stage.Length == 0 ? "" : char.ToUpperInvariant(stage[0]) + stage.Substring(1)) + "Error";
        return ById.TryGetValue(id, out var known) ? known
            : Computed.GetOrAdd(id, i => new TalosError(i, TalosErrorKind.InvalidOperation, $"{stage} stage: a failure the engine does not classify.", null, false,
                Array.Empty<TalosErrorSource>(), null, UnexpectedFamily));
    }

    // Lookup.


    /// <summary>The entry for <paramref name="id"/> (the computed families included), or null for an id the catalogue does not have.</summary>
    public static TalosError? Find(string? id)
    {
        if (id is null)
        {
            return null;
        }
        if (ById.TryGetValue(id, out var entry))
        {
            return entry;
        }
        if (HttpId.Match(id) is { Success: true } http)
        {
            return Http(int.Parse(http.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (UnexpectedId.Match(id) is { Success: true } unexpected)
        {
            return Unexpected(unexpected.Groups["stage"].Value.ToLowerInvariant());
        }
        return null;
    }

    /// <summary>
    /// The entry for an id carried as text (a failed publish result, a position's failure): the catalogue's; an id it
    /// does not have is InvalidOperation.
    /// </summary>
    public static TalosError Get(string id) => Find(id) ?? Uncatalogued(id, TalosErrorKind.InvalidOperation);

    /// <summary>
    /// The entry for an id and kind decided earlier and carried as values (a position's failure, a plan's error): the
    /// catalogue's, with the carried kind where the entry's kind follows its cause.
    /// </summary>
    public static TalosError Get(string id, TalosErrorKind kind) =>
        Find(id) is { } entry ? (entry.Kind == kind ? entry : entry.KindFollowsCause ? entry.Caused(kind) : Uncatalogued(id, kind)) : Uncatalogued(id, kind);

    private static TalosError Uncatalogued(string id, TalosErrorKind kind) =>
        new(id, kind, "", null, false, Array.Empty<TalosErrorSource>(), null, null);

    private static TalosErrorSource By(string host, string? wording = null) => new(host, wording);

    private static TalosError Define(string id, TalosErrorKind kind, string meaning, params TalosErrorSource[] raisedBy) =>
        Add(new TalosError(id, kind, meaning, null, false, raisedBy, null, Family(id)));

    private static TalosError Define(string id, TalosErrorKind kind, string category, string meaning, bool kindFollowsCause, params TalosErrorSource[] raisedBy) =>
        Add(new TalosError(id, kind, meaning, category, kindFollowsCause, raisedBy, null, Family(id)));

    private static TalosError Unreached(string id, TalosErrorKind kind, string meaning, string reason) =>
        Add(new TalosError(id, kind, meaning, null, false, Array.Empty<TalosErrorSource>(), reason, Family(id)));

    private static string? Family(string id) => HttpId.IsMatch(id) || id == "Http<status>" ? HttpFamily : UnexpectedId.IsMatch(id) ? UnexpectedFamily : null;

    private static TalosError Add(TalosError entry)
    {
        if (entry.RaisedBy.Any(s => s.Host == Hosts.InvokeTalosOrder) && entry.RaisedBy.All(s => s.Host != Hosts.TalosOrder))
        {
            // talos-order is Invoke-TalosOrder for people without PowerShell: it reports the same ids.
            entry = new TalosError(entry.Id, entry.Kind, entry.Meaning, entry.Category, entry.KindFollowsCause,
                entry.RaisedBy.Append(By(Hosts.TalosOrder, entry.MeaningFor(Hosts.InvokeTalosOrder))).ToList(), entry.Unreachable, entry.Family);
        }
        Entries.Add(entry);
        ById.Add(entry.Id, entry);
        return entry;
    }
}
