using Xunit;
using System.Text.RegularExpressions;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The module's contract, checked on the built DLL without a PowerShell host: approved verbs, singular nouns,
/// OutputType, ShouldProcess on state changes, exports in TalosImage.psd1 and a view for every output type.
/// </summary>
public class ModuleContractTests : IClassFixture<CmdletCatalog>
{
    // Get-Verb on PowerShell 7.4.
    private static readonly HashSet<string> ApprovedVerbs = new(StringComparer.Ordinal)
    {
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join", "Lock", "Move", "New", "Open",
        "Optimize", "Pop", "Push", "Redo", "Remove", "Rename", "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split",
        "Step", "Switch", "Undo", "Unlock", "Watch", "Connect", "Disconnect", "Read", "Receive", "Send", "Write", "Backup",
        "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo", "Dismount", "Edit", "Expand", "Export", "Group",
        "Import", "Initialize", "Limit", "Merge", "Mount", "Out", "Publish", "Restore", "Save", "Sync", "Unpublish", "Update",
        "Debug", "Measure", "Ping", "Repair", "Resolve", "Test", "Trace", "Approve", "Assert", "Build", "Complete", "Confirm", "Deny",
        "Deploy", "Disable", "Enable", "Install", "Invoke", "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit",
        "Suspend", "Uninstall", "Unregister", "Wait", "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect", "Use",
    };

    // Verbs whose cmdlets change state somewhere (files, servers): they must support -WhatIf/-Confirm.
    private static readonly HashSet<string> StateChangingVerbs = new(StringComparer.Ordinal)
    {
        "New", "Set", "Remove", "Clear", "Save", "Expand", "Publish", "Unpublish", "Invoke", "Export", "Install", "Uninstall", "Update",
        "Register", "Unregister", "Add", "Move", "Copy", "Rename", "Reset", "Start", "Stop", "Restart", "Sync", "Write",
    };

    private readonly CmdletCatalog _catalog;

    public ModuleContractTests(CmdletCatalog catalog) => _catalog = catalog;

    [Fact]
    public void Every_cmdlet_class_has_a_Cmdlet_attribute()
    {
        var missing = _catalog.Cmdlets.Where(c => !c.HasCmdletAttribute).Select(c => c.Type.FullName).ToList();
        Assert.True(missing.Count == 0, "no [Cmdlet] attribute: " + string.Join(", ", missing));
    }

    [Fact]
    public void Cmdlets_use_approved_verbs()
    {
        var bad = _catalog.Cmdlets.Where(c => !ApprovedVerbs.Contains(c.Verb)).Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, "unapproved verbs: " + string.Join(", ", bad));
    }

    [Fact]
    public void Cmdlet_nouns_are_singular_and_prefixed()
    {
        var bad = _catalog.Cmdlets
            .Where(c => !c.Noun.StartsWith("Talos", StringComparison.Ordinal) || (c.Noun.EndsWith("s", StringComparison.Ordinal) && !c.Noun.EndsWith("ss", StringComparison.Ordinal)))
            .Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, "nouns must be singular and start with Talos: " + string.Join(", ", bad));
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        var bad = _catalog.Cmdlets.Where(c => c.OutputTypes.Count == 0).Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, "no [OutputType]: " + string.Join(", ", bad));
    }

    [Fact]
    public void State_changing_cmdlets_support_ShouldProcess()
    {
        var bad = _catalog.Cmdlets.Where(c => StateChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess).Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, "state-changing cmdlets without SupportsShouldProcess: " + string.Join(", ", bad));
    }

    [Fact]
    public void Manifest_exports_exactly_the_cmdlets_in_the_dll()
    {
        var exported = _catalog.ExportedCmdlets().OrderBy(x => x, StringComparer.Ordinal).ToList();
        var inDll = _catalog.Cmdlets.Select(c => c.Name).OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.Equal(inDll, exported);
    }

    [Fact]
    public void Every_output_type_has_a_view()
    {
        var views = _catalog.ViewTypeNames().ToHashSet(StringComparer.Ordinal);
        var missing = _catalog.Cmdlets.SelectMany(c => c.OutputTypes.Select(t => (c.Name, t)))
            .Where(x => x.t.StartsWith("TalosImage.", StringComparison.Ordinal) && !views.Contains(x.t))
            .Select(x => $"{x.Name} -> {x.t}").ToList();
        Assert.True(missing.Count == 0, "output types without a view in TalosImage.Format.ps1xml: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_view_names_a_type_that_exists_in_the_engine()
    {
        var engineTypes = typeof(TalosImage.TalosArtifact).Assembly.GetTypes().Select(t => t.FullName).ToHashSet();
        var unknown = _catalog.ViewTypeNames().Where(n => !engineTypes.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, "views for unknown types: " + string.Join(", ", unknown));
    }

    [Fact]
    public void Manifest_loads_on_Windows_PowerShell_and_PowerShell_7()
    {
        Assert.Equal("TalosImage.psm1", _catalog.ManifestValue("RootModule"));
        Assert.Equal("5.1", _catalog.ManifestValue("PowerShellVersion"));
        Assert.Matches(new Regex(@"CompatiblePSEditions\s*=\s*@\('Desktop',\s*'Core'\)"), _catalog.ManifestText);
        Assert.Matches(new Regex(@"FormatsToProcess\s*=\s*@\('TalosImage\.Format\.ps1xml'\)"), _catalog.ManifestText);
        Assert.Contains("<Version>" + _catalog.ManifestValue("ModuleVersion") + "</Version>", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "Directory.Build.props")));
    }

    public static TheoryData<string, string, string> Completers => new()
    {
        { "Resolve-TalosVersion", "Version", "VersionCompleter" },
        { "Resolve-TalosVersion", "LatestInMinor", "MinorCompleter" },
        { "New-TalosSchematic", "SystemExtension", "ExtensionCompleter" },
        { "New-TalosSchematic", "Version", "VersionCompleter" },
        { "Get-TalosExtension", "Version", "VersionCompleter" },
        { "Get-TalosExtension", "Name", "ExtensionCompleter" },
        { "Get-TalosOverlay", "Version", "VersionCompleter" },
        { "Get-TalosOverlay", "Name", "OverlayCompleter" },
        { "New-TalosSchematic", "OverlayName", "OverlayCompleter" },
        { "Save-TalosImage", "SchematicId", "SchematicIdCompleter" },
        { "Save-TalosImage", "Version", "VersionCompleter" },
        { "Save-TalosImage", "Platform", "PlatformCompleter" },
        { "Save-TalosImage", "Architecture", "ArchitectureCompleter" },
        { "Save-TalosImage", "Format", "FormatCompleter" },
        { "Invoke-TalosOrder", "OrderId", "OrderIdCompleter" },
    };

    [Theory]
    [MemberData(nameof(Completers))]
    public void Parameters_that_take_known_values_complete_them(string cmdlet, string parameter, string completer)
    {
        var p = _catalog.Cmdlets.Single(c => c.Name == cmdlet).Parameters.Single(x => x.Name == parameter);
        Assert.Equal(completer, p.Completer);
        var type = _catalog.Assembly.GetType("TalosImage.Cmdlets." + completer);
        Assert.NotNull(type);
        Assert.Contains(type!.GetInterfaces(), i => i.FullName == "System.Management.Automation.IArgumentCompleter");
    }

    [Fact]
    public void Pipeline_parameters_bind_to_properties_of_the_module_output_types()
    {
        // A parameter that takes values by property name must match (by name or alias) a property of some output type,
        // or it can never bind from this module's own objects.
        var outputProperties = typeof(TalosImage.TalosArtifact).Assembly.GetTypes()
            .Where(t => t.Namespace == "TalosImage")
            .SelectMany(t => t.GetProperties().Select(p => p.Name))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unbindable = _catalog.Cmdlets
            .SelectMany(c => c.Parameters.Where(p => p.ValueFromPipelineByPropertyName).Select(p => (c, p)))
            .Where(x => !outputProperties.Contains(x.p.Name) && !x.p.Aliases.Any(outputProperties.Contains))
            .Select(x => $"{x.c.Name} -{x.p.Name}").ToList();
        Assert.True(unbindable.Count == 0, "by-property-name parameters no output type has: " + string.Join(", ", unbindable));
    }
}
