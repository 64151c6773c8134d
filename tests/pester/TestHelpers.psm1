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

Export-ModuleMember -Function Get-TalosImageUnderTestPath, Import-TalosImageUnderTest, New-TalosTestFolder
