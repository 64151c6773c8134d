#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages TalosImage.
.DESCRIPTION
    Build    compiles the solution and copies the assembled module to out/TalosImage/ (manifest, root module, views,
             help, and every assembly in bin/).
    Test     runs the xunit suite (tests/unit); on linux-x64 its talos-order process tests again against the native
             build of talos-order (out/talos-order-linux-x64, Native AOT, as its tool package carries it); then the
             Pester suite (tests/pester) in a pwsh process against out/TalosImage, and ends with one line:
             "Tests: N passed, N failed, N skipped" counting all three.
             It fails when any test fails, when a suite ran no test, and when a Pester test or file was skipped.
    Package  builds the PowerShell Gallery package of out/TalosImage (Publish-PSResource to a local folder repository)
             and talos-order's .NET tool packages (TalosImage.Cli, its native .linux-x64 and its portable .any),
             in out/packages/.

    Pester 5.7.1 comes from NuGet: the restore of tests/unit downloads it (PackageDownload) into the NuGet package folder.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Test -PesterPath tests/pester/Save-TalosImage.Tests.ps1
#>
[CmdletBinding()]
param(
    # Build, Test, Package; several in order ("-Task Build,Test" also works from a shell that passes one string).
    [string[]] $Task = @('Build', 'Test'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester files or folders to run (default: tests/pester); "a,b" also works from a shell that passes one string.
    [string[]] $PesterPath,

    # Run only Pester (Test without the xunit suite).
    [switch] $SkipUnit
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'TalosImage'
$results = Join-Path $out 'test-results'
$pesterVersion = '5.7.1'

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', (Join-Path $root 'TalosImage.sln'), '-c', $Configuration, '-nologo', '-v', 'quiet')
    # The Cmdlets project assembles the module on every build (target AssembleModule in its .csproj).
    $built = Join-Path $root "src/TalosImage.Cmdlets/bin/$Configuration/netstandard2.0/module/TalosImage"
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    New-Item -ItemType Directory -Force $out | Out-Null
    Copy-Item $built $moduleDir -Recurse
    Write-Host "module assembled in $moduleDir"
}

function Get-PesterManifest {
    $packages = $env:NUGET_PACKAGES
    if (-not $packages) {
        $line = @(& dotnet nuget locals global-packages --list) -match '^global-packages:' | Select-Object -First 1
        $packages = ($line -replace '^global-packages:\s*', '').Trim()
    }
    $manifest = Join-Path $packages "pester/$pesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $manifest)) {
        throw "Pester $pesterVersion is not at ${manifest}: run 'dotnet restore tests/unit' (it downloads Pester from NuGet)."
    }
    $manifest
}

# This pwsh, as a command line: the .NET tool runs as 'dotnet .../pwsh.dll'.
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { @($process, (Join-Path $PSHOME 'pwsh.dll')) } else { @($process) }
}

# xunit: counts from its trx file. -Filter and -TalosOrder (TALOS_ORDER_UNDER_TEST) run a part of it against another talos-order.
function Invoke-UnitTests {
    param([string] $Suite = 'xunit', [string] $Filter, [string] $TalosOrder)
    $name = if ($Filter) { 'unit-native.trx' } else { 'unit.trx' }
    $trx = Join-Path $results $name
    $arguments = @('test', (Join-Path $root 'tests/unit'), '-c', $Configuration, '--no-build', '-nologo', '--logger', "trx;LogFileName=$name", '--results-directory', $results)
    if ($Filter) { $arguments += @('--filter', $Filter) }
    $env:TALOS_ORDER_UNDER_TEST = $TalosOrder
    try {
        & dotnet @arguments | Out-Host
        $exit = $LASTEXITCODE
    }
    finally {
        $env:TALOS_ORDER_UNDER_TEST = $null
    }
    if (-not (Test-Path $trx)) {
        Write-Warning "$Suite wrote no results"
        return [pscustomobject]@{ Suite = $Suite; Passed = 0; Failed = 1; Skipped = 0; Problem = 'no results' }
    }
    $run = ([xml](Get-Content -Raw $trx)).TestRun
    $counters = $run.ResultSummary.Counters
    $failures = @($run.Results.UnitTestResult | Where-Object { $_.outcome -eq 'Failed' } | ForEach-Object {
            [pscustomobject]@{ Name = $_.testName; Message = "$($_.Output.ErrorInfo.Message)" }
        })
    $failed = [int]$counters.failed + [int]$counters.error
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    [pscustomobject]@{
        Suite   = $Suite
        Passed  = [int]$counters.passed
        Failed  = $failed
        # The trx counts a skipped test as not executed.
        Skipped = [int]$counters.total - [int]$counters.executed
        Problem = if ([int]$counters.passed -eq 0) { 'ran no test' } else { $null }
        Failures = $failures
    }
}

# Pester: in a pwsh process of its own, against the assembled module; counts from the result it saves.
function Invoke-PesterTests {
    $paths = if ($PesterPath) { $PesterPath | ForEach-Object { $_ -split ',' } | Where-Object { $_ } | ForEach-Object { (Resolve-Path $_.Trim()).Path } } else { @(Join-Path $root 'tests/pester') }
    $resultFile = Join-Path $results 'pester.xml'
    $summary = Join-Path $results 'pester-summary.json'
    $script = {
        param($PesterManifest, $Paths, $ResultFile, $Summary)
        # The tests run with PowerShell's default preferences, as a user's session has them.
        Import-Module $PesterManifest -ErrorAction Stop
        $config = New-PesterConfiguration
        $config.Run.Path = $Paths
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        $config.TestResult.Enabled = $true
        $config.TestResult.OutputFormat = 'NUnitXml'
        $config.TestResult.OutputPath = $ResultFile
        $r = Invoke-Pester -Configuration $config
        [pscustomobject]@{
            Passed           = $r.PassedCount
            Failed           = $r.FailedCount
            Skipped          = $r.SkippedCount
            NotRun           = $r.NotRunCount
            FailedBlocks     = $r.FailedBlocksCount
            FailedContainers = $r.FailedContainersCount
            Failures         = @($r.Failed | ForEach-Object { [pscustomobject]@{ Name = $_.ExpandedPath; Message = "$($_.ErrorRecord | Select-Object -First 1)" } })
            Containers       = @($r.Containers | ForEach-Object { [pscustomobject]@{ Item = "$($_.Item)"; Result = "$($_.Result)"; Passed = $_.PassedCount; Skipped = $_.SkippedCount } })
        } | ConvertTo-Json -Depth 4 | Set-Content -Path $Summary
    }
    $env:TALOSIMAGE_MODULE_PATH = Join-Path $moduleDir 'TalosImage.psd1'
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("& { $script } '$(Get-PesterManifest)' @('$($paths -join "','")') '$resultFile' '$summary'"))
    $pwsh = @(Get-PwshCommand)
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -OutputFormat Text -EncodedCommand $encoded | Out-Host
    if (-not (Test-Path $summary)) {
        return [pscustomobject]@{ Suite = 'Pester'; Passed = 0; Failed = 1; Skipped = 0; Problem = 'Pester wrote no summary' }
    }
    $s = Get-Content -Raw $summary | ConvertFrom-Json
    $problem = @()
    if ($s.Passed -eq 0) { $problem += 'ran no test' }
    if ($s.Skipped -gt 0 -or $s.NotRun -gt 0) { $problem += "$($s.Skipped) skipped and $($s.NotRun) not run" }
    if ($s.FailedBlocks -gt 0 -or $s.FailedContainers -gt 0) { $problem += "$($s.FailedBlocks) failed blocks, $($s.FailedContainers) failed files" }
    foreach ($c in $s.Containers) {
        if ($c.Passed -eq 0) { $problem += "$($c.Item) ran no test ($($c.Result))" }
    }
    [pscustomobject]@{
        Suite   = 'Pester'
        Passed  = [int]$s.Passed
        Failed  = [int]$s.Failed + [int]$s.FailedBlocks + [int]$s.FailedContainers
        Skipped = [int]$s.Skipped + [int]$s.NotRun
        Problem = if ($problem) { $problem -join '; ' } else { $null }
        Failures = @($s.Failures)
    }
}

# The tests that run talos-order as a process (end to end, reliability, CLI), again against the native linux-x64
# build that its tool package carries (Native AOT), where reflection that works under the JIT may not.
function Invoke-NativeCliTests {
    if (-not ($IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64')) {
        Write-Host 'xunit, native talos-order: not on linux-x64, not built'
        return @()
    }
    $native = Join-Path $out 'talos-order-linux-x64'
    try {
        Invoke-Native dotnet @('publish', (Join-Path $root 'src/TalosImage.Cli'), '-c', $Configuration, '-r', 'linux-x64', '-o', $native, '-nologo', '-v', 'quiet')
    }
    catch {
        Write-Warning "$_"
        return [pscustomobject]@{ Suite = 'xunit, native talos-order'; Passed = 0; Failed = 1; Skipped = 0; Problem = 'the native build failed' }
    }
    Invoke-UnitTests -Suite 'xunit, native talos-order' -TalosOrder (Join-Path $native 'talos-order') `
        -Filter 'FullyQualifiedName~TalosImage.Tests.EndToEnd|FullyQualifiedName~TalosImage.Tests.Reliability|FullyQualifiedName~TalosImage.Tests.Cli.TalosOrderCliTests'
}

function Invoke-Test {
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory -Force $results | Out-Null
    if (-not (Test-Path (Join-Path $moduleDir 'TalosImage.psd1'))) { throw "The module is not assembled in ${moduleDir}: run ./build.ps1 -Task Build first." }
    $suites = @()
    if (-not $SkipUnit) {
        $suites += Invoke-UnitTests
        $suites += Invoke-NativeCliTests
    }
    $suites += Invoke-PesterTests
    # The failed tests again at the end, where a CI log's tail shows them: name and the first lines of the message.
    foreach ($f in @($suites | ForEach-Object { $_.Failures } | Where-Object { $_ })) {
        $lines = @("$($f.Message)" -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 4)
        Write-Host "FAILED: $($f.Name)"
        foreach ($l in $lines) { Write-Host "    $($l.Substring(0, [Math]::Min(300, $l.Length)))" }
    }
    foreach ($s in $suites) {
        Write-Host ("{0}: {1} passed, {2} failed, {3} skipped{4}" -f $s.Suite, $s.Passed, $s.Failed, $s.Skipped, $(if ($s.Problem) { " ($($s.Problem))" } else { '' }))
    }
    $passed = ($suites | Measure-Object Passed -Sum).Sum
    $failed = ($suites | Measure-Object Failed -Sum).Sum
    $skipped = ($suites | Measure-Object Skipped -Sum).Sum
    $bad = @($suites | Where-Object { $_.Failed -gt 0 -or $_.Problem })
    if ($bad -and $failed -eq 0) { $failed = $bad.Count }
    Write-Host "Tests: $passed passed, $failed failed, $skipped skipped"
    if ($bad) { exit 1 }
}

function Invoke-Package {
    $packages = Join-Path $out 'packages'
    New-Item -ItemType Directory -Force $packages | Out-Null
    Invoke-Native dotnet @('pack', (Join-Path $root 'src/TalosImage.Cli'), '-c', $Configuration, '-o', $packages, '-nologo')
    # The native (Native AOT) linux-x64 package is packed on its own platform and replaces the self-contained one.
    if ($IsLinux -and [Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64') {
        Invoke-Native dotnet @('pack', (Join-Path $root 'src/TalosImage.Cli'), '-c', $Configuration, '-r', 'linux-x64', '-o', $packages, '-nologo')
    }
    else {
        Write-Warning 'not on linux-x64: TalosImage.Cli.linux-x64 is the self-contained build, not the native one'
    }
    $repo = "TalosImageBuild-$PID"
    Register-PSResourceRepository -Name $repo -Uri $packages -Trusted
    try {
        Publish-PSResource -Path $moduleDir -Repository $repo
    }
    finally {
        Unregister-PSResourceRepository -Name $repo
    }
    Get-ChildItem $packages -Filter *.nupkg | ForEach-Object { Write-Host "package: $($_.FullName)" }
}

$Task = @($Task | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
foreach ($t in $Task) {
    if ($t -notin 'Build', 'Test', 'Package') { throw "Unknown task '$t': expected Build, Test or Package." }
}
foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}
