using System;
using System.Collections.Generic;
using TalosImage.Core.Http;

namespace TalosImage.Core.Orders;

/// <summary>What Invoke-TalosOrder and talos-order ask of a run.</summary>
public sealed record RunOptions
{
    public string ConfigPath { get; init; } = "";
    public string OrdersPath { get; init; } = "";
    public IReadOnlyCollection<string> OrderIds { get; init; } = Array.Empty<string>();
    /// <summary>Plan and show the manifests; change nothing.</summary>
    public bool DryRun { get; init; }
    public bool PurgeCache { get; init; }
    /// <summary>Re-hash cached artifacts instead of trusting their recorded size, time and hash; a corrupt one is fetched again.</summary>
    public bool Verify { get; init; }
    /// <summary>Ask no server: exact versions unchecked, schematic IDs computed locally, latest kinds from the version cache.</summary>
    public bool Offline { get; init; }
    public string? LogPath { get; init; }
    public string? GitHubToken { get; init; }
    /// <summary>Environment lookup (TALOS_FACTORY_URL, GITHUB_TOKEN, Proxmox token variables, HOME/USERPROFILE for a leading ~ in cache_dir and manifest paths); tests pass their own.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
    public HttpOptions? Http { get; init; }
    /// <summary>Invoke-TalosOrder -FactoryCredential (user name "bearer": the password is a bearer token); wins over config.yaml's defaults.factory_auth.</summary>
    public System.Net.NetworkCredential? FactoryCredential { get; init; }
    /// <summary>The folder relative paths of the config (cache_dir, manifest paths) are taken from; null: the process's current folder.</summary>
    public string? BaseDirectory { get; init; }
    /// <summary>Asked per position before it runs (-Confirm); a position declined is skipped. Null: run everything.</summary>
    public Func<PlannedPosition, bool>? Confirm { get; init; }
    /// <summary>
    /// Open the SSH connections of every push host of the selected orders as the run starts, before it plans, so that
    /// the handshakes overlap planning and the first stages. Set by talos-order, and by Invoke-TalosOrder when it will
    /// not prompt; false: each host's connection opens as the first position that pushes to it starts, after
    /// <see cref="Confirm"/>, so that a declined position's hosts are not contacted. Dry runs connect to nothing.
    /// </summary>
    public bool ConnectEarly { get; init; }
}

/// <summary>Exit codes of talos-order, decided here so the CLI only reports them.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>Bad input or usage gives 2 (also a cache_dir or --log path that cannot be used at all); anything else that stops a run gives 1.</summary>
    public static int For(Exception e) =>
        e is TalosValidationException || (e is TalosException t && t.Kind == TalosErrorKind.InvalidArgument && t.Is(TalosErrors.Usage, TalosErrors.UnknownOrderId, TalosErrors.InvalidOrderFile, TalosErrors.CacheDirectoryUnusable, TalosErrors.LogFileUnusable, TalosErrors.FactoryCredentialMissing, TalosErrors.FactoryCredentialInvalid))
            ? BadInput
            : Failed;
}
