using System;
using System.Management.Automation;
using System.Net;
using System.Security;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Versions;

namespace TalosImage.Cmdlets;

/// <summary>
/// Resolves a Talos version: an exact one (checked against the source), the latest release, or the latest of a
/// minor; -List lists them all. The source is the Image Factory (default) or GitHub releases; the list is cached
/// per user for -CacheTtl.
/// </summary>
[Cmdlet(VerbsDiagnostic.Resolve, "TalosVersion", DefaultParameterSetName = LatestSet)]
[OutputType(typeof(TalosVersion))]
public sealed class ResolveTalosVersionCommand : TalosCmdlet
{
    private const string ExactSet = "Exact";
    private const string LatestSet = "Latest";
    private const string MinorSet = "LatestInMinor";
    private const string ListSet = "List";

    private VersionResolver? _resolver;

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ExactSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VersionCompleter))]
    public string Version { get; set; } = "";

    [Parameter(ParameterSetName = LatestSet)]
    public SwitchParameter Latest { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = MinorSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(MinorCompleter))]
    public string LatestInMinor { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = ListSet)]
    public SwitchParameter List { get; set; }

    /// <summary>Let -Latest, -LatestInMinor and -List include alpha, beta and rc versions.</summary>
    [Parameter]
    public SwitchParameter IncludePrerelease { get; set; }

    [Parameter]
    [ValidateSet("Factory", "GitHub")]
    public string Source { get; set; } = "Factory";

    /// <summary>Default: TALOS_FACTORY_URL, else https://factory.talos.dev.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? FactoryUrl { get; set; }

    /// <summary>Credentials of a factory behind a login: a user name and password (HTTP Basic), or the user name "bearer" with a bearer token as the password. With -Source Factory; sent only to the factory's own scheme, host and port.</summary>
    [Parameter]
    [Credential]
    public PSCredential? FactoryCredential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? GitHubApiUrl { get; set; }

    /// <summary>Default: GITHUB_TOKEN, else GH_TOKEN.</summary>
    [Parameter]
    public SecureString? GitHubToken { get; set; }

    /// <summary>Default: a per-user cache folder (~/.cache/talosimage, %LOCALAPPDATA%\TalosImage).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CacheDirectory { get; set; }

    /// <summary>How long a cached version list is used without asking the source (default 1 hour; 0 asks every time).</summary>
    [Parameter]
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Ask no server: exact versions are returned unchecked, latest kinds come from the cached list.</summary>
    [Parameter]
    public SwitchParameter Offline { get; set; }

    protected override void ProcessRecord()
    {
        var factoryUrl = FactoryUrl ?? FactoryClient.DefaultUrl();
        var options = new VersionSourceOptions
        {
            Source = Source.ToLowerInvariant(),
            FactoryUrl = factoryUrl,
            Http = Offline || !string.Equals(Source, "Factory", StringComparison.OrdinalIgnoreCase) ? null : FactoryHttp(factoryUrl, FactoryCredential),
            GitHubApiUrl = GitHubApiUrl ?? FactoryCatalog.PublicGitHubApiUrl,
            GitHubToken = GitHubToken is null ? null : new NetworkCredential(string.Empty, GitHubToken).Password,
            CacheDir = CacheDirectory is null ? CachePaths.DefaultCacheDirectory() : GetUnresolvedProviderPathFromPSPath(CacheDirectory),
            Ttl = CacheTtl,
            Offline = Offline,
            // With -Source GitHub, a -FactoryUrl given says which factory must be able to build the release.
            CheckBuildable = FactoryUrl is not null,
        };
        var setName = ParameterSetName;
        RunEngine(async (events, token) =>
        {
            // One resolver for the whole pipeline: the version list is fetched once.
            _resolver ??= new VersionResolver(options, events);
            if (setName == ListSet)
            {
                foreach (var v in await _resolver.ListAsync(IncludePrerelease, token).ConfigureAwait(false))
                {
                    Emit(v);
                }
                return;
            }
            var request = setName switch
            {
                ExactSet => new VersionRequest(VersionKind.Exact, Version),
                MinorSet => new VersionRequest(VersionKind.LatestInMinor, LatestInMinor),
                _ => VersionRequest.Latest,
            };
            Emit(await _resolver.ResolveAsync(request, IncludePrerelease, token).ConfigureAwait(false));
        }, target: setName switch { ExactSet => Version, MinorSet => LatestInMinor, _ => null });
    }
}
