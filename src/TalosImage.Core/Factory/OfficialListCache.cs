using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Newtonsoft.Json.Linq;
using TalosImage.Core.Http;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Factory;

/// <summary>What an official list is of: the extensions or the overlays of a Talos version.</summary>
public enum OfficialListKind
{
    Extensions,
    Overlays,
}

/// <summary>An official list of one Talos version as the cache holds it: which factory it came from and when.</summary>
public sealed record CachedOfficialList<T>(string Version, string FactoryUrl, DateTimeOffset FetchedAt, IReadOnlyList<T> Items, string Path)
{
    /// <summary>How old the list is at <paramref name="now"/> (never negative).</summary>
    public TimeSpan AgeAt(DateTimeOffset now) => now - FetchedAt < TimeSpan.Zero ? TimeSpan.Zero : now - FetchedAt;
}

/// <summary>
/// <c>&lt;cache&gt;/versions/extensions-&lt;v&gt;.json</c> and <c>overlays-&lt;v&gt;.json</c>: the official lists of a Talos version
/// as last fetched, with the factory's URL and the fetch time, so that extension and overlay names can be checked
/// offline (saying the list's age) and tab completion needs no request. A list is used for checks only when it was
/// fetched from the same factory; online, one older than <see cref="MaxAge"/> is fetched again. Reading is bounded
/// (<see cref="MaxFileBytes"/>); a file that cannot be read counts as absent; a file that cannot be written costs the
/// next check a request, nothing more.
/// </summary>
public sealed class OfficialListCache
{
    /// <summary>
    /// Online, a cached list older than this is fetched again before a check. An official list of a released Talos
    /// version changes rarely (an extension added in a patch release of the extensions repository), so a week keeps
    /// checks close to what the factory builds while sparing a request per version and run; offline any age is used.
    /// </summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(7);

    /// <summary>The largest list file read (the factory's lists are tens of kilobytes).</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;

    private readonly string _cacheDir;

    /// <param name="cacheDir">The cache folder (the lists go to its <c>versions/</c> folder).</param>
    /// <param name="factoryUrl">The factory whose lists are read and written; lists of another factory are not used.</param>
    /// <param name="readOnly">Read but never write (dry runs change no file).</param>
    public OfficialListCache(string cacheDir, string factoryUrl, bool readOnly = false)
    {
        _cacheDir = System.IO.Path.GetFullPath(cacheDir);
        FactoryUrl = factoryUrl.TrimEnd('/');
        ReadOnly = readOnly;
    }

    public string FactoryUrl { get; }

    public bool ReadOnly { get; }

    /// <summary>Where the list of <paramref name="kind"/> of <paramref name="version"/> is kept under <paramref name="cacheDir"/>.</summary>
    public static string PathOf(string cacheDir, OfficialListKind kind, string version) =>
        System.IO.Path.Combine(System.IO.Path.GetFullPath(cacheDir), "versions",
            (kind == OfficialListKind.Extensions ? "extensions-" : "overlays-") + TalosSemVersion.Parse(version) + ".json");

    public string PathOf(OfficialListKind kind, string version) => PathOf(_cacheDir, kind, version);

    /// <summary>The cached extension list of <paramref name="version"/> from this factory, or null.</summary>
    public CachedOfficialList<FactoryExtension>? ReadExtensions(string version, IEngineEvents? events = null) =>
        Read(OfficialListKind.Extensions, version, events, o => new FactoryExtension(S(o, "name"), S(o, "ref"), S(o, "digest"), S(o, "author"), S(o, "description")));

    /// <summary>The cached overlay list of <paramref name="version"/> from this factory, or null.</summary>
    public CachedOfficialList<FactoryOverlay>? ReadOverlays(string version, IEngineEvents? events = null) =>
        Read(OfficialListKind.Overlays, version, events, o => new FactoryOverlay(S(o, "name"), S(o, "image"), S(o, "ref"), S(o, "digest")));

    public void WriteExtensions(string version, IReadOnlyList<FactoryExtension> items, DateTimeOffset fetchedAt, IEngineEvents? events = null) =>
        Write(OfficialListKind.Extensions, version, fetchedAt, events, items.Select(e => new JObject
        {
            ["name"] = e.Name, ["ref"] = e.Ref, ["digest"] = e.Digest, ["author"] = e.Author, ["description"] = e.Description,
        }));

    public void WriteOverlays(string version, IReadOnlyList<FactoryOverlay> items, DateTimeOffset fetchedAt, IEngineEvents? events = null) =>
        Write(OfficialListKind.Overlays, version, fetchedAt, events, items.Select(o => new JObject
        {
            ["name"] = o.Name, ["image"] = o.Image, ["ref"] = o.Ref, ["digest"] = o.Digest,
        }));

    /// <summary>
    /// The names of a cached list of any factory, for tab completion: the current format, or the plain JSON list of
    /// names completion wrote before. Null when there is none or it cannot be read.
    /// </summary>
    public static IReadOnlyList<string>? ReadNames(string cacheDir, OfficialListKind kind, string version)
    {
        try
        {
            var path = PathOf(cacheDir, kind, version);
            var json = ReadBounded(path);
            if (json is null)
            {
                return null;
            }
            var token = HttpText.ParseJson(json, path);
            var items = token is JObject o ? o["items"] as JArray : token as JArray;
            return items?.Select(t => t is JObject item ? S(item, "name") : t.Type == JTokenType.String ? (string?)t ?? "" : "")
                .Where(n => n.Length > 0).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Newtonsoft.Json.JsonException or InvalidCastException or TalosException)
        {
            return null;
        }
    }

    private CachedOfficialList<T>? Read<T>(OfficialListKind kind, string version, IEngineEvents? events, Func<JObject, T> item)
    {
        var path = PathOf(kind, version);
        try
        {
            var json = ReadBounded(path);
            if (json is null)
            {
                return null;
            }
            if (HttpText.ParseJson(json, path) is not JObject o || o["items"] is not JArray items)
            {
                // The plain list of names completion wrote before: no factory and no time, so not used for checks.
                events?.Verbose($"{path}: a list without its factory and fetch time; not used for checks");
                return null;
            }
            var factory = (string?)o["factory"] ?? "";
            if (!string.Equals(factory.TrimEnd('/'), FactoryUrl, StringComparison.Ordinal))
            {
                events?.Verbose($"{path} holds the list of {SafeText.ForMessage(factory, 200)}, not of {FactoryUrl}: not used");
                return null;
            }
            var fetched = VersionListFile.ParseTime((string?)o["fetched_at"]) ?? throw new FormatException("fetched_at is missing");
            var list = items.OfType<JObject>().Select(item).ToList();
            return new CachedOfficialList<T>(TalosSemVersion.Parse(version).ToString(), factory, fetched, list, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or Newtonsoft.Json.JsonException or InvalidCastException or TalosException)
        {
            events?.Verbose($"{path}: cached {Word(kind)} list not usable ({SafeText.Printable(e.Message)})");
            return null;
        }
    }

    private void Write(OfficialListKind kind, string version, DateTimeOffset fetchedAt, IEngineEvents? events, IEnumerable<JObject> items)
    {
        if (ReadOnly)
        {
            return;
        }
        var path = PathOf(kind, version);
        var o = new JObject
        {
            ["factory"] = FactoryUrl,
            ["version"] = TalosSemVersion.Parse(version).ToString(),
            ["kind"] = Word(kind),
            ["fetched_at"] = fetchedAt.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            ["items"] = new JArray(items),
        };
        try
        {
            AtomicFile.WriteAllText(path, o.ToString(Newtonsoft.Json.Formatting.Indented) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            events?.Verbose($"{path}: {Word(kind)} list not cached ({SafeText.Printable(e.Message)})");
        }
    }

    private static string? ReadBounded(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }
        if (info.Length > MaxFileBytes)
        {
            throw new IOException($"larger than {MaxFileBytes} bytes");
        }
        return File.ReadAllText(path);
    }

    /// <summary>extension or overlay, for messages.</summary>
    public static string Word(OfficialListKind kind) => kind == OfficialListKind.Extensions ? "extension" : "overlay";

    /// <summary>An age as messages say it: "3 days", "5 hours", "12 minutes", "less than a minute".</summary>
    public static string Ago(TimeSpan age)
    {
        static string N(int n, string unit) => n.ToString(CultureInfo.InvariantCulture) + " " + unit + (n == 1 ? "" : "s");
        return age.TotalDays >= 1 ? N((int)age.TotalDays, "day")
            : age.TotalHours >= 1 ? N((int)age.TotalHours, "hour")
            : age.TotalMinutes >= 1 ? N((int)age.TotalMinutes, "minute")
            : "less than a minute";
    }

    private static string S(JObject o, string key) => o[key] is JValue { Type: JTokenType.String } s ? (string)s! : "";
}
