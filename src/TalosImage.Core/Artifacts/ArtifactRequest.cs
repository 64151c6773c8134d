using System;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Artifacts;

/// <summary>One factory asset to download: <c>{factory}/image/{schematic}/{version}/{asset}</c>.</summary>
public sealed record ArtifactRequest
{
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "amd64";
    public string Format { get; init; } = "iso";
    public bool SecureBoot { get; init; }
    public string FactoryUrl { get; init; } = FactoryCatalog.PublicFactoryUrl;

    /// <summary>
    /// The PXE host of the factory (format pxe only); null: derived from <see cref="FactoryUrl"/>
    /// (<see cref="FactoryCatalog.PxeBaseUrl"/>: pxe.talos.dev for the public factory, the factory itself otherwise).
    /// </summary>
    public string? PxeUrl { get; init; }

    /// <summary>The factory's file name, e.g. nocloud-amd64-secureboot.raw.xz, kernel-amd64, metal-amd64.ipxe (the iPXE script).</summary>
    public string Asset => FactoryCatalog.AssetName(Platform, Architecture, SecureBoot, Format);

    /// <summary>The download URL (for pxe the script's URL on the PXE host).</summary>
    public string Url => FactoryCatalog.AssetUrl(FactoryUrl, PxeUrl, SchematicId, Version, Platform, Architecture, SecureBoot, Format);

    /// <summary>The installer image reference of this schematic and version (factory host/installer[-secureboot]/id:version).</summary>
    public string InstallerImage => FactoryCatalog.InstallerImage(FactoryUrl, Platform, SchematicId, Version, SecureBoot);

    /// <summary>The identity of the asset this request names, with its content's hash and size once known.</summary>
    public ArtifactIdentity Identity(string sha256 = "", long size = 0) => new()
    {
        SchematicId = SchematicId,
        Version = Version,
        Platform = Platform,
        Architecture = Architecture,
        Format = Format,
        SecureBoot = SecureBoot,
        Asset = Asset,
        Url = Url,
        Sha256 = sha256,
        Size = size,
    };

    private static readonly Regex SchematicPattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);
    private static readonly Regex PlatformPattern = new("^[A-Za-z][A-Za-z0-9-]{0,63}$", RegexOptions.CultureInvariant);

    /// <summary>
    /// The request with canonical values (lower-case schematic, vMAJOR.MINOR.PATCH version, lower-case format; no
    /// orders-file alias, so <c>raw</c> asks for the <c>.raw</c> asset), or a
    /// <see cref="TalosException"/> (ErrorId InvalidArtifactRequest) naming what is wrong. Every part becomes a path
    /// segment in the cache, so nothing that could leave the cache folder gets through.
    /// </summary>
    public ArtifactRequest Normalise()
    {
        var schematic = (SchematicId ?? "").Trim().ToLowerInvariant();
        if (!SchematicPattern.IsMatch(schematic))
        {
            throw Invalid($"SchematicId '{SchematicId}' is not a schematic ID: expected 64 hexadecimal characters.", SchematicId);
        }
        var version = TalosSemVersion.Parse((Version ?? "").Trim()).ToString();
        var platform = (Platform ?? "").Trim();
        if (!PlatformPattern.IsMatch(platform))
        {
            throw Invalid($"Platform '{Platform}' is not a factory platform, e.g. {string.Join(", ", FactoryCatalog.Platforms.Take(6))}.", Platform);
        }
        var arch = (Architecture ?? "").Trim().ToLowerInvariant();
        if (!FactoryCatalog.Architectures.Contains(arch))
        {
            throw Invalid($"Architecture '{Architecture}' is not one of {string.Join(", ", FactoryCatalog.Architectures)}.", Architecture);
        }
        var format = FactoryCatalog.NormaliseFormat(Format)
            ?? throw Invalid($"Format '{Format}' is not one of {string.Join(", ", FactoryCatalog.OrderableFormats)}.", Format);
        if (FactoryCatalog.AssetVariantProblem(format, SecureBoot) is { } variant)
        {
            throw new TalosException(TalosErrors.AssetVariantUnavailable, $"{format}: {variant}; nothing is asked.", Format);
        }
        if (PlatformRules.Check(platform, arch, format, SecureBoot, version) is { } unavailable)
        {
            throw new TalosException(TalosErrors.PlatformImageUnavailable, $"{PlatformRules.Find(platform)!.Label}: {unavailable}; nothing is asked.", platform);
        }
        if (!Uri.TryCreate((FactoryUrl ?? "").Trim(), UriKind.Absolute, out var factory) || (factory.Scheme != "http" && factory.Scheme != "https"))
        {
            throw Invalid($"FactoryUrl '{FactoryUrl}' is not an absolute http(s) URL.", FactoryUrl);
        }
        if (!string.IsNullOrEmpty(factory.UserInfo))
        {
            throw Invalid($"FactoryUrl '{HttpPipeline.Redact(factory)}' holds a user name or password, which a factory URL must not have; give the credential with -FactoryCredential or config.yaml's defaults.factory_auth.", HttpPipeline.Redact(factory));
        }
        string? pxe = null;
        if (!string.IsNullOrWhiteSpace(PxeUrl))
        {
            if (!Uri.TryCreate(PxeUrl!.Trim(), UriKind.Absolute, out var pxeUri) || (pxeUri.Scheme != "http" && pxeUri.Scheme != "https") ||
                pxeUri.UserInfo.Length > 0)
            {
                // The value is not repeated: it may hold a password.
                throw Invalid("PxeUrl is not an absolute http(s) URL without user info (a user name or password never goes into a PXE URL).", "PxeUrl");
            }
            pxe = pxeUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }
        return this with
        {
            SchematicId = schematic,
            Version = version,
            Platform = platform,
            Architecture = arch,
            Format = format,
            FactoryUrl = factory.GetLeftPart(UriPartial.Path).TrimEnd('/'),
            PxeUrl = pxe,
        };
    }

    private static TalosException Invalid(string message, object? target) =>
        new(TalosErrors.InvalidArtifactRequest, message, target);
}

/// <summary>How <see cref="ArtifactDownloader.SaveAsync"/> treats a file already in the cache.</summary>
public sealed record SaveOptions
{
    /// <summary>Re-hash a cached file; a mismatch is reported, the file deleted and downloaded again.</summary>
    public bool Verify { get; init; }

    /// <summary>Download again even when a verified file is cached.</summary>
    public bool Force { get; init; }

    /// <summary>Takes the body as it arrives (an expansion overlapped with the download); only when a transfer runs.</summary>
    internal IBodyObserver? Observer { get; init; }
}
