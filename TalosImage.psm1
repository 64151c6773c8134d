# TalosImage's root module: loads the cmdlets from bin/ and exports them.
#
# PowerShell 7 (7.4 and later): TalosImage.Loader.dll (default load context) creates the module's private
# AssemblyLoadContext and loads TalosImage.Cmdlets.dll into it; Import-Module -Assembly then reads the cmdlets from
# that assembly, so the engine, YamlDotNet and Newtonsoft.Json resolve privately from bin/ even while PowerShell
# enumerates the cmdlet types. TalosImage.Models.dll (the output records) is loaded into the default context by the
# manifest's RequiredAssemblies and shared, so [TalosImage.TalosArtifact] works in scripts.
# Windows PowerShell 5.1: the cmdlet assembly is imported from bin/, its libraries beside it (docs/INSTALL.md).

function Test-TalosImageHost {
    # One sentence when this PowerShell cannot run the module; nothing when it can.
    param([string] $Edition, [version] $Version)
    if ($Edition -eq 'Core' -and $Version -lt [version]'7.4') {
        return "TalosImage needs PowerShell 7.4 or later (this is PowerShell $Version); on Windows, Windows PowerShell 5.1 works too."
    }
}

$problem = Test-TalosImageHost -Edition $PSVersionTable.PSEdition -Version $PSVersionTable.PSVersion
if ($problem) {
    throw $problem
}

$importModule = Get-Command -Name Import-Module -Module Microsoft.PowerShell.Core
$bin = [System.IO.Path]::Combine($PSScriptRoot, 'bin')

if ($PSVersionTable.PSEdition -eq 'Core') {
    if (-not ('TalosImage.Loader.ModuleLoadContext' -as [type])) {
        Add-Type -Path ([System.IO.Path]::Combine($bin, 'TalosImage.Loader.dll'))
    }
    $cmdletAssembly = [TalosImage.Loader.ModuleLoadContext]::Initialize($bin)
    $inner = & $importModule -Assembly $cmdletAssembly -PassThru -ErrorAction Stop
}
else {
    $inner = & $importModule -Name ([System.IO.Path]::Combine($bin, 'TalosImage.Cmdlets.dll')) -PassThru -ErrorAction Stop
}

# On a second import in the same process (Import-Module -Force, or Remove-Module then Import-Module) PowerShell
# returns the cached assembly module without adding its cmdlets to this module's exports
# (PowerShell/PowerShell#20710): add them here, so that every import exports the same cmdlets.
$addExportedCmdlet = [System.Management.Automation.PSModuleInfo].GetMethod('AddExportedCmdlet', [System.Reflection.BindingFlags]'Instance, NonPublic')
foreach ($cmdlet in $inner.ExportedCmdlets.Values) {
    $addExportedCmdlet.Invoke($ExecutionContext.SessionState.Module, @(, $cmdlet))
}

