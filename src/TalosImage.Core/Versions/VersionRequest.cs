using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Versions;

public enum VersionKind
{
    Exact,
    Latest,
    LatestInMinor,
}

/// <summary>What an order asks for: an exact version, the latest release, or the latest of a minor.</summary>
public sealed record VersionRequest(VersionKind Kind, string? Value = null)
{
    public static VersionRequest Latest { get; } = new(VersionKind.Latest);

    /// <summary>talos_order.py's spelling of the kind: exact, latest, latest-in-minor.</summary>
    public string KindName => Kind switch
    {
        VersionKind.Exact => "exact",
        VersionKind.LatestInMinor => "latest-in-minor",
        _ => "latest",
    };

    public override string ToString() => Value is null ? KindName : $"{KindName} {Value}";
}

/// <summary>Turns a version request into a concrete version.</summary>
public interface IVersionResolver
{
    Task<TalosVersion> ResolveAsync(VersionRequest request, CancellationToken cancellationToken);
}
