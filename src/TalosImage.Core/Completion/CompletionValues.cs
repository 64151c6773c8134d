using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;
using TalosImage.Core.Versions;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Completion;

/// <summary>
/// What tab completion offers for the cmdlets' parameters. Everything here is quick and mostly offline: versions,
/// schematic IDs and extension lists come from the cache folder; only an extension list that is not cached yet is
/// fetched, with a short timeout, and then kept. Nothing here throws: a completion that cannot be computed is empty.
/// </summary>
public static class CompletionValues
{
    private static readonly Regex SchematicIdPattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

    public static IReadOnlyList<string> Platforms(string prefix) => StartingWith(FactoryCatalog.Platforms, prefix);

    public static IReadOnlyList<string> Architectures(string prefix) => StartingWith(FactoryCatalog.Architectures, prefix);

    public static IReadOnlyList<string> Formats(string prefix) => StartingWith(FactoryCatalog.OrderableFormats, prefix);

    /// <summary>Versions from the cached version lists (factory and GitHub), newest first; releases before pre-releases.</summary>
    public static IReadOnlyList<string> Versions(string cacheDir, string prefix) =>
        StartingWith(CachedVersions(cacheDir).OrderBy(v => v.IsPrerelease).ThenByDescending(v => v).Select(v => v.ToString()), VersionPrefix(prefix));

    /// <summary>The minors (vX.Y) of the cached versions, newest first, for -LatestInMinor.</summary>
    public static IReadOnlyList<string> Minors(string cacheDir, string prefix) =>
        StartingWith(CachedVersions(cacheDir).OrderByDescending(v => v).Select(v => v.MinorTag).Distinct(), VersionPrefix(prefix));

    /// <summary>What was typed, with the leading v that versions carry (1.11 completes like v1.11).</summary>
    private static string VersionPrefix(string prefix) =>
        prefix.Length == 0 || prefix.StartsWith("v", StringComparison.OrdinalIgnoreCase) ? prefix : "v" + prefix;

    /// <summary>The schematic IDs that have artifacts in the cache.</summary>
    public static IReadOnlyList<string> SchematicIds(string cacheDir, string prefix)
    {
        try
        {
            var root = CachePaths.ArtifactRoot(cacheDir);
            return Directory.Exists(root)
                ? StartingWith(Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n is not null && SchematicIdPattern.IsMatch(n)).Select(n => n!).OrderBy(n => n, StringComparer.Ordinal), prefix)
                : Array.Empty<string>();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>
    /// The orderids of an orders file (a list of orders or a map with the key orders), read leniently: a file with
    /// problems still offers the ids it has. Unreadable or missing: nothing.
    /// </summary>
    public static IReadOnlyList<string> OrderIds(string ordersPath, string prefix)
    {
        try
        {
            var info = new FileInfo(ordersPath);
            if (!info.Exists || info.Length > 4 * 1024 * 1024)
            {
                return Array.Empty<string>();
            }
            var stream = new YamlStream();
            using (var reader = new StreamReader(ordersPath))
            {
                stream.Load(reader);
            }
            var root = stream.Documents.FirstOrDefault()?.RootNode;
            if (root is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("orders"), out var inner))
            {
                root = inner;
            }
            var ids = (root as YamlSequenceNode)?.Children.OfType<YamlMappingNode>()
                .Select(o => o.Children.TryGetValue(new YamlScalarNode("orderid"), out var id) ? (id as YamlScalarNode)?.Value : null)
                .Where(id => !string.IsNullOrEmpty(id)).Select(id => id!) ?? Enumerable.Empty<string>();
            return StartingWith(ids, prefix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException or ArgumentException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>
    /// The official extensions of <paramref name="version"/> (or, without one, of the newest cached release), matched
    /// against the whole name or the part after '/'. The list is kept in <c>&lt;cache&gt;/versions/extensions-&lt;version&gt;.json</c>
    /// (<see cref="OfficialListCache"/>, which extension checks read too); when it is not there it is fetched from
    /// <paramref name="factoryUrl"/>, waiting at most <paramref name="timeout"/>.
    /// </summary>
    public static Task<IReadOnlyList<string>> ExtensionsAsync(string cacheDir, string factoryUrl, string? version, string prefix, TimeSpan timeout, CancellationToken ct) =>
        OfficialNamesAsync(OfficialListKind.Extensions, cacheDir, factoryUrl, version, prefix, timeout, ct);

    /// <summary>
    /// The official overlay names of <paramref name="version"/> (or of the newest cached release), from
    /// <c>&lt;cache&gt;/versions/overlays-&lt;version&gt;.json</c>, else fetched once from <paramref name="factoryUrl"/> and kept.
    /// </summary>
    public static Task<IReadOnlyList<string>> OverlaysAsync(string cacheDir, string factoryUrl, string? version, string prefix, TimeSpan timeout, CancellationToken ct) =>
        OfficialNamesAsync(OfficialListKind.Overlays, cacheDir, factoryUrl, version, prefix, timeout, ct);

    private static async Task<IReadOnlyList<string>> OfficialNamesAsync(OfficialListKind kind, string cacheDir, string factoryUrl, string? version, string prefix, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            var v = version is not null && TalosSemVersion.TryParse(version, out var given)
                ? given
                : CachedVersions(cacheDir).Where(x => !x.IsPrerelease).OrderByDescending(x => x).FirstOrDefault();
            if (v is null)
            {
                return Array.Empty<string>();
            }
            var names = OfficialListCache.ReadNames(cacheDir, kind, v.ToString());
            if (names is null)
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(timeout);
                var http = HttpOptions.Default with { MaxAttempts = 1, ConnectTimeout = timeout, HeadersTimeout = timeout, ReadTimeout = timeout };
                var client = new FactoryClient(factoryUrl, http);
                var lists = new OfficialListCache(cacheDir, client.FactoryUrl);
                if (kind == OfficialListKind.Extensions)
                {
                    var fetched = await client.GetOfficialExtensionsAsync(v.ToString(), limit.Token).ConfigureAwait(false);
                    lists.WriteExtensions(v.ToString(), fetched, DateTimeOffset.UtcNow);
                    names = fetched.Select(e => e.Name).ToList();
                }
                else
                {
                    var fetched = await client.GetOfficialOverlaysAsync(v.ToString(), limit.Token).ConfigureAwait(false);
                    lists.WriteOverlays(v.ToString(), fetched, DateTimeOffset.UtcNow);
                    names = fetched.Select(o => o.Name).ToList();
                }
            }
            return names.OrderBy(n => n, StringComparer.Ordinal).Distinct(StringComparer.Ordinal)
                .Where(n => Matches(n, prefix) || Matches(n.Substring(n.LastIndexOf('/') + 1), prefix)).ToList();
        }
        catch (Exception e) when (e is TalosException or IOException or UnauthorizedAccessException or OperationCanceledException or Newtonsoft.Json.JsonException or InvalidCastException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>Where the official extensions of a version are kept (for completion and offline checks).</summary>
    public static string ExtensionListPath(string cacheDir, string version) =>
        OfficialListCache.PathOf(cacheDir, OfficialListKind.Extensions, version);

    private static IEnumerable<TalosSemVersion> CachedVersions(string cacheDir)
    {
        var found = new HashSet<TalosSemVersion>();
        foreach (var source in new[] { "factory", "github" })
        {
            try
            {
                var path = CachePaths.VersionList(Path.GetFullPath(cacheDir), source);
                if (File.Exists(path))
                {
                    found.UnionWith(VersionListFile.Parse(File.ReadAllText(path)).Versions.Select(e => e.Version));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or TalosException or FormatException or InvalidCastException or Newtonsoft.Json.JsonException)
            {
            }
        }
        return found;
    }

    private static bool Matches(string value, string prefix) => value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    private static IReadOnlyList<string> StartingWith(IEnumerable<string> values, string prefix) =>
        values.Where(v => Matches(v, prefix ?? "")).ToList();
}
