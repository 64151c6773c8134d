using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TalosImage.Core.Cache;
using TalosImage.Core.Publishing.Proxmox;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>Everything one SSH publish needs, validated: host, remote paths, local file, ssh and rsync arguments.</summary>
internal sealed class SshPublishPlan
{
    /// <summary>Suffix of the temporary remote name a file has until it is verified and renamed.</summary>
    public const string PartSuffix = ".talosimage-part";

    /// <summary>Length of the per-push token in temporary names (lowercase hex).</summary>
    public const int TokenLength = 16;

    private SshPublishPlan(TalosArtifact artifact, SshTarget target)
    {
        Artifact = artifact;
        Target = target;
    }

    public TalosArtifact Artifact { get; }
    public SshTarget Target { get; }
    public string Host { get; private set; } = "";
    /// <summary>The host as ssh takes it (IPv6 without brackets).</summary>
    public string SshHost { get; private set; } = "";
    public string Format { get; private set; } = "";
    public string Dir { get; private set; } = "";
    public string Final { get; private set; } = "";
    /// <summary>
    /// Remote temporary name of the pushed file (the compressed one when expanding):
    /// <c>.&lt;final name&gt;[.&lt;xz|zst|gz&gt;].&lt;token&gt;.talosimage-part</c>, unique per push, so two pushes to one
    /// folder (two host entries on one shared storage) never write the same file.
    /// </summary>
    public string Temp { get; private set; } = "";

    /// <summary>This push's token: <see cref="TokenLength"/> random lowercase hex digits.</summary>
    public string Token { get; private set; } = "";

    /// <summary>
    /// The temporary names of earlier pushes to this destination, of our own naming: <see cref="Temp"/>'s prefix
    /// (followed by a token and <see cref="PartSuffix"/>) and the name without a token that versions before the token used.
    /// </summary>
    public (string Prefix, string Legacy) TempFamily { get; private set; }

    /// <summary>Same as <see cref="TempFamily"/> for the expanded raw's temporary name (expansion only).</summary>
    public (string Prefix, string Legacy)? RawTempFamily { get; private set; }

    /// <summary>
    /// <c>&lt;final&gt;.sha256</c>, sha256sum-compatible, written after a verified transfer: a later skip check trusts it
    /// while the final file is not newer than it, instead of hashing the whole file on the host again.
    /// </summary>
    public string Sidecar => Final + ".sha256";

    /// <summary>The final file's name, as the sidecar names it.</summary>
    public string FinalName => Final.Substring(Final.LastIndexOf('/') + 1);
    /// <summary>Remote temporary name of the expanded raw (expansion only).</summary>
    public string? RawTemp { get; private set; }
    /// <summary>xz, zstd or gzip when the host expands the image.</summary>
    public string? Decompressor { get; private set; }
    public bool Expand => Decompressor is not null;
    public IReadOnlyList<string> SshOptions { get; private set; } = Array.Empty<string>();
    public IReadOnlyList<string> RsyncOptions { get; private set; } = Array.Empty<string>();
    /// <summary>Rsync or Sftp (never Auto: the publisher resolves it before planning).</summary>
    public SshTransport Transport { get; private set; } = SshTransport.Rsync;
    /// <summary>The sftp transport's reading of host and ssh options; null for rsync.</summary>
    public SftpSettings? Sftp { get; private set; }
    public string LocalPath { get; private set; } = "";

    /// <summary>
    /// Validates and plans; throws TalosException (UnsafeHost, UnsafeRemotePath, UnsafeOption, SftpOptionUnsupported,
    /// ArtifactFileMissing). A target's <see cref="SshTransport.Auto"/> is resolved with <paramref name="options"/>' programs.
    /// </summary>
    public static SshPublishPlan For(TalosArtifact artifact, SshTarget target, SshPublishMode mode, bool needFile, SshPublishOptions? options = null)
    {
        if (artifact is null)
        {
            throw new ArgumentNullException(nameof(artifact));
        }
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }
        var plan = new SshPublishPlan(artifact, target)
        {
            Host = SshSafety.CheckHost(target.Host),
        };
        plan.SshHost = plan.Host.Replace("[", "").Replace("]", "");
        var isoDir = SshSafety.CheckRemoteDir(target.IsoDir, $"iso folder for {plan.Host}");
        var importDir = SshSafety.CheckRemoteDir(target.ImportDir, $"import folder for {plan.Host}");
        plan.SshOptions = SshSafety.CheckSshOptions(target.SshOptions);
        plan.RsyncOptions = SshSafety.CheckRsyncOptions(target.RsyncOptions);
        options ??= new SshPublishOptions();
        plan.Transport = SshTransports.Resolve(target.Transport, options.SshProgram, options.RsyncProgram, options.Environment);
        if (plan.Transport == SshTransport.Sftp)
        {
            plan.Sftp = SftpSettings.From(plan.Host, plan.SshOptions);
        }

        var format = (artifact.Format ?? "").Trim().ToLowerInvariant();
        if (format.Length == 0)
        {
            format = LocalArtifact.FormatOf(artifact.Asset is { Length: > 0 } a ? a : artifact.Path ?? "");
        }
        plan.Format = format;
        if (ProxmoxContent.Refusal(format, artifact.Asset is { Length: > 0 } named ? named : Path.GetFileName(artifact.Path ?? "")) is { } refused)
        {
            throw new TalosException(TalosErrors.ProxmoxFormatUnsupported, $"{refused}; not pushed to {plan.Host}.", artifact.Path);
        }
        plan.Decompressor = mode == SshPublishMode.RemoteExpand
            ? format switch { "raw.xz" => "xz", "raw.zst" => "zstd", "raw.gz" => "gzip", _ => null }
            : null;

        string extension = plan.Expand ? ".raw" : format switch
        {
            "" => "",
            "iso" => ".iso",
            "raw" => ".raw",
            "qcow2" => ".qcow2",
            _ => "." + format,
        };
        plan.Dir = format.StartsWith("iso", StringComparison.Ordinal) ? isoDir : importDir;
        var name = ProxmoxVolumePlan.StoredName(artifact, extension);
        plan.Final = Join(plan.Dir, name);
        plan.Token = NewToken();
        var pushed = "." + name + (plan.Expand ? "." + format.Substring(4) : "");
        plan.TempFamily = (Join(plan.Dir, pushed + "."), Join(plan.Dir, pushed + PartSuffix));
        plan.Temp = plan.TempFamily.Prefix + plan.Token + PartSuffix;
        if (plan.Expand)
        {
            plan.RawTempFamily = (Join(plan.Dir, "." + name + "."), Join(plan.Dir, "." + name + PartSuffix));
            plan.RawTemp = plan.RawTempFamily.Value.Prefix + plan.Token + PartSuffix;
        }
        foreach (var path in new[] { plan.Final, plan.Temp, plan.RawTemp, plan.TempFamily.Legacy, plan.RawTempFamily?.Legacy }.Where(p => p is not null))
        {
            SshSafety.CheckRemoteDir(path, $"remote path for {plan.Host}");
        }

        plan.LocalPath = string.IsNullOrWhiteSpace(artifact.Path) ? "" : Path.GetFullPath(artifact.Path);
        if (needFile && (plan.LocalPath.Length == 0 || !File.Exists(plan.LocalPath)))
        {
            throw new TalosException(TalosErrors.ArtifactFileMissing,
                $"{artifact.Path} does not exist; it cannot be published to {plan.Host}. Download it again (Save-TalosImage).", artifact.Path);
        }
        return plan;
    }

    /// <summary>The ssh options in the order ssh honours them (the first value of a setting wins): BatchMode first, then the user's, then defaults.</summary>
    public List<string> SshArguments(TimeSpan connectTimeout)
    {
        var args = new List<string> { "-o", "BatchMode=yes" };
        args.AddRange(SshOptions);
        args.AddRange(new[]
        {
            "-o", "ConnectTimeout=" + Math.Max(1, (int)Math.Ceiling(connectTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=4",
        });
        return args;
    }

    /// <summary>For an expansion: the expected SHA-256 of the raw image, from the artifact or the metadata of its expanded sibling.</summary>
    public string? ExpectedRawSha256(string compressedSha256)
    {
        if (LocalArtifact.IsSha256(Artifact.ExpandedSha256))
        {
            return Artifact.ExpandedSha256!.ToLowerInvariant();
        }
        // The cache keeps the expanded image beside the compressed one: name.raw.xz -> name.raw, whose metadata names its source.
        var local = LocalPath;
        var dot = local.LastIndexOf('.');
        if (dot > 0 && ArtifactMetadata.TryRead(local.Substring(0, dot)) is { } meta &&
            string.Equals(meta.SourceSha256, compressedSha256, StringComparison.OrdinalIgnoreCase) && LocalArtifact.IsSha256(meta.Sha256))
        {
            return meta.Sha256.ToLowerInvariant();
        }
        return null;
    }

    private static string NewToken()
    {
        var bytes = new byte[TokenLength / 2];
        using (var random = System.Security.Cryptography.RandomNumberGenerator.Create())
        {
            random.GetBytes(bytes);
        }
        return string.Concat(bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    private static string Join(string dir, string name) => dir == "/" ? "/" + name : dir + "/" + name;
}
