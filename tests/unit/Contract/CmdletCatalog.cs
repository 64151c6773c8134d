using Xunit;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using TalosImage.HelpGen;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The built TalosImage.Cmdlets.dll read with MetadataLoadContext (no PowerShell host is needed or loaded; the reader is
/// the help generator's, tools/TalosImage.HelpGen), with the module manifest and format file beside the repository root.
/// </summary>
public sealed class CmdletCatalog : IDisposable
{
    private readonly CmdletMetadata _metadata;

    public CmdletCatalog()
    {
        _metadata = new CmdletMetadata(Path.Combine(AppContext.BaseDirectory, "TalosImage.Cmdlets.dll"));
        ManifestText = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "TalosImage.psd1"));
        Format = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "TalosImage.Format.ps1xml"));
    }

    public Assembly Assembly => _metadata.Assembly;
    public IReadOnlyList<CmdletInfo> Cmdlets => _metadata.Cmdlets;
    public string ManifestText { get; }
    public XDocument Format { get; }

    /// <summary>The names in CmdletsToExport = @(...) of TalosImage.psd1.</summary>
    public IReadOnlyList<string> ExportedCmdlets()
    {
        var m = Regex.Match(ManifestText, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)", RegexOptions.Singleline);
        Assert.True(m.Success, "TalosImage.psd1 has no CmdletsToExport = @(...)");
        return Regex.Matches(m.Groups["list"].Value, @"'([^']+)'").Select(x => x.Groups[1].Value).ToList();
    }

    public string? ManifestValue(string key) =>
        Regex.Match(ManifestText, key + @"\s*=\s*'([^']*)'") is { Success: true } m ? m.Groups[1].Value : null;

    public IReadOnlyList<string> ViewTypeNames() =>
        Format.Descendants("ViewSelectedBy").Elements("TypeName").Select(e => e.Value.Trim()).ToList();

    public void Dispose() => _metadata.Dispose();
}
