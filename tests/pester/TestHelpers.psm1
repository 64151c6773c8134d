# Shared by the Pester tests: imports the built module (build.ps1 sets TALOSIMAGE_MODULE_PATH to out/TalosImage/TalosImage.psd1).
function Import-TalosImageUnderTest {
    $path = $env:TALOSIMAGE_MODULE_PATH
    if (-not $path) { $path = Join-Path $PSScriptRoot '../../out/TalosImage/TalosImage.psd1' }
    if (-not (Test-Path $path)) { throw "The built module is not at ${path}: run ./build.ps1 -Task Build first." }
    Import-Module $path -Force -ErrorAction Stop
}

function New-TalosTestFolder {
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("talosimage-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    New-Item -ItemType Directory -Path $dir | Out-Null
    $dir
}

Export-ModuleMember -Function Import-TalosImageUnderTest, New-TalosTestFolder
