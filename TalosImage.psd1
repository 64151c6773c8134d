@{
    RootModule           = 'TalosImage.psm1'
    RequiredAssemblies   = @('bin/TalosImage.Models.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f3c2e-7d1a-4f7e-9a51-3c1d2e8b6f40'
    Author               = 'TalosImage contributors'
    CompanyName          = 'TalosImage'
    Copyright            = '(c) TalosImage contributors. MIT License.'
    Description          = 'Orders Talos Linux images from the Talos Image Factory: resolves versions, creates schematics, downloads into a verified cache, expands raw.xz/raw.zst disk images, publishes to Proxmox VE nodes and writes one manifest per order.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess     = @('TalosImage.Format.ps1xml')
    CmdletsToExport      = @('Clear-TalosCache', 'Clear-TalosPublished', 'Expand-TalosImage', 'Export-TalosManifest', 'Get-TalosCache', 'Get-TalosExtension', 'Get-TalosOverlay', 'Get-TalosPublished', 'Invoke-TalosOrder', 'New-TalosSchematic', 'New-TalosVMTemplate', 'Publish-TalosImage', 'Resolve-TalosVersion', 'Save-TalosImage')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Talos', 'Kubernetes', 'Proxmox', 'ImageFactory', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = 'https://github.com/talosimage/TalosImage'
            LicenseUri   = 'https://github.com/talosimage/TalosImage/blob/main/LICENSE'
            ReleaseNotes = 'See CHANGELOG.md (shipped with the module).'
            # Until CHANGELOG.md gives 0.1.0 a release date: the Gallery and PSResourceGet see 0.1.0-preview1.
            Prerelease   = 'preview1'
        }
    }
}
