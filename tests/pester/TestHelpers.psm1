# Shared by the Pester tests. build.ps1 sets TALOSIMAGE_MODULE_PATH to out/TalosImage/TalosImage.psd1, the module
# exactly as the build assembles it.

function Get-TalosImageUnderTestPath {
    $path = $env:TALOSIMAGE_MODULE_PATH
    if (-not $path) { $path = Join-Path $PSScriptRoot '../../out/TalosImage/TalosImage.psd1' }
    if (-not (Test-Path $path)) { throw "The built module is not at ${path}: run ./build.ps1 -Task Build first." }
    (Resolve-Path $path).Path
}

# Imports the module into the session (-Global), as a user's Import-Module does, not into this helper's scope.
function Import-TalosImageUnderTest {
    Import-Module (Get-TalosImageUnderTestPath) -Force -Global -ErrorAction Stop
}

function New-TalosTestFolder {
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("talosimage-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    New-Item -ItemType Directory -Path $dir | Out-Null
    $dir
}

# The loopback servers of the xunit suite (fake Image Factory, Proxmox API fake, a real sshd) in one process:
# tests/TalosImage.TestHost (build it with the solution, or: dotnet build tests/TalosImage.TestHost -c Release).
# $env:TALOSIMAGE_TESTHOST may name its DLL; else Release, then Debug, under the repository.
function Start-TalosTestHost {
    [CmdletBinding()]
    param(
        # Which servers; none = all three.
        [switch] $Factory,
        [switch] $Proxmox,
        [switch] $Sshd,
        [int] $TimeoutSeconds = 60
    )
    $dll = $env:TALOSIMAGE_TESTHOST
    if (-not $dll) {
        $bin = Join-Path $PSScriptRoot '../TalosImage.TestHost/bin'
        $dll = @('Release', 'Debug') | ForEach-Object { Join-Path $bin "$_/net10.0/talosimage-testhost.dll" } |
            Where-Object { Test-Path $_ } | Select-Object -First 1
        if (-not $dll) { throw "talosimage-testhost.dll is not built under ${bin}: run dotnet build tests/TalosImage.TestHost -c Release." }
    }
    if (-not (Test-Path $dll)) { throw "TALOSIMAGE_TESTHOST names $dll, which does not exist." }
    $dotnet = (Get-Command dotnet -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source

    $start = [System.Diagnostics.ProcessStartInfo]::new($dotnet)
    $start.ArgumentList.Add((Resolve-Path $dll).Path)
    if ($Factory) { $start.ArgumentList.Add('--factory') }
    if ($Proxmox) { $start.ArgumentList.Add('--proxmox') }
    if ($Sshd) { $start.ArgumentList.Add('--sshd') }
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($start)
    # Read stderr to the end all along, so the host never blocks on a full pipe and a failure can show it.
    $stderr = $process.StandardError.ReadToEndAsync()
    $line = $process.StandardOutput.ReadLineAsync()
    $ready = $line.Wait([TimeSpan]::FromSeconds($TimeoutSeconds))
    if (-not $ready -or -not $line.Result -or -not $line.Result.StartsWith('{')) {
        # No JSON line: it failed (or it is not the test host: dotnet itself prints its errors on stdout).
        if (-not $process.HasExited) { $process.Kill($true) }
        $process.WaitForExit(10000) | Out-Null
        $text = if ($stderr.Wait(5000)) { $stderr.Result.Trim() } else { '' }
        $why = if (-not $ready) { "did not describe its servers in $TimeoutSeconds s (killed)" }
            elseif ($line.Result) { "printed '$($line.Result)' instead of its JSON line" }
            else { "exited with $($process.ExitCode) before describing its servers" }
        throw "talosimage-testhost ($dll) $why. Its stderr: $text"
    }
    $testHost = $line.Result | ConvertFrom-Json
    $testHost | Add-Member -NotePropertyName Process -NotePropertyValue $process
    $testHost | Add-Member -NotePropertyName StandardError -NotePropertyValue $stderr
    $testHost
}

# Stops a host from Start-TalosTestHost: writes "stop", waits up to $TimeoutSeconds, else kills it and its children.
function Stop-TalosTestHost {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline)] $TestHost,
        [int] $TimeoutSeconds = 10
    )
    process {
        $process = $TestHost.Process
        if (-not $process.HasExited) {
            try {
                $process.StandardInput.WriteLine('stop')
                $process.StandardInput.Close()
            } catch [System.IO.IOException] {
                # It is already going: the pipe is closed.
            }
            if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
                Write-Warning "talosimage-testhost did not stop in $TimeoutSeconds s: killed"
                $process.Kill($true)
                $process.WaitForExit(10000) | Out-Null
            }
        }
    }
}

# The test host's control endpoint (GET /factory/log, POST /factory/reset, GET /proxmox/files ...). A JSON array
# comes out as its elements (Invoke-RestMethod writes it as one object), so @(...) counts them.
function Invoke-TalosControl {
    param([Parameter(Mandatory)] $TestHost, [Parameter(Mandatory)] [string] $Method, [Parameter(Mandatory)] [string] $Path)
    Invoke-RestMethod -Method $Method -Uri ($TestHost.controlUrl + $Path) -TimeoutSec 10 | ForEach-Object { $_ }
}

# What the test host's factory serves for one asset (asset, size, sha256, rawSize, rawSha256).
function Get-TalosFactoryImage {
    param([Parameter(Mandatory)] $TestHost, [Parameter(Mandatory)] [string] $Asset)
    $image = $TestHost.factoryImages | Where-Object asset -EQ $Asset
    if (-not $image) { throw "the test host serves no $Asset" }
    $image
}

# The SHA-256 of a file, lower case, as the cache records it.
function Get-TalosTestSha256([string] $Path) {
    (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant()
}

# This pwsh as a command line for a child session ('dotnet .../pwsh.dll' for the .NET tool).
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') { @($process, (Join-Path $PSHOME 'pwsh.dll')) } else { @($process) }
}

Export-ModuleMember -Function Get-TalosImageUnderTestPath, Import-TalosImageUnderTest, New-TalosTestFolder, Start-TalosTestHost, Stop-TalosTestHost, Invoke-TalosControl, Get-TalosFactoryImage, Get-TalosTestSha256, Get-PwshCommand
