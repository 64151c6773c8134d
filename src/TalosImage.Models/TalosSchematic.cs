using System;

namespace TalosImage;

/// <summary>A schematic and its ID (New-TalosSchematic). <see cref="SchematicId"/> binds to the next stage's -SchematicId.</summary>
public sealed class TalosSchematic
{
    public string SchematicId { get; init; } = "";
    /// <summary>The canonical schematic YAML whose SHA-256 is the ID.</summary>
    public string Yaml { get; init; } = "";
    public string[] Extensions { get; init; } = Array.Empty<string>();
    public string[] KernelArgs { get; init; } = Array.Empty<string>();
    public string? Overlay { get; init; }
    public bool SecureBootCertificates { get; init; }
    /// <summary>Factory when the factory created it, Local when it was computed offline.</summary>
    public string Source { get; init; } = "";
    public string FactoryUrl { get; init; } = "";
    /// <summary>The Talos version the extension names were checked against (New-TalosSchematic -Version, e.g. from
    /// Resolve-TalosVersion); passed on so that the next stage's -Version binds. Null when none was given.</summary>
    public string? Version { get; init; }

    public override string ToString() => SchematicId;
}
