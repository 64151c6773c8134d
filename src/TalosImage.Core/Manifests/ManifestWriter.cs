using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TalosImage.Core.Schematics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Manifests;

/// <summary>Writes manifests as YAML in a fixed key order, atomically (temporary file, then rename).</summary>
public static class ManifestWriter
{
    public static void Write(OrderManifest manifest, string path) => AtomicFile.WriteAllText(path, ToYaml(manifest));

    public static string ToYaml(OrderManifest m)
    {
        var root = new YamlMappingNode
        {
            { "generated_at", Str(Time(m.GeneratedAt)) },
            { "tool", new YamlMappingNode { { "name", Str(ToolInfo.Name) }, { "version", Str(ToolInfo.Version) } } },
            {
                "order", new YamlMappingNode
                {
                    { "orderid", Str(m.OrderId) }, { "customer", Str(m.Customer) }, { "positions_count", Num(m.PositionsCount) },
                }
            },
            { "status", Str(m.Status) },
            { "dry_run", Bool(m.DryRun) },
            { "duration_s", Seconds(m.DurationSeconds) },
            { "source_config", Str(m.SourceConfig) },
            { "source_orders", Str(m.SourceOrders) },
            {
                "cache_policy", new YamlMappingNode
                {
                    { "enabled", Bool(m.CachePolicyEnabled) }, { "keep_versions", Num(m.CachePolicyKeepVersions) }, { "purge_before", Bool(m.CachePolicyPurgeBefore) },
                }
            },
            { "entries", new YamlSequenceNode(m.Entries.Select(Entry)) },
        };
        if (m.RemoteRetention.Count > 0)
        {
            root.Add("remote_retention", new YamlSequenceNode(m.RemoteRetention.Select(r => (YamlNode)new YamlMappingNode
            {
                { "transport", Str(r.Transport) }, { "host", Str(r.Host) }, { "storage", Str(r.Storage) }, { "path", Str(r.Path) },
                { "version", Str(r.Version) }, { "family", Str(r.Family) }, { "size_bytes", Num(r.SizeBytes) }, { "status", Str(r.Status) },
                { "used_by", new YamlSequenceNode(r.UsedBy.Select(u => Str(u))) }, { "error", Str(r.Error) },
            })));
        }
        var writer = new StringWriter { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends a document with "...": a manifest is a single plain document.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
        {
            text = text.Substring(0, text.Length - 4);
        }
        return text;
    }

    private static YamlNode Entry(ManifestEntry e)
    {
        var map = new YamlMappingNode
        {
            { "name", Str(e.Name) },
            { "status", Str(e.Status) },
        };
        if (e.Error is not null)
        {
            map.Add("error", Str(e.Error));
            map.Add("error_id", Str(e.ErrorId));
        }
        map.Add("product", Str(e.Product));
        map.Add("platform", Str(e.Platform));
        map.Add("arch", Str(e.Arch));
        map.Add("version", Str(e.Version));
        map.Add("version_source", Str(e.VersionSource));
        map.Add("version_request", Str(e.VersionRequest));
        map.Add("secureboot", Bool(e.SecureBoot));
        map.Add("image_format", Str(e.ImageFormat));
        map.Add("asset", Str(e.Asset));
        map.Add("schematic_id", Str(e.SchematicId));
        map.Add("schematic_source", Str(e.SchematicSource));
        map.Add("url", Str(e.Url));
        map.Add("installer_image", Str(e.InstallerImage));
        map.Add("cache_dir", Str(e.CacheDir));
        map.Add("download", e.Download is null ? new YamlMappingNode() : File(e.Download));
        map.Add("decompressed", e.Decompressed is null ? new YamlMappingNode() : File(e.Decompressed));
        map.Add("pushed", new YamlSequenceNode(e.Pushed.Select(Push)));
        if (e.Templates.Count > 0)
        {
            map.Add("templates", new YamlSequenceNode(e.Templates.Select(Template)));
        }
        map.Add("features", new YamlMappingNode { { "officialExtensions", new YamlSequenceNode(e.Extensions.Select(x => Str(x))) } });
        if (e.Warnings.Count > 0)
        {
            map.Add("warnings", new YamlSequenceNode(e.Warnings.Select(w => Str(w))));
        }
        map.Add("duration_s", Seconds(e.DurationSeconds));
        map.Add("timestamp_utc", Str(Time(e.TimestampUtc)));
        return map;
    }

    private static YamlNode File(ManifestFile f)
    {
        var map = new YamlMappingNode
        {
            { "path", Str(f.Path) },
            { "done", Bool(f.Done) },
            { "sha256", Str(f.Sha256) },
            { "size_bytes", f.SizeBytes is { } s ? Num(s) : Null() },
            { "from_cache", Bool(f.FromCache) },
            { "duration_s", Seconds(f.DurationSeconds) },
        };
        if (f.HashSource is { Length: > 0 } source)
        {
            // factory-sha256 / factory-sha512: checked against the factory's checksum file; local: computed here only.
            map.Add("hash_source", Str(source));
        }
        return map;
    }

    private static YamlNode Push(ManifestPush p)
    {
        var map = new YamlMappingNode
        {
            { "host", Str(p.Host) },
            { "status", Str(p.Status) },
            { "transport", Str(p.Transport) },
            { "destination", Str(p.Destination) },
        };
        if (p.VolumeId is not null)
        {
            map.Add("volume_id", Str(p.VolumeId));
        }
        map.Add("bytes_sent", Num(p.BytesSent));
        map.Add("verified", Bool(p.Verified));
        map.Add("duration_s", Seconds(p.DurationSeconds));
        map.Add("stderr", Str(p.Stderr ?? ""));
        return map;
    }

    private static YamlNode Template(ManifestTemplate t)
    {
        var map = new YamlMappingNode
        {
            { "endpoint", Str(t.Endpoint) },
            { "node", Str(t.Node) },
            { "status", Str(t.Status) },
            { "vmid", t.VmId is { } id ? Num(id) : Null() },
            { "name", Str(t.Name) },
            { "storage", Str(t.Storage) },
        };
        if (t.SourceVolumeId is not null)
        {
            map.Add("source_volume_id", Str(t.SourceVolumeId));
            map.Add("sha256", Str(t.Sha256));
            map.Add("installer_image", Str(t.InstallerImage));
        }
        if (t.Error is not null)
        {
            map.Add("error", Str(t.Error));
        }
        map.Add("duration_s", Seconds(t.DurationSeconds));
        return map;
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static YamlScalarNode Null() => new("null") { Style = ScalarStyle.Plain };

    private static YamlScalarNode Str(string? s)
    {
        if (s is null)
        {
            return Null();
        }
        s = SafeText.Redact(s); // no token reaches a manifest, whatever a message or a server carried
        // Plain unless it would read back as another type; the emitter itself quotes what cannot be plain.
        var plain = s.Length > 0 && !SchematicYaml.ReadsAsNonString(s) && s.IndexOfAny(new[] { '\n', '\r' }) < 0;
        return new YamlScalarNode(s) { Style = plain ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted };
    }

    private static YamlScalarNode Num(long n) => new(n.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    private static YamlScalarNode Seconds(double s) => new(Math.Round(s, 3).ToString("0.###", CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    private static YamlScalarNode Bool(bool b) => new(b ? "true" : "false") { Style = ScalarStyle.Plain };
}
