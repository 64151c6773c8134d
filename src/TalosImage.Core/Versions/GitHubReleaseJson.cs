using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace TalosImage.Core.Versions;

/// <summary>
/// Octokit's JSON serializer for <see cref="GitHubVersionSource"/>: the one answer it reads, a page of releases
/// (<c>List&lt;Release&gt;</c>), is read here with Newtonsoft's JToken: tag_name, draft, prerelease and published_at,
/// which are all the source uses, and the identifying fields. Octokit's own SimpleJsonSerializer finds its properties
/// by reflection at run time, which the native build of talos-order (Native AOT) does not carry out correctly (it
/// failed on every answer); it still serializes requests and reads anything else.
/// </summary>
internal sealed class GitHubReleaseJson : Octokit.Internal.IJsonSerializer
{
    private readonly Octokit.Internal.SimpleJsonSerializer _other = new();

    public string Serialize(object item) => _other.Serialize(item);

    public T Deserialize<T>(string json) =>
        typeof(T) == typeof(List<Octokit.Release>) ? (T)(object)Releases(json) : _other.Deserialize<T>(json);

    /// <summary>A page of releases; anything but a list of objects throws (FormatException or JsonException), as the source reports it.</summary>
    internal static List<Octokit.Release> Releases(string json)
    {
        JToken root;
        using (var reader = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None, MaxDepth = 64 })
        {
            root = JToken.ReadFrom(reader);
        }
        if (root is not JArray items)
        {
            throw new FormatException("expected a JSON list of releases");
        }
        var releases = new List<Octokit.Release>(items.Count);
        foreach (var item in items)
        {
            if (item is not JObject r)
            {
                throw new FormatException("expected a release object in the list");
            }
            releases.Add(new Octokit.Release(
                url: Text(r, "url"), htmlUrl: Text(r, "html_url"), assetsUrl: Text(r, "assets_url"), uploadUrl: Text(r, "upload_url"),
                id: r["id"]?.Type == JTokenType.Integer ? (long)r["id"]! : 0, nodeId: Text(r, "node_id"),
                tagName: Text(r, "tag_name"), targetCommitish: Text(r, "target_commitish"), name: Text(r, "name"), body: null,
                draft: Flag(r, "draft"), prerelease: Flag(r, "prerelease"),
                createdAt: Time(r, "created_at") ?? default, publishedAt: Time(r, "published_at"),
                author: null, tarballUrl: Text(r, "tarball_url"), zipballUrl: Text(r, "zipball_url"), assets: Array.Empty<Octokit.ReleaseAsset>()));
        }
        return releases;
    }

    private static string? Text(JObject o, string name) => o[name] is JValue { Type: JTokenType.String } v ? (string?)v : null;

    private static bool Flag(JObject o, string name) => o[name] is JValue { Type: JTokenType.Boolean } v && (bool)v;

    private static DateTimeOffset? Time(JObject o, string name) =>
        Text(o, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}
