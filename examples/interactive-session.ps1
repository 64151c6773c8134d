# An interactive PowerShell 7 session with TalosImage, stage by stage and then as one order.
# Run the lines one by one; none of them is needed by the next except through the pipeline.
Import-Module TalosImage

# What can be built, and the newest release.
Resolve-TalosVersion -List | Select-Object -Last 5
$version = Resolve-TalosVersion -Latest

# Which official extensions that version offers (tab completion of -SystemExtension lists them too).
Get-TalosExtension -Version $version.Version -Name '*guest*'

# A schematic: its ID is computed locally with -WhatIf, created at the factory without it.
$schematic = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -KernelArg 'console=ttyS0,115200'

# Download a nocloud disk image into the cache, expand it, and push it to a Proxmox node over SSH.
$version | Save-TalosImage -SchematicId $schematic.SchematicId -Platform nocloud -Format raw.xz |
    Expand-TalosImage |
    Publish-TalosImage -ComputerName root@pve-01.example.lan -WhatIf

# The whole order file: first as a dry run, then for real, keeping the results.
Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -WhatIf
$results = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -ErrorVariable failed
$results | Format-Table OrderId, Status, Succeeded, Failed, Changed, ManifestPath

# What the cache holds, and what retention would remove.
Get-TalosCache | Group-Object Family | Select-Object Count, Name
Clear-TalosCache -KeepVersions 2 -WhatIf
