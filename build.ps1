#Requires -Version 7.2
<#
.SYNOPSIS
    Builds, tests and packages TalosImage.
.DESCRIPTION
    Build    compiles the solution and assembles the module in out/TalosImage/ (DLLs, manifest, views, help).
    Test     runs the xunit suite, then the Pester tests against out/TalosImage when Pester 5 is installed.
    Package  builds the PowerShell Gallery .nupkg of out/TalosImage and the talos-order dotnet tool package in out/packages/.
.EXAMPLE
    ./build.ps1 -Task Build, Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build', 'Test'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'TalosImage'

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', (Join-Path $root 'TalosImage.sln'), '-c', $Configuration, '-nologo')
    # The Cmdlets project assembles the module on every build (target AssembleModule in its .csproj):
    # manifest, views and cmdlets at the top, the engine and its dependencies in dependencies/.
    $built = Join-Path $root "src/TalosImage.Cmdlets/bin/$Configuration/netstandard2.0/module/TalosImage"
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    New-Item -ItemType Directory -Force $out | Out-Null
    Copy-Item $built $moduleDir -Recurse
    Write-Host "module assembled in $moduleDir"
}

function Invoke-Test {
    Invoke-Native dotnet @('test', (Join-Path $root 'tests/unit'), '-c', $Configuration, '-nologo')
    $pester = Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0.0' | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 is not installed: the Pester tests were not run (Install-Module Pester -MinimumVersion 5.0).'
        return
    }
    Import-Module $pester
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $root 'tests/pester'
    $config.Run.Exit = $false
    $config.Run.Throw = $true
    $config.Output.Verbosity = 'Detailed'
    $env:TALOSIMAGE_MODULE_PATH = Join-Path $moduleDir 'TalosImage.psd1'
    Invoke-Pester -Configuration $config
}

function Invoke-Package {
    $packages = Join-Path $out 'packages'
    New-Item -ItemType Directory -Force $packages | Out-Null
    Invoke-Native dotnet @('pack', (Join-Path $root 'src/TalosImage.Cli'), '-c', $Configuration, '-o', $packages, '-nologo')
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

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}
