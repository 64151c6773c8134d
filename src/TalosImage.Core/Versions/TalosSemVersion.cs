using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Versions;

/// <summary>
/// A Talos version (vMAJOR.MINOR.PATCH[-PRERELEASE]) ordered by SemVer 2.0 rules: numeric identifiers compare as
/// numbers (beta.10 &gt; beta.2), others as text (rc &gt; beta &gt; alpha), and a release outranks its pre-releases.
/// </summary>
public sealed class TalosSemVersion : IComparable<TalosSemVersion>, IEquatable<TalosSemVersion>
{
    private static readonly Regex Pattern = new(
        @"^v?(?<major>0|[1-9]\d{0,8})\.(?<minor>0|[1-9]\d{0,8})\.(?<patch>0|[1-9]\d{0,8})(?:-(?<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
        RegexOptions.CultureInvariant);

    private readonly string[] _pre;

    private TalosSemVersion(int major, int minor, int patch, string? prerelease)
    {
        Major = major;
        Minor = minor;
        Patch = patch;
        Prerelease = prerelease ?? "";
        _pre = string.IsNullOrEmpty(prerelease) ? Array.Empty<string>() : prerelease!.Split('.');
    }

    public int Major { get; }
    public int Minor { get; }
    public int Patch { get; }
    /// <summary>The part after '-', or empty for a release.</summary>
    public string Prerelease { get; }
    public bool IsPrerelease => _pre.Length > 0;

    /// <summary>vMAJOR.MINOR, the family used by latest-in-minor.</summary>
    public string MinorTag => string.Format(CultureInfo.InvariantCulture, "v{0}.{1}", Major, Minor);

    public static bool TryParse(string? text, out TalosSemVersion version)
    {
        version = null!;
        if (text is null)
        {
            return false;
        }
        var m = Pattern.Match(text.Trim());
        if (!m.Success)
        {
            return false;
        }
        version = new TalosSemVersion(
            int.Parse(m.Groups["major"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["minor"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["patch"].Value, CultureInfo.InvariantCulture),
            m.Groups["pre"].Success ? m.Groups["pre"].Value : null);
        return true;
    }

    public static TalosSemVersion Parse(string text) =>
        TryParse(text, out var v) ? v : throw new TalosException(TalosErrors.InvalidVersion,
            $"'{text}' is not a Talos version: expected vMAJOR.MINOR.PATCH with an optional -PRERELEASE, e.g. v1.11.5 or v1.12.0-beta.1.", text);

    /// <summary>Parses vMAJOR.MINOR (or MAJOR.MINOR) as used by latest-in-minor.</summary>
    public static bool TryParseMinor(string? text, out int major, out int minor)
    {
        major = minor = 0;
        var m = Regex.Match(text?.Trim() ?? "", @"^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$", RegexOptions.CultureInvariant);
        if (!m.Success)
        {
            return false;
        }
        major = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        minor = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        return true;
    }

    public int CompareTo(TalosSemVersion? other)
    {
        if (other is null)
        {
            return 1;
        }
        var c = Major.CompareTo(other.Major);
        if (c == 0) c = Minor.CompareTo(other.Minor);
        if (c == 0) c = Patch.CompareTo(other.Patch);
        if (c != 0)
        {
            return c;
        }
        if (_pre.Length == 0 || other._pre.Length == 0)
        {
            return other._pre.Length.CompareTo(_pre.Length) == 0 ? 0 : (_pre.Length == 0 ? 1 : -1);
        }
        for (var i = 0; i < Math.Min(_pre.Length, other._pre.Length); i++)
        {
            c = CompareIdentifier(_pre[i], other._pre[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return _pre.Length.CompareTo(other._pre.Length);
    }

    private static int CompareIdentifier(string a, string b)
    {
        var aNum = long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var an);
        var bNum = long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var bn);
        if (aNum && bNum)
        {
            return an.CompareTo(bn);
        }
        if (aNum != bNum)
        {
            return aNum ? -1 : 1; // numeric identifiers have lower precedence than alphanumeric ones
        }
        return string.CompareOrdinal(a, b);
    }

    public bool Equals(TalosSemVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is TalosSemVersion v && Equals(v);

    public override int GetHashCode() => ToString().GetHashCode();

    /// <summary>The normalised tag: vMAJOR.MINOR.PATCH[-PRERELEASE].</summary>
    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "v{0}.{1}.{2}", Major, Minor, Patch) + (IsPrerelease ? "-" + Prerelease : "");

    public static bool operator <(TalosSemVersion a, TalosSemVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(TalosSemVersion a, TalosSemVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(TalosSemVersion a, TalosSemVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(TalosSemVersion a, TalosSemVersion b) => a.CompareTo(b) >= 0;
}
