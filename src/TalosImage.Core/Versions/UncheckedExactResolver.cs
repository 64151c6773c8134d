using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Versions;

/// <summary>Resolves exact versions without asking a source (marked Unchecked); other kinds need a version source.</summary>
internal sealed class UncheckedExactResolver : IVersionResolver
{
    private readonly IEngineEvents _events;

    public UncheckedExactResolver(IEngineEvents events) => _events = events;

    public Task<TalosVersion> ResolveAsync(VersionRequest request, CancellationToken cancellationToken)
    {
        if (request.Kind != VersionKind.Exact)
        {
            throw new TalosException(TalosErrors.VersionListUnavailable,
                $"cannot resolve '{request}' without a version source");
        }
        var v = TalosSemVersion.Parse(request.Value!);
        _events.Warning($"{v} is not checked against a version source");
        return Task.FromResult(new TalosVersion { Version = v.ToString(), Source = "Unchecked", Request = request.ToString(), IsPrerelease = v.IsPrerelease, Minor = v.MinorTag });
    }
}
