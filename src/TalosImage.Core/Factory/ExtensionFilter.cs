using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Schematics;

namespace TalosImage.Core.Factory;

/// <summary>Get-TalosExtension's -Name: wildcards (* ?) matched against the whole name or the part after the last '/'.</summary>
public static class ExtensionFilter
{
    /// <summary>The extensions matching any of <paramref name="patterns"/> (all when there are none), as output records.</summary>
    public static IReadOnlyList<TalosExtension> Select(IReadOnlyList<FactoryExtension> extensions, string version, IReadOnlyList<string> patterns, out IReadOnlyList<string> unmatched)
    {
        var regexes = patterns.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => (Pattern: p.Trim(), Regex: ToRegex(p.Trim()))).ToList();
        var missing = new List<string>();
        foreach (var (pattern, regex) in regexes)
        {
            if (!HasWildcard(pattern) && !extensions.Any(e => Matches(regex, e.Name)))
            {
                missing.Add(pattern);
            }
        }
        unmatched = missing;
        return extensions
            .Where(e => regexes.Count == 0 || regexes.Any(r => Matches(r.Regex, e.Name)))
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => new TalosExtension { Name = e.Name, Ref = e.Ref, Digest = e.Digest, Author = e.Author, Description = e.Description, Version = version })
            .ToList();
    }

    /// <summary>The error for names given without wildcards that no official extension has.</summary>
    public static TalosException NotFound(string name, string version, IEnumerable<string> known)
    {
        var near = SchematicService.Nearest(name, known, 3);
        return new TalosException(TalosErrors.UnknownExtension,
            $"Talos {version} has no official extension '{name}'" + (near.Count > 0 ? $" (nearest: {string.Join(", ", near)})" : ""), name);
    }

    /// <summary>Get-TalosOverlay's -Name: the overlays whose names match any of <paramref name="patterns"/> (all when there are none).</summary>
    public static IReadOnlyList<TalosOverlay> SelectOverlays(IReadOnlyList<FactoryOverlay> overlays, string version, IReadOnlyList<string> patterns, out IReadOnlyList<string> unmatched)
    {
        var regexes = patterns.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => (Pattern: p.Trim(), Regex: ToRegex(p.Trim()))).ToList();
        unmatched = regexes.Where(r => !HasWildcard(r.Pattern) && !overlays.Any(o => Matches(r.Regex, o.Name))).Select(r => r.Pattern).ToList();
        return overlays
            .Where(o => regexes.Count == 0 || regexes.Any(r => Matches(r.Regex, o.Name)))
            .OrderBy(o => o.Name, StringComparer.Ordinal)
            .Select(o => new TalosOverlay { Name = o.Name, Image = o.Image, Ref = o.Ref, Digest = o.Digest, Version = version })
            .ToList();
    }

    /// <summary>The error for an overlay name given without wildcards that no official overlay has.</summary>
    public static TalosException OverlayNotFound(string name, string version, IReadOnlyList<FactoryOverlay> known)
    {
        var near = SchematicService.Nearest(name, known.Select(o => o.Name), 3);
        return new TalosException(TalosErrors.UnknownOverlay,
            $"Talos {version} has no official overlay '{name}'" +
            (near.Count > 0 ? $" (nearest: {string.Join(", ", near)})" : known.Count == 0 ? " (its overlay list is empty)" : ""), name);
    }

    public static bool HasWildcard(string pattern) => pattern.IndexOfAny(new[] { '*', '?' }) >= 0;

    private static bool Matches(Regex regex, string name) => regex.IsMatch(name) || regex.IsMatch(name.Substring(name.LastIndexOf('/') + 1));

    private static Regex ToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
