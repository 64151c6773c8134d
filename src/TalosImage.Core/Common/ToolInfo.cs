using System.Reflection;

namespace TalosImage.Core;

/// <summary>The product's name and version, as written into manifests and the User-Agent.</summary>
public static class ToolInfo
{
    public const string Name = "TalosImage";

    public static string Version { get; } =
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? typeof(ToolInfo).Assembly.GetName().Version?.ToString(3)
        ?? "0.0.0";

    public static string UserAgent => $"{Name}/{Version}";
}
