using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Publishing.Ssh;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Orders.Schema;

/// <summary>
/// One mapping of an input file read against its <see cref="ObjectSchema"/>: unknown keys were refused when it was
/// opened, and each value is read as its schema says (type, range, allowed values, pattern, format), every problem
/// recorded with its line, column and key path. A key the schema does not know is a bug in the loader and throws.
/// </summary>
internal sealed class Section
{
    private readonly YamlInput _y;
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries;
    private readonly Func<string, string?>? _environment;

    private Section(YamlInput y, YamlNode? node, string path, ObjectSchema schema, Dictionary<string, (YamlScalarNode, YamlNode)> entries, Func<string, string?>? environment)
    {
        _y = y;
        Node = node;
        Path = path;
        Schema = schema;
        _entries = entries;
        _environment = environment;
    }

    /// <summary>The mapping at <paramref name="node"/>, or null (with a problem recorded) when it is not one; null counts as empty.</summary>
    public static Section? Open(YamlInput y, YamlNode? node, string path, ObjectSchema schema, Func<string, string?>? environment = null) =>
        y.Map(node, path, schema.Keys) is { } entries ? new Section(y, node, path, schema, entries, environment) : null;

    public YamlNode? Node { get; }
    public string Path { get; }
    public ObjectSchema Schema { get; }
    public YamlInput Input => _y;

    public bool Has(string key) => _entries.ContainsKey(Check(key));

    /// <summary>The key is there with a value other than null.</summary>
    public bool IsSet(string key) => _entries.TryGetValue(Check(key), out var e) && !YamlInput.IsNull(e.Value);

    public bool TryGet(string key, out (YamlScalarNode Key, YamlNode Value) entry) => _entries.TryGetValue(Check(key), out entry);

    public YamlNode ValueNode(string key) => _entries[Check(key)].Value;

    public YamlScalarNode KeyNode(string key) => _entries[Check(key)].Key;

    public string PathOf(string key) => YamlInput.Join(Path, key);

    /// <summary>The section below <paramref name="key"/> (empty when the key is missing or null); null when it is not a mapping.</summary>
    public Section? Object(string key)
    {
        var schema = (ObjectSchema)Schema[key].Node;
        return TryGet(key, out var e) ? Open(_y, e.Value, PathOf(key), schema, _environment) : null;
    }

    public bool? Bool(string key) => TryGet(key, out var e) ? _y.Bool(e.Value, PathOf(key)) : null;

    public long? Integer(string key)
    {
        var s = Scalar(key, ScalarType.Integer);
        return TryGet(key, out var e) ? _y.Integer(e.Value, PathOf(key) + (s.Unit is { } unit ? $" ({unit})" : ""), s.Min, s.Max) : null;
    }

    public TimeSpan? Seconds(string key) => Integer(key) is { } s ? TimeSpan.FromSeconds(s) : null;

    /// <summary>The items of the list at <paramref name="key"/> (null counts as empty); null when missing or not a list.</summary>
    public IReadOnlyList<YamlNode>? List(string key) =>
        TryGet(key, out var e) ? _y.List(e.Value, PathOf(key), ((ListSchema)Schema[key].Node).ItemDescription) : null;

    public IReadOnlyList<string>? StringList(string key) => TryGet(key, out var e) ? _y.StringList(e.Value, PathOf(key)) : null;

    /// <summary>A string value as written, without the checks of <see cref="Text"/> (the caller checks it).</summary>
    public string? Raw(string key)
    {
        var s = Scalar(key, ScalarType.String);
        return TryGet(key, out var e) ? _y.String(e.Value, PathOf(key), required: !s.Nullable) : null;
    }

    /// <summary>
    /// A string value checked as its schema says: its format (paths, URLs, options), allowed values with the nearest as a
    /// hint, its pattern. Null when missing, null, or refused (with the problem recorded).
    /// </summary>
    public string? Text(string key)
    {
        var s = Scalar(key, ScalarType.String);
        if (!TryGet(key, out var e))
        {
            return null;
        }
        var node = e.Value;
        var path = PathOf(key);
        var value = _y.String(node, path, required: !s.Nullable);
        if (s.BlankIsUnset && string.IsNullOrWhiteSpace(value))
        {
            return null; // talos_order.py's manifest keys: an empty value counts as not given
        }
        if (value is null)
        {
            return null;
        }
        switch (s.Format)
        {
            case ValueFormat.LocalPath:
                return LocalPath(node, path, value);
            case ValueFormat.RemoteDir:
                if (SshSafety.RemotePathProblem(value) is { } remoteProblem)
                {
                    _y.Add(node, path, remoteProblem);
                    return null;
                }
                return SshSafety.NormaliseRemoteDir(value);
            case ValueFormat.HttpUrl or ValueFormat.HttpsUrl:
                var https = s.Format == ValueFormat.HttpsUrl;
                if (!Urls.IsHttpUrl(value) || (https && !value.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
                {
                    _y.Add(node, path, $"expected an {(https ? "https" : "http(s)")} URL without user name or password; got '{SshSafety.Printable(value)}'");
                    return null;
                }
                return value.TrimEnd('/');
            case ValueFormat.SshOptions or ValueFormat.RsyncOptions:
                try
                {
                    if (s.Format == ValueFormat.SshOptions)
                    {
                        SshSafety.CheckSshOptions(value, key);
                    }
                    else
                    {
                        SshSafety.CheckRsyncOptions(value, key);
                    }
                    return value;
                }
                catch (TalosException ex)
                {
                    _y.Add(node, path, ex.Message);
                    return null;
                }
            case ValueFormat.Host:
                if (SshSafety.HostProblem(value) is { } hostProblem)
                {
                    _y.Add(node, path, hostProblem);
                    return null;
                }
                return value;
        }
        if (s.Enum is not null && !IsAllowed(s, value))
        {
            Unknown(key, value);
            return null;
        }
        if (s.Pattern is not null && s.PatternMessage is not null && !Regex.IsMatch(value, s.Pattern, RegexOptions.CultureInvariant))
        {
            _y.Add(node, path, s.PatternMessage(value));
        }
        return value;
    }

    /// <summary>Records that <paramref name="value"/> at <paramref name="key"/> is not one of the allowed values, with the nearest one as a hint.</summary>
    public void Unknown(string key, string value)
    {
        var s = Scalar(key, ScalarType.String);
        var allowed = s.Enum ?? Array.Empty<string>();
        var hint = NearMiss.Suggest(value, allowed.Concat(s.Aliases));
        _y.Add(ValueNode(key), PathOf(key), s.UnknownMessage is { } message
            ? message(value, hint)
            : $"'{value}' is not allowed; expected {string.Join(" or ", allowed)}" + (hint is not null ? $" (did you mean '{hint}'?)" : ""));
    }

    private static bool IsAllowed(ScalarSchema s, string value) =>
        s.Enum!.Concat(s.Aliases).Contains(value, s.IgnoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private string? LocalPath(YamlNode node, string path, string value)
    {
        if (value.Trim().Length == 0 || value.IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0 || value.IndexOf('\0') >= 0)
        {
            _y.Add(node, path, $"'{SshSafety.Printable(value)}' is not a usable path (empty, or a character no file name may hold)");
            return null;
        }
        return _environment is not null && value.StartsWith("~", StringComparison.Ordinal) ? ExpandHome(node, path, value, _environment) : value;
    }

    /// <summary>
    /// <c>~</c> and <c>~/...</c> as a shell expands them: the home folder (HOME; on Windows USERPROFILE, then HOME).
    /// <c>~name</c> (another user's home) is refused rather than taken as a folder named "~name".
    /// </summary>
    private string? ExpandHome(YamlNode node, string path, string value, Func<string, string?> environment)
    {
        var rest = value.Substring(1);
        if (rest.Length > 0 && rest[0] != '/' && rest[0] != System.IO.Path.DirectorySeparatorChar)
        {
            var user = rest.Split('/', System.IO.Path.DirectorySeparatorChar)[0];
            _y.Add(node, path, $"'~{SshSafety.Printable(user)}' (another user's home folder) is not expanded; write the full path, or ~/... for your own home folder");
            return null;
        }
        var variables = System.IO.Path.DirectorySeparatorChar == '\\' ? new[] { "USERPROFILE", "HOME" } : new[] { "HOME" };
        var home = variables.Select(environment).FirstOrDefault(h => !string.IsNullOrEmpty(h));
        if (home is null)
        {
            _y.Add(node, path, $"'~' means the home folder, but {string.Join(" and ", variables)} {(variables.Length > 1 ? "are" : "is")} not set; write the full path");
            return null;
        }
        return rest.TrimStart('/', System.IO.Path.DirectorySeparatorChar).Length == 0 ? home : System.IO.Path.Combine(home!, rest.TrimStart('/', System.IO.Path.DirectorySeparatorChar));
    }

    private ScalarSchema Scalar(string key, ScalarType type) =>
        Schema[key].Node is ScalarSchema s && s.Type == type ? s : throw new InvalidOperationException($"{PathOf(key)} is not a {type} in the schema");

    private string Check(string key) => Schema.Contains(key) ? key : throw new KeyNotFoundException($"the schema has no key '{key}' at '{Path}'");
}

/// <summary>The URL rule of the input files: absolute http(s), no user info, no query.</summary>
internal static class Urls
{
    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https") && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Query);

    /// <summary>Why <see cref="IsHttpUrl"/> refuses <paramref name="value"/>, as the rest of a sentence.</summary>
    public static string Problem(string value) =>
        !Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") ? "must be an absolute http(s) URL"
        : !string.IsNullOrEmpty(uri.UserInfo) ? "holds a user name or password, which a factory URL must not have"
        : "has a query (?...), which a factory URL must not have";
}
