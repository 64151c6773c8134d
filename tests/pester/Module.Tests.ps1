# The module as a whole, as users load and use it: Import-Module (also -Force twice, and after Remove-Module),
# auto-loading from $env:PSModulePath, the private load context next to another module's YamlDotNet, and next to a
# different Octokit (one of issue 16's libraries) used through Resolve-TalosVersion -Source GitHub, in both orders,
# the output types in scripts, the PowerShell-version guard and the help. Every loading test runs in a FRESH pwsh child
# process, since a load context cannot be unloaded: what this session already loaded would hide a loading defect.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    $CmdletNames = @((Import-PowerShellDataFile (Get-TalosImageUnderTestPath)).CmdletsToExport)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Module.Helpers.ps1)

    $script:ModulePath = Get-TalosImageUnderTestPath
    $script:ModuleDir = Split-Path $ModulePath
    $script:Bin = Join-Path $ModuleDir 'bin'
    $script:Manifest = Import-PowerShellDataFile $ModulePath
    $script:Expected = @($Manifest.CmdletsToExport | Sort-Object)
    $script:Config = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/config.yaml')).Path
    $script:Orders = (Resolve-Path (Join-Path $PSScriptRoot '../../examples/orders.yaml')).Path
    $script:Work = New-TalosTestFolder

    # A cache with one artifact from the fake factory, so that a child's Get-TalosCache has something real to list.
    $script:TestHost = Start-TalosTestHost -Factory
    $script:Cache = Join-Path $Work 'cache'
    $script:Empty = New-Item -ItemType Directory (Join-Path $Work 'empty-cache') | ForEach-Object FullName
    $script:Saved = Save-TalosImage -SchematicId $TestHost.factorySchematicId -Version v1.11.5 -Format iso -CacheDirectory $Cache -FactoryUrl $TestHost.factoryUrl -ErrorAction Stop

    # Run in a child after loading: every exported cmdlet, where it comes from, and two of them used for real.
    $script:Probe = @'
$commands = @(Get-Command -Module TalosImage | Sort-Object Name)
$probeEntries = @(Get-TalosCache -CacheDirectory $Cache)
$probeEmpty = @(Get-TalosCache -CacheDirectory $Empty)
$probeOrder = @(Invoke-TalosOrder -Config $Config -Orders $Orders -Offline -WhatIf -WarningAction SilentlyContinue)
$probe = [ordered]@{
    Commands     = @($commands.Name)
    Assemblies   = @($commands | ForEach-Object { $_.ImplementingType.Assembly.Location } | Sort-Object -Unique)
    Contexts     = @($commands | ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_.ImplementingType.Assembly).Name } | Sort-Object -Unique)
    CachePaths   = @($probeEntries.Path)
    CacheTypes   = @($probeEntries | ForEach-Object { $_.GetType().FullName })
    EmptyCount   = $probeEmpty.Count
    OrderStatus  = @($probeOrder.Status)
    OrderTypes   = @($probeOrder | ForEach-Object { $_.GetType().FullName })
    Positions    = @($probeOrder.Positions)
    ModulePath   = (Get-Module TalosImage).Path
    ModuleCount  = @(Get-Module TalosImage).Count
}
'@
    # The names a probe uses for its own values must differ from these (PowerShell's names ignore case).
    $script:ProbeVariables = @{ Cache = $Cache; Empty = $Empty; Config = $Config; Orders = $Orders }

    function Assert-Probe($Probe, [string] $ExpectedModulePath) {
        $Probe.Commands | Should -Be $Expected
        # Every cmdlet is implemented by the module's one TalosImage.Cmdlets.dll in the private load context.
        $Probe.Assemblies | Should -Be @(Join-Path (Split-Path $ExpectedModulePath) 'bin/TalosImage.Cmdlets.dll')
        $Probe.Contexts | Should -Be @('TalosImage')
        $Probe.CachePaths | Should -Be @($Saved.Path)
        $Probe.CacheTypes | Should -Be @('TalosImage.TalosCacheEntry')
        $Probe.EmptyCount | Should -Be 0
        $Probe.OrderStatus | Should -Be @('Planned')
        $Probe.OrderTypes | Should -Be @('TalosImage.TalosOrderResult')
        # The example order's three positions (count them in the file, not here).
        $Probe.Positions | Should -Be @(@(Select-String -Path $Orders -Pattern '^\s+- name:').Count)
        $Probe.ModulePath | Should -Be (Join-Path (Split-Path $ExpectedModulePath) 'TalosImage.psm1')
        $Probe.ModuleCount | Should -Be 1
    }

    # The fresh sessions run at once, started here; each Describe receives its own.
    $script:Children = @{}

    # A user's first session: load, use the engine (the dry-run reads YAML, the cache listing reads JSON side files),
    # then report where each assembly came from, and use PowerShell's own Newtonsoft.Json.
    $Children.Import = Start-TalosChildPwsh -WorkingDirectory $Work -Variable $ProbeVariables -Script (@'
Import-Module $ModulePath

'@ + $Probe + @'

$assemblies = @([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in 'TalosImage.Core', 'TalosImage.Cmdlets', 'TalosImage.Models', 'YamlDotNet', 'Newtonsoft.Json' } |
    ForEach-Object { [ordered]@{ Name = $_.GetName().Name; Version = "$($_.GetName().Version)"; Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name; Location = $_.Location } })
# PowerShell's own Newtonsoft.Json, by type name in a script and behind ConvertFrom-Json / ConvertTo-Json.
$json = '{"a":[1,2,3],"b":{"c":"d"}}' | ConvertFrom-Json
Save-Result ([ordered]@{
    Probe            = $probe
    Assemblies       = $assemblies
    ScriptNewtonsoft = [Newtonsoft.Json.JsonConvert].Assembly.Location
    PSHome           = $PSHOME
    JsonSum          = ($json.a | Measure-Object -Sum).Sum
    JsonC            = $json.b.c
    Serialized       = [Newtonsoft.Json.JsonConvert]::SerializeObject([ordered]@{ x = 1; y = 'z' })
    RoundTrip        = (ConvertTo-Json -InputObject @{ k = 'v' } -Compress)
})
'@)

    # Import-Module -Force twice, then Remove-Module and Import-Module again, in one session.
    $Children.Reimport = Start-TalosChildPwsh -WorkingDirectory $Work -Variable $ProbeVariables -Script (@'
Import-Module $ModulePath
Import-Module $ModulePath -Force
Import-Module $ModulePath -Force

'@ + $Probe + @'

$forced = $probe
Remove-Module TalosImage
$removed = [ordered]@{
    Modules  = @(Get-Module TalosImage).Count
    Commands = @(Get-Command -Module TalosImage -ErrorAction SilentlyContinue).Count
    Resolves = [bool](Get-Command Get-TalosCache -ErrorAction SilentlyContinue)
}
Import-Module $ModulePath

'@ + $Probe + @'

Save-Result ([ordered]@{ Forced = $forced; Removed = $removed; Again = $probe })
'@)

    # Auto-loading: the module folder on $env:PSModulePath, and no Import-Module.
    $modules = Join-Path $Work 'modules'
    New-Item -ItemType Directory $modules | Out-Null
    Copy-Item $ModuleDir (Join-Path $modules 'TalosImage') -Recurse
    $script:Copy = Join-Path $modules 'TalosImage/TalosImage.psd1'
    $Children.AutoLoad = Start-TalosChildPwsh -WorkingDirectory $Work -Variable $ProbeVariables -Environment @{ PSModulePath = $modules + [System.IO.Path]::PathSeparator + $env:PSModulePath } -Script (@'
$before = @(Get-Module TalosImage).Count
$available = @(Get-Module -ListAvailable TalosImage | ForEach-Object Path)
# No Import-Module: the first use of a cmdlet loads the module.
$first = @(Get-TalosCache -CacheDirectory $Cache)

'@ + $Probe + @'

Save-Result ([ordered]@{ Before = $before; Available = $available; First = @($first.Path); Probe = $probe })
'@)

    # Another module that loads YamlDotNet 11.2.1 (restored into the NuGet package folder by PackageDownload in
    # tests/unit/TalosImage.Tests.csproj) into the default context and parses YAML with it: a script module here.
    $packages = $env:NUGET_PACKAGES
    if (-not $packages) {
        $line = @(& dotnet nuget locals global-packages --list) -match '^global-packages:' | Select-Object -First 1
        $packages = ($line -replace '^global-packages:\s*', '').Trim()
    }
    $lib = Join-Path $packages 'yamldotnet/11.2.1/lib'
    $script:OtherYaml = @('netstandard2.0', 'netstandard2.1', 'net6.0', 'net8.0') |
        ForEach-Object { Join-Path $lib "$_/YamlDotNet.dll" } | Where-Object { Test-Path $_ } | Select-Object -First 1
    if (-not $OtherYaml) { throw "YamlDotNet 11.2.1 is not restored under ${lib}: run dotnet restore tests/unit." }
    $script:OtherVersion = "$([System.Reflection.AssemblyName]::GetAssemblyName($OtherYaml).Version)"
    $script:OwnVersion = "$([System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $Bin 'YamlDotNet.dll')).Version)"
    $fixtureDir = Join-Path $Work 'OtherYaml'
    New-Item -ItemType Directory $fixtureDir | Out-Null
    $fixture = Join-Path $fixtureDir 'OtherYaml.psm1'
    Set-Content -LiteralPath $fixture -Value @"
Add-Type -Path '$OtherYaml'
function ConvertFrom-OtherYaml([string] `$Text) {
    `$deserializer = [YamlDotNet.Serialization.DeserializerBuilder]::new().Build()
    `$map = `$deserializer.Deserialize([System.IO.StringReader]::new(`$Text))
    [pscustomobject]@{
        Names    = @(`$map.Keys | Sort-Object)
        Port     = `$map['port']
        Version  = "`$(`$deserializer.GetType().Assembly.GetName().Version)"
        Location = `$deserializer.GetType().Assembly.Location
    }
}
Export-ModuleMember -Function ConvertFrom-OtherYaml
"@
    $loadOther = 'Import-Module $Fixture; $other = ConvertFrom-OtherYaml "name: lab`nport: 8006"'
    $loadTalos = 'Import-Module $ModulePath; $order = @(Invoke-TalosOrder -Config $Config -Orders $Orders -Offline -WhatIf -WarningAction SilentlyContinue)'
    $both = @'

# Both again, now that both are loaded.
$again = ConvertFrom-OtherYaml "a: 1`nb: 2"
$order2 = @(Invoke-TalosOrder -Config $Config -Orders $Orders -Offline -WhatIf -WarningAction SilentlyContinue)
Save-Result ([ordered]@{
    Other       = $other
    Again       = $again
    OrderStatus = @($order.Status) + @($order2.Status)
    Positions   = @($order.Positions)
    Yaml        = @([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'YamlDotNet' } |
        ForEach-Object { [ordered]@{ Version = "$($_.GetName().Version)"; Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name; Location = $_.Location } })
})
'@
    # Another module's copy of one of issue 16's libraries: a stand-in Octokit.dll of version 0.9.0.0 (compiled here,
    # in a child, so that this session never loads it) with a type of its own and one that shares Octokit's name.
    # TalosImage must list GitHub releases with its own Octokit 14 (Resolve-TalosVersion -Source GitHub against the
    # test host), while the other copy keeps serving its module, whichever loaded first.
    $otherOctokitDir = Join-Path $Work 'OtherOctokit'
    New-Item -ItemType Directory $otherOctokitDir | Out-Null
    $script:OtherOctokit = Join-Path $otherOctokitDir 'Octokit.dll'
    # Compiled with the Roslyn PowerShell carries (Add-Type -OutputAssembly would give it a random assembly name).
    $compile = Start-TalosChildPwsh -WorkingDirectory $Work -Variable @{ Target = $OtherOctokit } -Script @'
Add-Type -TypeDefinition 'public static class TalosRoslynWarmUp { }'
$code = @"
[assembly: System.Reflection.AssemblyVersion("0.9.0.0")]
namespace Octokit
{
    public static class StandIn { public static string Hello() { return "stand-in Octokit"; } }
    public class GitHubClient { public override string ToString() { return "stand-in GitHubClient"; } }
}
"@
$core = [object].Assembly.Location
$refs = @($core, (Join-Path (Split-Path $core) 'System.Runtime.dll')) | ForEach-Object { [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile($_) }
$compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create('Octokit',
    [Microsoft.CodeAnalysis.SyntaxTree[]] @([Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText($code)),
    [Microsoft.CodeAnalysis.MetadataReference[]] $refs,
    [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary))
$emitted = [Microsoft.CodeAnalysis.FileSystemExtensions]::Emit($compilation, $Target)
if (-not $emitted.Success) { throw "the stand-in did not compile: $($emitted.Diagnostics -join '; ')" }
$name = [System.Reflection.AssemblyName]::GetAssemblyName($Target)
Save-Result ([ordered]@{ Name = $name.Name; Version = "$($name.Version)" })
'@
    $compiled = Receive-TalosChildPwsh $compile
    if ($compiled.ExitCode -ne 0 -or $compiled.Result.Name -ne 'Octokit' -or $compiled.Result.Version -ne '0.9.0.0') { throw "the stand-in Octokit.dll was not built: $($compiled.Text)" }
    $script:OwnOctokitVersion = "$([System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $Bin 'Octokit.dll')).Version)"
    $octokitVariables = $ProbeVariables + @{ OtherOctokit = $OtherOctokit; GitHubApi = $TestHost.factoryUrl; GitHubCache = (Join-Path $Work 'github-cache') }
    $loadOtherOctokit = 'Add-Type -Path $OtherOctokit; $otherHello = [Octokit.StandIn]::Hello(); $otherClient = "$([Octokit.GitHubClient]::new())"'
    $useGitHub = '$env:GITHUB_TOKEN = $null; $env:GH_TOKEN = $null; Import-Module $ModulePath; $releases = @(Resolve-TalosVersion -List -IncludePrerelease -Source GitHub -GitHubApiUrl $GitHubApi -CacheDirectory $GitHubCache -CacheTtl 0)'
    $reportOctokit = @'

Save-Result ([ordered]@{
    OtherHello  = $otherHello
    OtherClient = $otherClient
    AgainHello  = [Octokit.StandIn]::Hello()
    Versions    = @($releases.Version)
    Sources     = @($releases.Source | Select-Object -Unique)
    Octokit     = @([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Octokit' } |
        ForEach-Object { [ordered]@{ Version = "$($_.GetName().Version)"; Context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name; Location = $_.Location } })
})
'@
    $Children.OctokitFirst = Start-TalosChildPwsh -WorkingDirectory $Work -Variable $octokitVariables -Script ($loadOtherOctokit + "`n" + $useGitHub + $reportOctokit)
    $Children.TalosThenOctokit = Start-TalosChildPwsh -WorkingDirectory $Work -Variable $octokitVariables -Script ($useGitHub + "`n" + $loadOtherOctokit + $reportOctokit)

    $Children.OtherFirst = Start-TalosChildPwsh -WorkingDirectory $Work -Variable ($ProbeVariables + @{ Fixture = $fixture }) -Script ($loadOther + "`n" + $loadTalos + $both)
    $Children.TalosFirst = Start-TalosChildPwsh -WorkingDirectory $Work -Variable ($ProbeVariables + @{ Fixture = $fixture }) -Script ($loadTalos + "`n" + $loadOther + $both)
}

AfterAll {
    if ($script:Children) { $Children.Values | Stop-TalosChildPwsh }
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Work) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Loading the module in a fresh pwsh' {
    It 'Import-Module of the built manifest exports exactly CmdletsToExport, and they run' {
        $r = Receive-TalosChildPwsh $Children.Import
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Error | Should -BeNullOrEmpty
        $Expected.Count | Should -Be 14
        Assert-Probe $r.Result.Probe $ModulePath
        # The offline dry-run's What if: lines reached the child's console.
        $r.Output | Should -Match 'What if: .*EXAMPLE-0001/proxmox-vm-iso'
    }

    It 'keeps all 14 cmdlets working after Import-Module -Force twice' {
        $r = Receive-TalosChildPwsh $Children.Reimport
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Error | Should -BeNullOrEmpty
        Assert-Probe $r.Result.Forced $ModulePath
    }

    It 'is gone after Remove-Module and works again after a second Import-Module' {
        $r = Receive-TalosChildPwsh $Children.Reimport
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Result.Removed.Modules | Should -Be 0
        $r.Result.Removed.Commands | Should -Be 0
        # The built module is not on this child's PSModulePath, so nothing auto-loads it back.
        $r.Result.Removed.Resolves | Should -BeFalse
        Assert-Probe $r.Result.Again $ModulePath
    }

    It 'auto-loads from a folder on $env:PSModulePath when a cmdlet is first used' {
        $r = Receive-TalosChildPwsh $Children.AutoLoad
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Error | Should -BeNullOrEmpty
        $r.Result.Before | Should -Be 0
        $r.Result.Available | Should -Be @($Copy)
        $r.Result.First | Should -Be @($Saved.Path)
        Assert-Probe $r.Result.Probe $Copy
    }
}

Describe 'The private load context' {
    BeforeAll {
        $script:Loaded = Receive-TalosChildPwsh $Children.Import
        $script:Assemblies = @($Loaded.Result.Assemblies)
        function Get-Loaded([string] $Name) { @($Assemblies | Where-Object Name -EQ $Name) }
    }

    It 'ran the engine in a fresh pwsh without an error' {
        $Loaded.ExitCode | Should -Be 0 -Because $Loaded.Text
        $Loaded.Error | Should -BeNullOrEmpty
    }

    It 'holds <_> once, in the context named TalosImage, from the module''s bin folder' -ForEach 'TalosImage.Cmdlets', 'TalosImage.Core', 'YamlDotNet' {
        $a = Get-Loaded $_
        $a.Count | Should -Be 1
        $a[0].Context | Should -Be 'TalosImage'
        $a[0].Location | Should -Be (Join-Path $Bin "$_.dll")
    }

    It 'holds TalosImage.Models in the default context, from bin, shared with scripts' {
        $a = Get-Loaded 'TalosImage.Models'
        $a.Count | Should -Be 1
        $a[0].Context | Should -Be 'Default'
        $a[0].Location | Should -Be (Join-Path $Bin 'TalosImage.Models.dll')
    }

    It 'loads its own Newtonsoft.Json privately while PowerShell''s copy keeps serving the session' {
        $a = Get-Loaded 'Newtonsoft.Json'
        $a.Count | Should -Be 2
        $private = @($a | Where-Object Context -EQ 'TalosImage')
        $private.Count | Should -Be 1
        $private[0].Location | Should -Be (Join-Path $Bin 'Newtonsoft.Json.dll')
        $shared = @($a | Where-Object Context -EQ 'Default')
        $shared.Count | Should -Be 1
        $shared[0].Location | Should -BeLike "$($Loaded.Result.PSHome)*"
        $shared[0].Location | Should -Not -Be $private[0].Location
        # A script naming [Newtonsoft.Json.JsonConvert] gets PowerShell's copy, not the module's.
        $Loaded.Result.ScriptNewtonsoft | Should -Be $shared[0].Location
        $Loaded.Result.Serialized | Should -Be '{"x":1,"y":"z"}'
        $Loaded.Result.JsonSum | Should -Be 6
        $Loaded.Result.JsonC | Should -Be 'd'
        $Loaded.Result.RoundTrip | Should -Be '{"k":"v"}'
    }
}

Describe 'Next to another module that loaded YamlDotNet <Order>' -ForEach @(
    @{ Order = 'before TalosImage'; Child = 'OtherFirst' }
    @{ Order = 'after TalosImage'; Child = 'TalosFirst' }
) {
    BeforeAll {
        $script:Run = Receive-TalosChildPwsh $Children[$Child]
    }

    It 'runs without an error' {
        $Run.ExitCode | Should -Be 0 -Because $Run.Text
        $Run.Error | Should -BeNullOrEmpty
    }

    It 'the other module parses YAML with its own YamlDotNet' {
        $OtherVersion | Should -Not -Be $OwnVersion
        $Run.Result.Other.Names | Should -Be @('name', 'port')
        $Run.Result.Other.Port | Should -Be '8006'
        $Run.Result.Other.Version | Should -Be $OtherVersion
        $Run.Result.Other.Location | Should -Be $OtherYaml
        $Run.Result.Again.Names | Should -Be @('a', 'b')
        $Run.Result.Again.Version | Should -Be $OtherVersion
    }

    It 'TalosImage plans the example order with its own YamlDotNet' {
        $Run.Result.OrderStatus | Should -Be @('Planned', 'Planned')
        $Run.Result.Positions | Should -Be @(@(Select-String -Path $Orders -Pattern '^\s+- name:').Count)
    }

    It 'has both YamlDotNet versions loaded at once, each in its own context' {
        $yaml = @($Run.Result.Yaml)
        $yaml.Count | Should -Be 2
        $other = @($yaml | Where-Object Context -EQ 'Default')
        $other.Count | Should -Be 1
        $other[0].Version | Should -Be $OtherVersion
        $other[0].Location | Should -Be $OtherYaml
        $own = @($yaml | Where-Object Context -EQ 'TalosImage')
        $own.Count | Should -Be 1
        $own[0].Version | Should -Be $OwnVersion
        $own[0].Location | Should -Be (Join-Path $Bin 'YamlDotNet.dll')
    }
}

Describe 'Next to another module that loaded a different Octokit <Order>' -ForEach @(
    @{ Order = 'before TalosImage'; Child = 'OctokitFirst' }
    @{ Order = 'after TalosImage'; Child = 'TalosThenOctokit' }
) {
    BeforeAll {
        $script:Run = Receive-TalosChildPwsh $Children[$Child]
    }

    It 'runs without an error' {
        $Run.ExitCode | Should -Be 0 -Because $Run.Text
        $Run.Error | Should -BeNullOrEmpty
    }

    It 'Resolve-TalosVersion -Source GitHub lists the releases with the module''s own Octokit' {
        $Run.Result.Versions | Should -Be @($TestHost.factoryVersions | Sort-Object { [semver] $_.TrimStart('v') } -Descending)
        $Run.Result.Versions.Count | Should -BeGreaterThan 3
        $Run.Result.Sources | Should -Be @('GitHub')
    }

    It 'the other copy keeps serving the types of its name' {
        $Run.Result.OtherHello | Should -Be 'stand-in Octokit'
        $Run.Result.AgainHello | Should -Be 'stand-in Octokit'
        $Run.Result.OtherClient | Should -Be 'stand-in GitHubClient'
    }

    It 'has both Octokit versions loaded at once, each in its own context' {
        $octokit = @($Run.Result.Octokit)
        $octokit.Count | Should -Be 2
        $other = @($octokit | Where-Object Context -EQ 'Default')
        $other.Count | Should -Be 1
        $other[0].Version | Should -Be '0.9.0.0'
        $other[0].Location | Should -Be $OtherOctokit
        $own = @($octokit | Where-Object Context -EQ 'TalosImage')
        $own.Count | Should -Be 1
        $own[0].Version | Should -Be $OwnOctokitVersion
        $own[0].Version | Should -Not -Be '0.9.0.0'
        $own[0].Location | Should -Be (Join-Path $Bin 'Octokit.dll')
    }
}

Describe 'The output types in scripts' {
    It 'resolves [TalosImage.TalosArtifact] by name, from TalosImage.Models in bin' {
        $type = [TalosImage.TalosArtifact]
        $type.FullName | Should -Be 'TalosImage.TalosArtifact'
        $type.Assembly.Location | Should -Be (Join-Path $Bin 'TalosImage.Models.dll')
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).Name | Should -Be 'Default'
    }

    It 'emits objects that are the type scripts name: -is, -BeOfType, a [type] cast' {
        $v = Resolve-TalosVersion v1.11.5 -Offline -CacheDirectory $Empty -WarningAction SilentlyContinue
        $v -is [TalosImage.TalosVersion] | Should -BeTrue
        $v | Should -BeOfType TalosImage.TalosVersion
        $v.GetType() | Should -Be ([TalosImage.TalosVersion])
        $v.Version | Should -Be 'v1.11.5'
        $v.Minor | Should -Be 'v1.11'
        $v.Source | Should -Be 'Unchecked'
        $entry = Get-TalosCache -CacheDirectory $Cache
        $entry | Should -BeOfType TalosImage.TalosCacheEntry
        $entry.Path | Should -Be $Saved.Path
        $Saved | Should -BeOfType TalosImage.TalosArtifact
    }

    It 'lets a script build a [TalosImage.TalosArtifact] from a hashtable and pipe it to Publish-TalosImage -WhatIf' {
        $iso = Join-Path $Work 'hand-built.iso'
        [System.IO.File]::WriteAllBytes($iso, [byte[]](1..64))
        $built = [TalosImage.TalosArtifact]@{ Path = $iso; Version = 'v1.11.5'; Size = 64 }
        $built | Should -BeOfType TalosImage.TalosArtifact
        $built.Path | Should -Be $iso
        $built.Version | Should -Be 'v1.11.5'
        $built.Kind | Should -Be 'Downloaded'

        # What if: lines go to the host, not to a stream: run the same in a runspace whose host records them.
        $recordingHost = [TalosImageTests.RecordingHost]::new('No')
        $r = Invoke-TalosInRunspace -PSHost $recordingHost -Parameters @{ Iso = $iso } -Script @'
param($Iso)
[TalosImage.TalosArtifact]@{ Path = $Iso; Version = 'v1.11.5'; Size = 64 } | Publish-TalosImage -ComputerName root@pve-01.invalid -WhatIf
'@
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $r.Errors | Should -BeNullOrEmpty
        $r.Output | Should -BeNullOrEmpty
        $whatIf = @($recordingHost.Recorder.Lines | Where-Object { $_ -like 'What if:*' })
        $whatIf.Count | Should -Be 1
        $whatIf[0] | Should -BeLike "*hand-built.iso*root@pve-01.invalid:*"
        # The default ISO folder of the SSH target, with the version the hand-built artifact carries.
        $whatIf[0] | Should -Match ([regex]::Escape('root@pve-01.invalid:/var/lib/vz/template/iso/') + '\S*v1\.11\.5\S*hand-built\.iso')
    }
}

Describe 'The PowerShell version guard' {
    BeforeAll {
        # pwsh 7.3 cannot be run here (only the pinned 7.6.9 is installed, and there is no network to fetch another),
        # so the guard is taken from TalosImage.psm1 as it ships, parsed, defined here and called with the versions
        # a user could have.
        $tokens = $null
        $parseErrors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $ModuleDir 'TalosImage.psm1'), [ref] $tokens, [ref] $parseErrors)
        $script:ParseErrors = $parseErrors
        $script:Guard = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Test-TalosImageHost' }, $true))
        if ($Guard.Count -eq 1) { . ([scriptblock]::Create($Guard[0].Extent.Text)) }
    }

    It 'is defined once in the shipped TalosImage.psm1, which parses cleanly' {
        $ParseErrors | Should -BeNullOrEmpty
        $Guard.Count | Should -Be 1
        $Guard[0].Body.ParamBlock.Parameters.Name.VariablePath.UserPath | Should -Be @('Edition', 'Version')
    }

    It 'refuses PowerShell 7.3 with one sentence that names 7.4' {
        $message = @(Test-TalosImageHost -Edition Core -Version ([version]'7.3.9'))
        $message.Count | Should -Be 1
        $message[0] | Should -BeOfType [string]
        $message[0] | Should -Match '7\.4'
        $message[0] | Should -Match '7\.3\.9'
        # One sentence: it ends with a full stop and has no other sentence end before it.
        ($message[0] -split '(?<=\.)\s+(?=[A-Z])').Count | Should -Be 1
        $message[0] | Should -Match '\.$'
    }

    It 'accepts <Edition> <Version>' -ForEach @(
        @{ Edition = 'Core'; Version = '7.4.0' }
        @{ Edition = 'Core'; Version = '7.6.9' }
        @{ Edition = 'Desktop'; Version = '5.1' }
    ) {
        Test-TalosImageHost -Edition $Edition -Version ([version]$Version) | Should -BeNullOrEmpty
    }

    It 'accepts this very pwsh, which loaded the module' {
        Test-TalosImageHost -Edition $PSVersionTable.PSEdition -Version $PSVersionTable.PSVersion | Should -BeNullOrEmpty
        Get-Module TalosImage | Should -Not -BeNullOrEmpty
    }
}

Describe 'Help' {
    It 'Get-Help <_> -Full has a synopsis of its own and at least two examples' -ForEach $CmdletNames {
        $name = $_
        $help = Get-Help $name -Full
        $help.Name | Should -Be $name
        $help.Synopsis | Should -Not -BeNullOrEmpty
        # Without MAML help PowerShell puts the syntax stub ("Save-TalosImage [-SchematicId] <string> ...") here.
        $help.Synopsis.Trim() | Should -Not -Match ('^' + [regex]::Escape($name) + '\s+\[')
        $help.Synopsis.Trim() | Should -Not -Be ((Get-Command $name -Syntax) -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 1).Trim()
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) { "$($e.Code)" | Should -Match ([regex]::Escape($name)) -Because "an example of $name uses it" }
        # Every parameter of the cmdlet has a description.
        foreach ($p in @($help.Parameters.Parameter)) {
            ($p.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$($p.Name) of $name is described"
        }
    }

    It 'Get-Help about_TalosImage shows the topic, naming every cmdlet' {
        $about = Get-Help about_TalosImage | Out-String
        $about | Should -Match 'about_TalosImage'
        $about | Should -Match 'CACHE LAYOUT'
        foreach ($name in $Expected) { $about | Should -Match ([regex]::Escape($name)) }
    }
}
