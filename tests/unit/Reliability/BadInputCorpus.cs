using System.Text;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Tests.Reliability;

/// <summary>One damaged pair of input files: what was done to which file, and both texts.</summary>
public sealed record BadInputVariant(string Name, string Family, string Config, string Orders);

/// <summary>
/// Generates damaged config.yaml / orders.yaml pairs from talos_order.py's compat files, the project's examples and two
/// "rich" files that use every key: type swaps at every key, deletions, huge values, unicode, deep nesting, alias
/// bombs, tabs/BOM/CRLF, 10 MB files, duplicate keys and binary garbage. Seeded: the same corpus on every run.
/// </summary>
public static class BadInputCorpus
{
    /// <summary>A config with every key (its folders in <paramref name="dir"/>).</summary>
    public static string RichConfig(string dir) => $$"""
        defaults:
          cache_dir: {{dir}}/cache
          proxmox_default_iso_dir: /var/lib/vz/template/iso
          proxmox_default_import_dir: /var/lib/vz/import
          arch: amd64
          factory_url: http://127.0.0.1:9
          github_api_url: http://127.0.0.1:9
          version_source: factory
          version_cache_ttl: 3600
          concurrency: 4
          lock_timeout: 5
          push:
            enabled: false
            rsync_opts: "-av --inplace"
            ssh_opts: "-o BatchMode=yes"
            prefer_decompressed: false
            remote_expand: false
          cache_policy:
            enabled: true
            keep_versions: 3
            purge_before: false
        manifest:
          path_template: {{dir}}/manifests/manifest-{orderid}.yaml
          dir: {{dir}}/manifests
          path: {{dir}}/manifests/manifest.yaml
        proxmox:
          lab:
            url: https://127.0.0.1:9
            nodes: [pve1, pve2]
            storage: local
            token_env: PVE_LAB_TOKEN
            fingerprint: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
            method: upload
        """;

    /// <summary>Orders with every key (exact versions, so that they plan offline).</summary>
    public const string RichOrders = """
        orders:
          - orderid: RICH-1
            customer: Rich Customer
            positions:
              - name: iso
                product: talos
                version: {type: exact, value: v1.11.5}
                platform: nocloud
                image_format: iso
                arch: amd64
                secureboot: false
                decompress_raw: false
                customization:
                  extraKernelArgs: [console=ttyS0]
                  meta: [{key: 10, value: hello}]
                  systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]}
                  secureboot: {includeWellKnownCertificates: true}
                push:
                  enabled: true
                  prefer_decompressed: false
                  remote_expand: false
                  hosts:
                    - host: pve-01.example.lan
                      iso_dir: /var/lib/vz/template/iso
                      import_dir: /var/lib/vz/import
                    - pve-02
                  proxmox: [lab]
              - name: disk
                product: talos
                version: v1.11.5
                platform: metal
                image_format: raw.zst
                schematic_id: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
              - name: sbc
                product: talos
                version: {type: exact, value: v1.11.5}
                platform: metal
                arch: arm64
                image_format: raw.xz
                overlay: {image: siderolabs/sbc-raspberrypi, name: rpi_generic, options: {configTxtAppend: "dtoverlay=x"}}
          - orderid: RICH-2
            positions: []
        """;

    /// <summary>Strings that break naive code: bidi overrides, zero-width, NUL and other controls, surrogate pairs, emoji, terminal escapes.</summary>
    public static readonly string[] NastyStrings =
    {
        "\u202Eevil\u202C", "zero\u200Bwidth\u200D", "nul\0byte", "bell\a\bback", "\u001b[2J\u001b[31mred", "emoji 🐧🔥👩‍👩‍👧",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0001F600", "Ａｍｄ６４", "amd64\u00A0", "\uFEFFbom", "line\nbreak", "cr\rreturn", "tab\tbed", "ﷺ ﷽",
        "\u0085next-line", "a\u2028b\u2029c", "İı", "x\u0301\u0301\u0301", "\u00ad", "..", "/", "-oProxyCommand=x",
    };

    public static IReadOnlyList<BadInputVariant> Generate(string dir, int seed = 9)
    {
        var random = new Random(seed);
        var bases = new List<(string Name, string Config, string Orders)>
        {
            ("compat", Rewrite(File.ReadAllText(TestPaths.Compat("talos_order-config.yaml")), dir), File.ReadAllText(TestPaths.Compat("talos_order-orders.yaml"))),
            ("example", Rewrite(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "config.yaml")), dir), File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "orders.yaml"))),
            ("rich", RichConfig(dir), RichOrders),
        };
        var variants = new List<BadInputVariant>();
        foreach (var (name, config, orders) in bases)
        {
            variants.Add(new(name + ":unchanged", "unchanged", config, orders));
            foreach (var which in new[] { "config", "orders" })
            {
                var text = which == "config" ? config : orders;
                BadInputVariant Make(string what, string family, string mutated) =>
                    which == "config" ? new($"{name}:{which}:{what}", family, mutated, orders) : new($"{name}:{which}:{what}", family, config, mutated);

                var parsed = Parse(text);
                var paths = Paths(parsed).ToList();
                foreach (var path in paths)
                {
                    // Type swaps: every key and item gets another shape (seeded); every other mapping key is deleted.
                    var kind = Swaps[random.Next(Swaps.Length)];
                    variants.Add(Make($"{Show(path)}={kind}", "type-swap", Mutate(text, path, _ => NewNode(kind))));
                    if (path[^1] is string && random.Next(2) == 0)
                    {
                        variants.Add(Make($"{Show(path)}:deleted", "deletion", Mutate(text, path, null)));
                    }
                }
                var scalars = paths.Where(p => At(parsed, p) is YamlScalarNode).ToList();
                foreach (var path in Pick(random, scalars, 6))
                {
                    var nasty = NastyStrings[random.Next(NastyStrings.Length)];
                    variants.Add(Make($"{Show(path)}=unicode", "unicode-value", Mutate(text, path, _ => new YamlScalarNode(nasty) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted })));
                }
                foreach (var path in Pick(random, paths.Where(p => p[^1] is string).ToList(), 4))
                {
                    var nasty = NastyStrings[random.Next(NastyStrings.Length)];
                    variants.Add(Make($"{Show(path)}:key=unicode", "unicode-key", RenameKey(text, path, path[^1] + nasty)));
                }
                foreach (var path in Pick(random, scalars, 2))
                {
                    variants.Add(Make($"{Show(path)}=3MB", "huge-value", Mutate(text, path, _ => new YamlScalarNode(new string('A', 3 * 1024 * 1024)))));
                }
                foreach (var path in Pick(random, paths, 1))
                {
                    variants.Add(Make($"{Show(path)}=100k-list", "huge-list", Mutate(text, path, _ => new YamlSequenceNode(Enumerable.Range(0, 100_000).Select(i => (YamlNode)new YamlScalarNode("x" + i))))));
                }
                variants.Add(Make($"10MB-value", "10MB-file", Mutate(text, paths[random.Next(paths.Count)], _ => new YamlScalarNode(new string('B', 10 * 1024 * 1024)))));
                variants.Add(Make("10MB-comment", "10MB-file", text + "\n#" + new string('c', 10 * 1024 * 1024) + "\n"));
                variants.Add(Make("tabs", "whitespace", text.Replace("  ", "\t")));
                variants.Add(Make("bom", "whitespace", "\uFEFF" + text));
                variants.Add(Make("crlf", "whitespace", text.Replace("\n", "\r\n")));
                variants.Add(Make("cr-only", "whitespace", text.Replace("\n", "\r")));
                variants.Add(Make("bom+crlf+tab-indent", "whitespace", "\uFEFF" + text.Replace("\n  ", "\r\n\t")));
                variants.Add(Make("duplicate-first-key", "duplicate-key", DuplicateFirstKey(text)));
                variants.Add(Make("duplicate-nested-key", "duplicate-key", DuplicateNestedKey(text)));
                for (var cut = 1; cut <= 3; cut++)
                {
                    var at = random.Next(1, text.Length);
                    variants.Add(Make($"truncated@{at}", "truncated", text.Substring(0, at)));
                }
                for (var g = 0; g < 3; g++)
                {
                    var bytes = new byte[random.Next(1, 4096)];
                    random.NextBytes(bytes);
                    variants.Add(Make($"garbage#{g}", "binary-garbage", Encoding.Latin1.GetString(bytes)));
                    var at = random.Next(0, text.Length);
                    variants.Add(Make($"garbage-inserted#{g}@{at}", "binary-garbage", text.Insert(at, Encoding.Latin1.GetString(bytes, 0, Math.Min(bytes.Length, 16)))));
                }
                variants.Add(Make("raw-nul", "binary-garbage", text.Insert(text.Length / 2, "\0")));
                variants.Add(Make("lone-surrogate-escape", "unicode-value", text + "\nzz: \"\\uD800\"\n"));
                variants.Add(Make("deep-flow-10000", "deep-nesting", DeepFlow(text, 10_000)));
                variants.Add(Make("deep-block-200", "deep-nesting", DeepBlock(text, 200)));
                variants.Add(Make("deep-flow-map-3000", "deep-nesting", text + "\nzz: " + string.Concat(Enumerable.Repeat("{a: ", 3000)) + "1" + new string('}', 3000) + "\n"));
                foreach (var (bombName, bomb) in Bombs())
                {
                    variants.Add(Make(bombName, "alias-bomb", bomb(text)));
                }
                variants.Add(Make("empty", "structure", ""));
                variants.Add(Make("only-comment", "structure", "# nothing\n"));
                variants.Add(Make("two-documents", "structure", text + "\n---\n" + text));
                variants.Add(Make("directive+tags", "structure", "%YAML 1.1\n---\n" + text + "\nzz: !!binary aGVsbG8=\nyy: !custom {a: 1}\n"));
                variants.Add(Make("complex-key", "structure", "? [a, b]\n: c\n" + text));
                variants.Add(Make("scalar-root", "structure", "just a string\n"));
                variants.Add(Make("anchor-undefined", "alias-bomb", text + "\nzz: *nowhere\n"));
            }
        }
        return variants;
    }

    private static readonly string[] Swaps = { "string", "list", "map", "number", "bool", "null", "huge-number", "float" };

    private static YamlNode NewNode(string kind) => kind switch
    {
        "string" => new YamlScalarNode("x") { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted },
        "list" => new YamlSequenceNode(new YamlScalarNode("a"), new YamlScalarNode("b")),
        "map" => new YamlMappingNode(new YamlScalarNode("k"), new YamlScalarNode("v")),
        "number" => new YamlScalarNode("-42"),
        "bool" => new YamlScalarNode("true"),
        "null" => new YamlScalarNode("~"),
        "huge-number" => new YamlScalarNode("999999999999999999999999999999"),
        "float" => new YamlScalarNode("1e309"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Points the compat and example files' folders into <paramref name="dir"/>, so a run would write only there.</summary>
    private static string Rewrite(string config, string dir) => config
        .Replace("/var/cache/talos-sync/manifests", dir + "/manifests")
        .Replace("/var/cache/talos-sync", dir + "/cache")
        .Replace("out/example-cache", dir + "/cache")
        .Replace("out/example-manifests", dir + "/manifests");

    private static YamlNode? Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    private static string Save(YamlNode root)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>Every key and list item in the tree, as a path of keys (string) and indexes (int).</summary>
    private static IEnumerable<object[]> Paths(YamlNode? node, object[]? prefix = null)
    {
        prefix ??= Array.Empty<object>();
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var kv in map.Children)
                {
                    var p = prefix.Append(((YamlScalarNode)kv.Key).Value!).ToArray();
                    yield return p;
                    foreach (var inner in Paths(kv.Value, p))
                    {
                        yield return inner;
                    }
                }
                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    var p = prefix.Append(i).ToArray();
                    yield return p;
                    foreach (var inner in Paths(seq.Children[i], p))
                    {
                        yield return inner;
                    }
                }
                break;
        }
    }

    private static YamlNode? At(YamlNode? root, object[] path)
    {
        var node = root;
        foreach (var step in path)
        {
            node = step is string key ? ((YamlMappingNode)node!).Children[new YamlScalarNode(key)] : ((YamlSequenceNode)node!).Children[(int)step];
        }
        return node;
    }

    /// <summary>The text with the value at <paramref name="path"/> replaced (or removed when <paramref name="replace"/> is null).</summary>
    private static string Mutate(string text, object[] path, Func<YamlNode, YamlNode>? replace)
    {
        var root = Parse(text)!;
        var parent = At(root, path[..^1]);
        var last = path[^1];
        if (parent is YamlMappingNode map)
        {
            var key = new YamlScalarNode((string)last);
            if (replace is null)
            {
                map.Children.Remove(key);
            }
            else
            {
                map.Children[key] = replace(map.Children[key]);
            }
        }
        else if (parent is YamlSequenceNode seq)
        {
            if (replace is null)
            {
                seq.Children.RemoveAt((int)last);
            }
            else
            {
                seq.Children[(int)last] = replace(seq.Children[(int)last]);
            }
        }
        return Save(root);
    }

    private static string RenameKey(string text, object[] path, string newKey)
    {
        var root = Parse(text)!;
        var map = (YamlMappingNode)At(root, path[..^1])!;
        var old = new YamlScalarNode((string)path[^1]);
        var value = map.Children[old];
        var copy = map.Children.ToList();
        map.Children.Clear();
        foreach (var kv in copy)
        {
            map.Children.Add(kv.Key.Equals(old) ? new YamlScalarNode(newKey) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted } : kv.Key, kv.Value);
        }
        return Save(root);
    }

    private static IEnumerable<T> Pick<T>(Random random, IReadOnlyList<T> items, int count) =>
        items.Count == 0 ? Enumerable.Empty<T>() : Enumerable.Range(0, count).Select(_ => items[random.Next(items.Count)]);

    private static string Show(object[] path) => string.Join("", path.Select((s, i) => s is int n ? $"[{n}]" : (i == 0 ? "" : ".") + s));

    private static string DuplicateFirstKey(string text)
    {
        var lines = text.Split('\n').ToList();
        var i = lines.FindIndex(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith(' ') && l.Contains(':'));
        if (i < 0)
        {
            return text + "\na: 1\na: 2\n";
        }
        return string.Join('\n', lines) + "\n" + lines[i].Split(':')[0] + ": duplicated\n";
    }

    private static string DuplicateNestedKey(string text)
    {
        var lines = text.Split('\n').ToList();
        var i = lines.FindIndex(l => l.StartsWith("    ", StringComparison.Ordinal) && !l.TrimStart().StartsWith('-') && !l.TrimStart().StartsWith('#') && l.Contains(':'));
        if (i < 0)
        {
            return text;
        }
        lines.Insert(i + 1, lines[i]);
        return string.Join('\n', lines);
    }

    private static string DeepFlow(string text, int depth) => text + "\nzz: " + new string('[', depth) + new string(']', depth) + "\n";

    private static string DeepBlock(string text, int depth)
    {
        var sb = new StringBuilder(text).Append("\nzz:\n");
        for (var i = 1; i <= depth; i++)
        {
            sb.Append(' ', i).Append("k:\n");
        }
        return sb.ToString();
    }

    /// <summary>Billion laughs and friends: each level multiplies the one before by ten (or more) through aliases.</summary>
    private static IEnumerable<(string, Func<string, string>)> Bombs()
    {
        static string Laughs(int levels, int width, string top)
        {
            var sb = new StringBuilder();
            sb.Append("l0: &l0 [").Append(string.Join(", ", Enumerable.Repeat("\"lol\"", width))).Append("]\n");
            for (var i = 1; i < levels; i++)
            {
                sb.Append($"l{i}: &l{i} [").Append(string.Join(", ", Enumerable.Repeat($"*l{i - 1}", width))).Append("]\n");
            }
            return sb.Append(top.Replace("TOP", $"*l{levels - 1}")).ToString();
        }
        yield return ("billion-laughs-top-level", t => Laughs(9, 10, "") + t);
        yield return ("billion-laughs-in-orders", _ => Laughs(9, 10, "orders:\n  - orderid: BOMB\n    positions: TOP\n"));
        yield return ("billion-laughs-in-overlay-options", _ => Laughs(9, 10, "orders:\n  - orderid: BOMB\n    positions:\n      - {product: talos, overlay: {image: i, name: n, options: {x: TOP}}}\n"));
        yield return ("billion-laughs-in-kernel-args", _ => Laughs(7, 10, "orders:\n  - orderid: BOMB\n    positions:\n      - {product: talos, customization: {extraKernelArgs: TOP}}\n"));
        yield return ("laughs-under-the-node-limit-in-positions", _ => Laughs(4, 12, "orders:\n  - orderid: BOMB\n    positions: TOP\n"));
        yield return ("aliased-positions-x1000", _ =>
            "p: &p {product: talos, customization: {}, version: v1.11.5}\norders:\n  - orderid: BOMB\n    positions: [" + string.Join(", ", Enumerable.Repeat("*p", 1000)) + "]\n");
        yield return ("aliases-as-keys", t => "k: &k key\n*k : 1\n" + t);
        yield return ("merge-key-bomb", _ => Laughs(6, 10, "") + "m0: &m0 {a: *l5}\nm1: &m1 {<<: *m0, b: *l5}\norders:\n  - orderid: BOMB\n    <<: *m1\n");
        yield return ("self-alias", _ => "a: &a [*a]\n");
    }
}
