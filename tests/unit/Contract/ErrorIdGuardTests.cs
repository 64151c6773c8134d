using System.Reflection;
using System.Text.RegularExpressions;
using TalosImage.Core;
using TalosImage.HelpGen;
using Xunit;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The ErrorId catalogue (TalosErrors) is the one place ids, kinds and meanings are written: src/ names its entries and
/// spells no id; every entry is raised somewhere, or says why no host can raise it; ids are unique; every kind has its
/// ErrorRecord category; the help pages' ERRORS lists are the catalogue's.
/// </summary>
public class ErrorIdGuardTests : IClassFixture<CmdletCatalog>
{
    private readonly CmdletCatalog _catalog;

    public ErrorIdGuardTests(CmdletCatalog catalog) => _catalog = catalog;

    private static string HelpFolder => Path.Combine(TestPaths.RepoRoot, "docs", "help");

    [Fact]
    public void No_error_id_is_spelled_as_a_string_in_src_outside_the_catalogue()
    {
        var findings = ErrorIdCatalog.Sources(TestPaths.RepoRoot)
            .Where(s => !ErrorIdCatalog.Catalogue.Contains(s.Relative) && !ErrorIdCatalog.NotYetConverted.Contains(s.Relative))
            .SelectMany(s => ErrorIdCatalog.StringIds(s.Relative, s.Text))
            .Select(f => $"{f.File}:{f.Line}: {f.What}: {f.Text}")
            .ToList();
        Assert.True(findings.Count == 0,
            "ErrorIds written as strings (name the entry: TalosErrors.X; python3 tools/convert-errorids.py converts them):\n" + string.Join("\n", findings));
    }

    [Fact]
    public void The_files_not_yet_converted_exist()
    {
        // The list is for files another change rewrites now (their ids are converted after it is merged); a name that
        // no longer exists would silently allow nothing, or hide the file that took its place.
        var sources = ErrorIdCatalog.Sources(TestPaths.RepoRoot).Select(s => s.Relative).ToHashSet(StringComparer.Ordinal);
        foreach (var file in ErrorIdCatalog.NotYetConverted)
        {
            Assert.True(sources.Contains(file), $"{file} is listed in ErrorIdCatalog.NotYetConverted but does not exist");
        }
    }

    [Fact]
    public void The_guard_finds_every_form_of_a_string_id()
    {
        var sample = string.Join("\n", new[]
        {
            "throw new TalosException(\"CacheLocked\", TalosErrorKind.ResourceUnavailable, \"held\");",
            "throw new TalosException(\"SomethingNew\", TalosErrorKind.InvalidData, \"x\");",
            "throw new TalosException(c ? \"A\" : \"B\", TalosErrorKind.NotInstalled, \"x\");",
            "TalosException Make() => new(\"Other\", TalosErrorKind.InvalidArgument, \"m\");",
            "public Sub() : base(\"InvalidOrderFile\", TalosErrorKind.InvalidData, \"m\") { }",
            "EmitError(new TalosException(failure.ErrorId, failure.Kind, \"m\"), null);",
            "EmitError(new TalosException(id, PublishErrors.KindOf(id), \"m\"), null);",
            "WriteError(new ErrorRecord(e, \"Whatever\", ErrorCategory.NotSpecified, null));",
            "throw new TalosException(\"Http\" + code, kind, message, url);",
            "var id = \"Unexpected\" + Stage + \"Error\";",
            "var id = r.ErrorId ?? \"Fallback\";",
            "if (e.ErrorId == \"Thing\") { }",
            "when (e.ErrorId is \"Thing\" or \"Other\")",
            "return Result(\"Failed\", 0, false, \"m\", \"RsyncFailed\");",
            "// new TalosException(\"InComment\", TalosErrorKind.InvalidData, \"a comment is no raise site\");",
        });
        var found = ErrorIdCatalog.StringIds("Sample.cs", sample).ToList();
        string[] forms =
        {
            "a catalogue id as a string literal", "new TalosException(\"X\"", "new TalosException(c ? \"X\" : \"Y\"",
            "new(\"X\", TalosErrorKind.", ": base(\"X\", TalosErrorKind.", "new TalosException(id, kind", "new ErrorRecord(e, \"X\"",
            "\"Http\" + code", "\"Unexpected\" + stage", "ErrorId ?? \"X\"", "ErrorId == \"X\"", "ErrorId is \"X\"", "PublishErrors.KindOf",
        };
        foreach (var form in forms)
        {
            Assert.True(found.Any(f => f.What == form), $"the guard does not see '{form}' in:\n{sample}");
        }
        // Each line but the comment is found; the literal ids of lines 1, 5 and 14 are catalogue ids.
        Assert.Equal(Enumerable.Range(1, 14), found.Select(f => f.Line).Distinct().OrderBy(l => l));
        Assert.Contains(found, f => f.Line == 14 && f.Text == "\"RsyncFailed\"");

        // What the conversion writes is not found.
        var converted = string.Join("\n", new[]
        {
            "throw new TalosException(TalosErrors.CacheLocked, \"held\");",
            "throw new TalosException(TalosErrors.Get(failure.ErrorId, failure.Kind), \"m\");",
            "throw new TalosException(TalosErrors.VersionListUnavailable.Caused(e.Kind), \"m\");",
            "throw new TalosException(TalosErrors.Http(code), message, url);",
            "return Result(\"Failed\", 0, false, \"m\", TalosErrors.RsyncFailed.Id);",
            "when (e.Is(TalosErrors.UnknownExtension, TalosErrors.UnknownVersion))",
        });
        Assert.Empty(ErrorIdCatalog.StringIds("Converted.cs", converted));
        Assert.Equal(new[] { "CacheLocked", "Get", "VersionListUnavailable", "Http", "RsyncFailed", "UnknownExtension", "UnknownVersion" },
            ErrorIdCatalog.References(converted));
    }

    [Fact]
    public void Every_entry_is_raised_in_src_or_says_why_no_host_can_raise_it()
    {
        var sources = ErrorIdCatalog.Sources(TestPaths.RepoRoot).Where(s => !ErrorIdCatalog.Catalogue.Contains(s.Relative)).ToList();
        var named = new HashSet<string>(sources.SelectMany(s => ErrorIdCatalog.References(s.Text)), StringComparer.Ordinal);
        // The files not yet converted still raise by string.
        var spelled = new HashSet<string>(sources.Where(s => ErrorIdCatalog.NotYetConverted.Contains(s.Relative))
            .SelectMany(s => ErrorIdCatalog.StringIds(s.Relative, s.Text)).Select(f => f.Text.Trim('"')), StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (member, entry) in ErrorIdCatalog.Members)
        {
            var raised = named.Contains(member) || spelled.Contains(entry.Id)
                || (entry.Family == TalosErrors.HttpFamily && named.Contains(nameof(TalosErrors.Http)))
                || (entry.Family == TalosErrors.UnexpectedFamily && named.Contains(nameof(TalosErrors.Unexpected)));
            if (!raised)
            {
                problems.Add($"{entry.Id}: nothing in src/ raises it (TalosErrors.{member})");
            }
            if (entry.RaisedBy.Count == 0 && string.IsNullOrWhiteSpace(entry.Unreachable))
            {
                problems.Add($"{entry.Id}: no host raises it, and it gives no reason why");
            }
            if (entry.RaisedBy.Count > 0 && entry.Unreachable is not null)
            {
                problems.Add($"{entry.Id}: both hosts and a reason why none can raise it");
            }
            if (entry.Meaning.Trim().Length == 0)
            {
                problems.Add($"{entry.Id}: no meaning");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(ErrorIdCatalog.Members.Count >= 90, "fewer catalogue entries than ids the code raised: " + ErrorIdCatalog.Members.Count);
    }

    [Fact]
    public void Ids_are_unique_and_every_member_is_in_the_list()
    {
        var ids = TalosErrors.All.Select(e => e.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(ErrorIdCatalog.Members.Values.OrderBy(e => e.Id, StringComparer.Ordinal), TalosErrors.All.OrderBy(e => e.Id, StringComparer.Ordinal));
        foreach (var (member, entry) in ErrorIdCatalog.Members)
        {
            var expected = entry.Id switch { "TalosImage.UnexpectedError" => "UnexpectedError", "Http<status>" => "HttpStatus", var id => id };
            Assert.Equal(expected, member);
            Assert.Same(entry, TalosErrors.Find(entry.Id));
        }
    }

    [Fact]
    public void Every_kind_has_its_own_error_category_and_every_entry_its_kind_first()
    {
        // TalosCmdlet.CategoryFor is the one map from a kind to an ErrorCategory: one arm per kind, onto the category of
        // the same name, which System.Management.Automation has (read from the built cmdlets with MetadataLoadContext).
        var cmdlet = _catalog.Assembly.GetType("TalosImage.Cmdlets.TalosCmdlet")!;
        var categoryFor = cmdlet.GetMethod("CategoryFor", BindingFlags.NonPublic | BindingFlags.Static)!;
        var categories = new HashSet<string>(categoryFor.ReturnType.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name), StringComparer.Ordinal);
        var source = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cmdlets", "TalosCmdlet.cs"));
        var body = Regex.Match(source, @"CategoryFor\(TalosErrorKind kind\) => kind switch\s*\{(?<arms>[^}]*)\}").Groups["arms"].Value;
        var arms = Regex.Matches(body, @"TalosErrorKind\.(?<k>\w+)\s*=>\s*ErrorCategory\.(?<c>\w+)").ToDictionary(m => m.Groups["k"].Value, m => m.Groups["c"].Value);
        foreach (var kind in Enum.GetNames<TalosErrorKind>().Where(k => k != nameof(TalosErrorKind.InvalidOperation)))
        {
            Assert.True(arms.TryGetValue(kind, out var category), $"CategoryFor has no arm for {kind}: it would be InvalidOperation");
            Assert.Equal(kind, category);
        }
        Assert.Contains("_ => ErrorCategory.InvalidOperation", body);
        Assert.All(Enum.GetNames<TalosErrorKind>(), k => Assert.Contains(k, categories));
        Assert.Matches(@"TalosErrors\.UnexpectedError\.Id,\s*CategoryFor\(TalosErrors\.UnexpectedError\.Kind\)", source);
        Assert.Equal(TalosErrorKind.NotSpecified, TalosErrors.UnexpectedError.Kind);
        foreach (var entry in TalosErrors.All)
        {
            Assert.True(entry.Category == entry.Kind.ToString() || entry.Category.StartsWith(entry.Kind + " ", StringComparison.Ordinal),
                $"{entry.Id}: the category '{entry.Category}' does not start with its kind {entry.Kind}");
        }
    }

    [Fact]
    public void The_hosts_are_the_modules_cmdlets_and_talos_order()
    {
        var hosts = new HashSet<string>(_catalog.Cmdlets.Select(c => c.Name).Append(TalosErrors.Hosts.TalosOrder), StringComparer.Ordinal);
        var unknown = TalosErrors.All.SelectMany(e => e.RaisedBy.Select(s => (e.Id, s.Host))).Where(x => !hosts.Contains(x.Host)).ToList();
        Assert.True(unknown.Count == 0, "unknown hosts: " + string.Join(", ", unknown));
        Assert.All(_catalog.Cmdlets, c => Assert.NotEmpty(ErrorsSection.For(c.Name)));
        Assert.Contains(TalosErrors.Usage.RaisedBy, s => s.Host == TalosErrors.Hosts.TalosOrder);
        Assert.All(TalosErrors.All.Where(e => e.RaisedBy.Any(s => s.Host == TalosErrors.Hosts.InvokeTalosOrder)),
            e => Assert.Contains(e.RaisedBy, s => s.Host == TalosErrors.Hosts.TalosOrder));
        Assert.DoesNotContain(TalosErrors.Usage.RaisedBy, s => s.Host == TalosErrors.Hosts.InvokeTalosOrder);
    }

    [Fact]
    public void The_computed_families_go_through_the_catalogue()
    {
        foreach (var entry in TalosErrors.All.Where(e => e.Family == TalosErrors.HttpFamily && e != TalosErrors.HttpStatus))
        {
            var status = int.Parse(entry.Id.Substring(4), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(TalosErrors.HttpKind(status), entry.Kind);
            Assert.Same(entry, TalosErrors.Http(status));
        }
        Assert.Equal(("Http502", TalosErrorKind.ResourceUnavailable), (TalosErrors.Http(502).Id, TalosErrors.Http(502).Kind));
        Assert.Equal(("Http409", TalosErrorKind.InvalidArgument), (TalosErrors.Find("Http409")!.Id, TalosErrors.Find("Http409")!.Kind));
        Assert.Equal(TalosErrorKind.ResourceUnavailable, TalosErrors.Http(307).Kind);
        Assert.Equal(TalosErrors.HttpFamily, TalosErrors.Http(418).Family);
        foreach (var stage in new[] { "schematic", "download", "expand", "publish" })
        {
            var entry = TalosErrors.Unexpected(stage);
            Assert.Same(entry, TalosErrors.Find(entry.Id));
            Assert.Contains(entry, TalosErrors.All);
            Assert.Equal(TalosErrorKind.InvalidOperation, entry.Kind);
        }
        Assert.Equal("UnexpectedPublishError", TalosErrors.Unexpected("publish").Id);
        Assert.Null(TalosErrors.Find("NoSuchId"));
    }

    [Fact]
    public void A_failed_publish_result_gets_the_kind_of_its_id()
    {
        // The kinds PublishErrors.KindOf gave, now the catalogue's.
        var expected = new Dictionary<string, TalosErrorKind>
        {
            ["SshConnectionFailed"] = TalosErrorKind.ConnectionError,
            ["HttpConnectionFailed"] = TalosErrorKind.ConnectionError,
            ["RemoteDecompressorMissing"] = TalosErrorKind.NotInstalled,
            ["SshNotInstalled"] = TalosErrorKind.NotInstalled,
            ["RsyncNotInstalled"] = TalosErrorKind.NotInstalled,
            ["RemoteVerifyFailed"] = TalosErrorKind.InvalidData,
            ["ProxmoxVolumeSizeMismatch"] = TalosErrorKind.InvalidData,
            ["ProxmoxAuthenticationFailed"] = TalosErrorKind.PermissionDenied,
            ["ProxmoxPermissionDenied"] = TalosErrorKind.PermissionDenied,
            ["ProxmoxCertificateUntrusted"] = TalosErrorKind.SecurityError,
            ["ProxmoxCertificatePinMismatch"] = TalosErrorKind.SecurityError,
            ["HttpTimeout"] = TalosErrorKind.OperationTimeout,
            ["ProxmoxTaskTimeout"] = TalosErrorKind.OperationTimeout,
            ["RemoteMkdirFailed"] = TalosErrorKind.WriteError,
            ["RsyncFailed"] = TalosErrorKind.WriteError,
            ["RemoteRenameFailed"] = TalosErrorKind.WriteError,
            ["RemoteExpandFailed"] = TalosErrorKind.WriteError,
            ["RemoteCommandFailed"] = TalosErrorKind.InvalidOperation,
            ["ProxmoxContentNotAllowed"] = TalosErrorKind.InvalidOperation,
            ["ProxmoxVolumeConflict"] = TalosErrorKind.InvalidOperation,
            ["ProxmoxTaskFailed"] = TalosErrorKind.InvalidOperation,
            ["PublishFailed"] = TalosErrorKind.InvalidOperation,
            // Once InvalidOperation through KindOf's default; now the kind their raise sites give.
            ["ProxmoxVolumeMissing"] = TalosErrorKind.InvalidData,
            ["ProxmoxProtocolError"] = TalosErrorKind.ProtocolError,
            ["ProxmoxApiError"] = TalosErrorKind.ResourceUnavailable,
        };
        foreach (var (id, kind) in expected)
        {
            Assert.True(kind == TalosErrors.Get(id).Kind, $"{id}: {TalosErrors.Get(id).Kind}, not {kind}");
            Assert.Same(TalosErrors.Find(id), TalosErrors.Get(id));
        }
        Assert.Equal(TalosErrorKind.InvalidOperation, TalosErrors.Get("NotCatalogued").Kind);
    }

    [Fact]
    public void A_kind_carried_as_a_value_is_the_entrys_unless_the_entry_follows_its_cause()
    {
        Assert.Same(TalosErrors.CacheLocked, TalosErrors.Get("CacheLocked", TalosErrorKind.ResourceUnavailable));
        var offline = TalosErrors.VersionListUnavailable.Caused(TalosErrorKind.ConnectionError);
        Assert.Equal(("VersionListUnavailable", TalosErrorKind.ConnectionError), (offline.Id, offline.Kind));
        Assert.Equal(TalosErrorKind.ConnectionError, TalosErrors.Get("VersionListUnavailable", TalosErrorKind.ConnectionError).Kind);
        Assert.Same(TalosErrors.CacheLocked, TalosErrors.CacheLocked.Caused(TalosErrorKind.ConnectionError));
        var e = new TalosException(TalosErrors.UnknownExtension, "no such extension", "nope");
        Assert.Equal(("UnknownExtension", TalosErrorKind.InvalidArgument), (e.ErrorId, e.Kind));
        Assert.True(e.Is(TalosErrors.UnknownVersion, TalosErrors.UnknownExtension));
        Assert.False(e.Is(TalosErrors.UnknownVersion));
    }

    [Fact]
    public void The_help_pages_errors_lists_are_the_catalogues()
    {
        var stale = ErrorsSection.Stale(HelpFolder);
        Assert.True(stale.Count == 0, "pages whose ERRORS list is not the catalogue's (run: dotnet run --project tools/TalosImage.HelpGen -- --update-docs):\n" + string.Join("\n", stale));
    }

    [Fact]
    public void Updating_a_page_writes_the_catalogues_list_and_keeps_its_intro()
    {
        var file = Path.Combine(HelpFolder, "Expand-TalosImage.md");
        var page = File.ReadAllText(file).Replace("\r\n", "\n");
        var intro = HelpMarkdown.Parse(file).ErrorsText;
        // A hand edit inside the list, and a page from before the markers (its list written by hand).
        var edited = page.Replace("- `SourceNotFound` (ObjectNotFound)", "- `SourceNotFound` (InvalidData)");
        Assert.NotEqual(page, edited);
        Assert.Equal(page, ErrorsSection.Update(edited, "Expand-TalosImage"));
        var unmarked = page.Replace(ErrorsSection.Begin + "\n", "").Replace(ErrorsSection.End + "\n", "");
        Assert.Equal(page, ErrorsSection.Update(unmarked, "Expand-TalosImage"));

        using var dir = new TempDir();
        dir.Write("Expand-TalosImage.md", edited);
        var help = HelpMarkdown.Parse(Path.Combine(dir.Path, "Expand-TalosImage.md"));
        Assert.Equal(intro, help.ErrorsText);
        Assert.Contains(help.Errors, e => e.Id == "SourceNotFound" && e.Category == "InvalidData");
        Assert.Equal(new[] { Path.Combine(dir.Path, "Expand-TalosImage.md") }, ErrorsSection.Stale(dir.Path));
        ErrorsSection.UpdateFolder(dir.Path);
        Assert.Empty(ErrorsSection.Stale(dir.Path));
        Assert.Contains(HelpMarkdown.Parse(Path.Combine(dir.Path, "Expand-TalosImage.md")).Errors, e => e.Id == "SourceNotFound" && e.Category == "ObjectNotFound");
        Assert.DoesNotContain("<!--", intro);
    }

    [Fact]
    public void Each_page_lists_what_its_cmdlet_raises_with_the_catalogues_category_and_wording()
    {
        foreach (var cmdlet in _catalog.Cmdlets)
        {
            var page = HelpMarkdown.Parse(Path.Combine(HelpFolder, cmdlet.Name + ".md"));
            var entries = ErrorsSection.For(cmdlet.Name);
            Assert.Equal(entries.Select(e => e.Id), page.Errors.Select(e => e.Id));
            Assert.Equal(entries.Select(e => e.Category), page.Errors.Select(e => e.Category));
            Assert.Equal(entries.Select(e => e.MeaningFor(cmdlet.Name)), page.Errors.Select(e => e.Text));
        }
    }
}
