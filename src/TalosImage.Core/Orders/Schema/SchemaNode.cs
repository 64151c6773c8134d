using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Orders.Schema;

/// <summary>
/// One node of the declarative description of config.yaml and orders.yaml (<see cref="InputSchema"/>): what a value is,
/// what it means, its default and its constraints. The loader reads through it, docs/CONFIGURATION.md's key tables and
/// the JSON Schemas in schemas/ are written from it.
/// </summary>
public abstract class SchemaNode
{
    /// <summary>What the value means, in Markdown (docs tables; the JSON Schemas' markdownDescription).</summary>
    public string Description { get; init; } = "";

    /// <summary>The default as a JSON value (string, bool, long), or null when there is none to state.</summary>
    public object? Default { get; init; }

    /// <summary>The default as the docs table shows it when <see cref="Default"/> does not say it (e.g. "required", "`defaults.arch`").</summary>
    public string? DefaultText { get; init; }

    /// <summary>A key this project added; talos_order.py does not know it.</summary>
    public bool New { get; init; }

    /// <summary>How the loader differs from talos_order.py here, when it does.</summary>
    public string? Compat { get; init; }

    /// <summary>A YAML null (or no value) counts as not given, as talos_order.py reads it.</summary>
    public bool Nullable { get; init; } = true;

    /// <summary>Docs: one table row for this node, its keys not listed one by one.</summary>
    public bool DocsOneRow { get; init; }
}

/// <summary>A mapping with known keys; any other key is refused with the nearest known key as a hint.</summary>
public sealed class ObjectSchema : SchemaNode
{
    private readonly Dictionary<string, Property> _byName;

    public ObjectSchema(params Property[] properties)
    {
        Properties = properties;
        _byName = properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
        Keys = properties.Select(p => p.Name).ToArray();
    }

    public IReadOnlyList<Property> Properties { get; }

    /// <summary>The known keys, in the order the messages list them.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Rules between keys of this mapping (one of two keys, a value that limits another).</summary>
    public IReadOnlyList<SchemaRule> Rules { get; init; } = Array.Empty<SchemaRule>();

    /// <summary>Rows the docs table shows after this mapping's keys (a rule that is no key of its own).</summary>
    public IReadOnlyList<DocsRow> DocsRows { get; init; } = Array.Empty<DocsRow>();

    /// <summary>Any key is allowed (free-form data such as overlay options).</summary>
    public bool Open { get; init; }

    /// <summary>The property named <paramref name="name"/>; a name the schema does not know is a bug in the loader.</summary>
    public Property this[string name] =>
        _byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"the schema has no key '{name}' here (known: {string.Join(", ", Keys)})");

    public bool Contains(string name) => _byName.ContainsKey(name);
}

/// <summary>A row of a docs table that is no key: its first column, its default, its meaning (Markdown).</summary>
public sealed record DocsRow(string Key, string Default, string Meaning);

/// <summary>A key of a mapping and its value's description.</summary>
public sealed class Property
{
    public Property(string name, SchemaNode node, bool required = false)
    {
        Name = name;
        Node = node;
        Required = required;
    }

    public string Name { get; }
    public SchemaNode Node { get; }
    public bool Required { get; }
}

/// <summary>A list of items of one kind.</summary>
public sealed class ListSchema : SchemaNode
{
    public ListSchema(SchemaNode item, string itemDescription)
    {
        Item = item;
        ItemDescription = itemDescription;
    }

    public SchemaNode Item { get; }

    /// <summary>What the items are, as "expected a list of ..." says it.</summary>
    public string ItemDescription { get; }

    /// <summary>No item may appear twice: JSON Schema's <c>uniqueItems</c>; the loader says it in its own words (e.g. SchematicReader for extensions).</summary>
    public bool Unique { get; init; }
}

/// <summary>A mapping of names (chosen by the user, matching <see cref="NamePattern"/>) to values of one kind.</summary>
public sealed class MapSchema : SchemaNode
{
    public MapSchema(SchemaNode value, string namePattern, string nameText)
    {
        Value = value;
        NamePattern = namePattern;
        NameText = nameText;
    }

    public SchemaNode Value { get; }

    /// <summary>The names allowed, as a regular expression (.NET and ECMA-262 alike).</summary>
    public string NamePattern { get; }

    /// <summary>How the docs name a key of this map, e.g. "&lt;name&gt;".</summary>
    public string NameText { get; }
}

/// <summary>One of several shapes (a shorthand string or a mapping; a bare host name or a mapping).</summary>
public sealed class ChoiceSchema : SchemaNode
{
    public ChoiceSchema(params SchemaNode[] alternatives) => Alternatives = alternatives;

    public IReadOnlyList<SchemaNode> Alternatives { get; }
}

public enum ScalarType
{
    String,
    Boolean,
    Integer,
}

/// <summary>What a string value is beyond its characters: each has one check in the loader and one pattern in the JSON Schema.</summary>
public enum ValueFormat
{
    None,
    /// <summary>A local path; <c>~</c> and <c>~/...</c> are the home folder.</summary>
    LocalPath,
    /// <summary>An absolute remote folder of safe characters (SshSafety.RemotePathProblem).</summary>
    RemoteDir,
    /// <summary>An http(s) URL without user info or query.</summary>
    HttpUrl,
    /// <summary>An https URL without user info or query.</summary>
    HttpsUrl,
    /// <summary>ssh options (SshSafety.CheckSshOptions).</summary>
    SshOptions,
    /// <summary>rsync options (SshSafety.CheckRsyncOptions).</summary>
    RsyncOptions,
    /// <summary>[user@]host (SshSafety.HostProblem).</summary>
    Host,
}

/// <summary>A string, boolean or whole number with its constraints.</summary>
public sealed class ScalarSchema : SchemaNode
{
    public ScalarSchema(ScalarType type) => Type = type;

    public ScalarType Type { get; }

    /// <summary>Integer bounds (inclusive).</summary>
    public long Min { get; init; } = long.MinValue;
    public long Max { get; init; } = long.MaxValue;

    /// <summary>The unit the messages name after the key (" (seconds)").</summary>
    public string? Unit { get; init; }

    /// <summary>The allowed values (strings), or null for any.</summary>
    public IReadOnlyList<string>? Enum { get; init; }

    /// <summary>Further spellings the loader takes for an allowed value (talos_order.py's aliases); offered as near misses too.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = Array.Empty<string>();

    /// <summary>Enum values are matched ignoring case (and surrounding spaces).</summary>
    public bool IgnoreCase { get; init; }

    /// <summary>
    /// The message for a value that is not in <see cref="Enum"/>, from the value and the near-miss hint (null when none is
    /// close); null for the common "'x' is not allowed; expected a or b (did you mean 'c'?)".
    /// </summary>
    public Func<string, string?, string>? UnknownMessage { get; init; }

    /// <summary>A regular expression the whole value must match (.NET and ECMA-262 alike), checked with <see cref="PatternMessage"/>.</summary>
    public string? Pattern { get; init; }

    /// <summary>The message for a value that does not match <see cref="Pattern"/>.</summary>
    public Func<string, string>? PatternMessage { get; init; }

    /// <summary>Extra JSON Schema patterns (ECMA-262) a value must match too, for rules the loader checks in code.</summary>
    public IReadOnlyList<string> JsonPatterns { get; init; } = Array.Empty<string>();

    public int? MaxLength { get; init; }

    public ValueFormat Format { get; init; }

    /// <summary>A blank value counts as not given (talos_order.py's manifest keys).</summary>
    public bool BlankIsUnset { get; init; }

    /// <summary>A plain number written where a string is expected is taken as its text (e.g. customer: 42, minor: 1.7).</summary>
    public bool NumbersAsText { get; init; }

    /// <summary>Examples for the JSON Schema (editors offer them).</summary>
    public IReadOnlyList<string> Examples { get; init; } = Array.Empty<string>();
}

/// <summary>A rule between the keys of one mapping, written as code in the loader and as JSON Schema in the schema files.</summary>
public abstract class SchemaRule
{
    /// <summary>The rule in words (docs, JSON Schema $comment).</summary>
    public string Description { get; init; } = "";
}

/// <summary>At least one of <see cref="Keys"/> is present; those in <see cref="CountOnlyWhenSet"/> count only when not null.</summary>
public sealed class AnyOfKeysRule : SchemaRule
{
    public IReadOnlyList<string> Keys { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> CountOnlyWhenSet { get; init; } = Array.Empty<string>();
}

/// <summary>When <see cref="Key"/> is set (not null), none of <see cref="Excluded"/> is set.</summary>
public sealed class ExcludesRule : SchemaRule
{
    public string Key { get; init; } = "";
    public IReadOnlyList<string> Excluded { get; init; } = Array.Empty<string>();
}

/// <summary>When <see cref="Key"/> has the value <see cref="Value"/>: <see cref="Required"/> keys are present, and <see cref="LimitedKey"/> (when given) is one of <see cref="LimitedTo"/>.</summary>
public sealed class WhenRule : SchemaRule
{
    public string Key { get; init; } = "";
    public object Value { get; init; } = "";
    /// <summary>Match <see cref="Value"/> ignoring case.</summary>
    public bool IgnoreCase { get; init; }
    public IReadOnlyList<string> Required { get; init; } = Array.Empty<string>();
    public string? LimitedKey { get; init; }
    public IReadOnlyList<string> LimitedTo { get; init; } = Array.Empty<string>();
}

/// <summary>When any of <see cref="When"/> is present, every key of <see cref="Required"/> is present and not empty.</summary>
public sealed class RequiredTogetherRule : SchemaRule
{
    public IReadOnlyList<string> When { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Required { get; init; } = Array.Empty<string>();
}
