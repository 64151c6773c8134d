# New-TalosVMTemplate as a user runs it: Save | Expand | Publish-TalosImage -ProxmoxUri | New-TalosVMTemplate against
# the test host's Proxmox API fake (https, pinned, token auth; qemu create with import-from, template, clone, delete).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Publish.Helpers.ps1)
    $script:TestHost = Start-TalosTestHost -Factory -Proxmox
    $script:Schematic = $TestHost.factorySchematicId
    $script:Stem = "talos-$($Schematic.Substring(0, 12))-v1.11.5"

    $script:Work = New-TalosTestFolder
    $script:Cache = Join-Path $Work 'cache'
    $save = @{ SchematicId = $Schematic; Version = 'v1.11.5'; Platform = 'nocloud'; CacheDirectory = $Cache; FactoryUrl = $TestHost.factoryUrl }
    $script:Raw = Save-TalosImage @save -Format raw.xz | Expand-TalosImage
    $script:XzImage = Get-TalosFactoryImage $TestHost 'nocloud-amd64.raw.xz'

    function Get-Secure([string] $Text) { ConvertTo-SecureString -String $Text -AsPlainText -Force }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'New-TalosVMTemplate through the Proxmox API' {
    BeforeEach {
        Invoke-TalosControl $TestHost POST /proxmox/reset | Out-Null
        $script:Pin = @{ ProxmoxUri = $TestHost.proxmoxUri; CertificateFingerprint = $TestHost.proxmoxFingerprint }
        $script:SavedToken = $env:PROXMOX_API_TOKEN
        $env:PROXMOX_API_TOKEN = $TestHost.proxmoxToken
    }
    AfterEach {
        $env:PROXMOX_API_TOKEN = $script:SavedToken
    }

    It 'Publish-TalosImage | New-TalosVMTemplate makes a template once and finds it the second time' {
        $template = $Raw | Publish-TalosImage @Pin -Node $TestHost.proxmoxNodes[0] | New-TalosVMTemplate @Pin

        $template | Should -BeOfType TalosImage.TalosVMTemplate
        $template.Status | Should -Be 'Created'
        $template.VmId | Should -Be 100
        $template.Node | Should -Be $TestHost.proxmoxNodes[0]
        $template.Storage | Should -Be 'local-lvm'
        $template.SourceVolumeId | Should -Be "$($TestHost.proxmoxStorage):import/$Stem-nocloud-amd64.raw"
        $template.Sha256 | Should -Be $XzImage.rawSha256
        $template.SchematicId | Should -Be $Schematic
        $template.Version | Should -Be 'v1.11.5'
        $template.InstallerImage | Should -BeLike "*/nocloud-installer/${Schematic}:v1.11.5"
        $vms = @(Invoke-TalosControl $TestHost GET /proxmox/vms)
        $vms.Count | Should -Be 1
        $vms[0].template | Should -BeTrue
        $vms[0].config.scsi0 | Should -BeLike 'local-lvm:base-100-disk-0,*'
        $vms[0].config.description | Should -Match "talosimage-sha256: $($XzImage.rawSha256)"

        $again = $Raw | Publish-TalosImage @Pin -Node $TestHost.proxmoxNodes[0] | New-TalosVMTemplate @Pin
        $again.Status | Should -Be 'Found'
        $again.VmId | Should -Be 100
        @(Invoke-TalosControl $TestHost GET /proxmox/vms).Count | Should -Be 1
    }

    It 'takes overrides from its parameters and -Option' {
        $t = $Raw | Publish-TalosImage @Pin -Node $TestHost.proxmoxNodes[0] |
            New-TalosVMTemplate @Pin -VmId 9000 -Name talos-golden -Memory 4096 -Cores 4 -Tag prod -Option @{ cpu = 'host'; ide2 = '' }

        $t.VmId | Should -Be 9000
        $t.Name | Should -Be 'talos-golden'
        $config = (@(Invoke-TalosControl $TestHost GET /proxmox/vms) | Where-Object vmid -EQ 9000).config
        $config.memory | Should -Be '4096'
        $config.cores | Should -Be '4'
        $config.cpu | Should -Be 'host'
        $config.tags | Should -Be 'talos;talosimage;v1.11.5;prod'
        $config.PSObject.Properties.Name | Should -Not -Contain 'ide2'
    }

    It 'refuses a -VmId another VM holds with TemplateVmIdTaken and makes nothing' {
        Invoke-RestMethod -Method Post -Uri ($TestHost.controlUrl + '/proxmox/vms') -Body '{"vmid": 9000, "node": "pve2", "name": "database"}' -ContentType 'application/json' | Out-Null
        $published = $Raw | Publish-TalosImage @Pin -Node $TestHost.proxmoxNodes[0]

        $out = @($published | New-TalosVMTemplate @Pin -VmId 9000 -ErrorAction SilentlyContinue -ErrorVariable failures)

        $out.Count | Should -Be 0
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'TemplateVmIdTaken,*'
        $failures[0].Exception.Message | Should -Match 'database'
        @(Invoke-TalosControl $TestHost GET /proxmox/vms).Count | Should -Be 1
    }

    It 'refuses an SSH result (API only) and an ISO volume, before anything is sent' {
        $ssh = [TalosImage.TalosPublishResult]@{ Host = 'pve1'; Destination = '/var/lib/vz/import'; Transport = 'Ssh'; Status = 'Published'; Sha256 = $XzImage.rawSha256 }
        $ssh | New-TalosVMTemplate @Pin -ErrorAction SilentlyContinue -ErrorVariable apiOnly
        $apiOnly[0].FullyQualifiedErrorId | Should -BeLike 'TemplateApiOnly,*'
        $apiOnly[0].Exception.Message | Should -Match 'API only'

        New-TalosVMTemplate @Pin -Node pve1 -VolumeId "local:iso/$Stem-nocloud-amd64.iso" -Sha256 $XzImage.rawSha256 -SchematicId $Schematic -Version v1.11.5 -ErrorAction SilentlyContinue -ErrorVariable iso
        $iso[0].FullyQualifiedErrorId | Should -BeLike 'TemplateSourceNotImport,*'
        $iso[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        @((Invoke-TalosControl $TestHost GET /proxmox/log).requests).Count | Should -Be 0
    }

    It '-WhatIf names the node, the image and the template without a token and sends nothing' {
        $published = $Raw | Publish-TalosImage @Pin -Node $TestHost.proxmoxNodes[0]
        Invoke-TalosControl $TestHost POST /proxmox/reset | Out-Null
        $env:PROXMOX_API_TOKEN = $null
        $run = Invoke-TalosTranscribed -Folder $Work { $published | New-TalosVMTemplate @Pin -WhatIf }
        $run.Output | Should -BeNullOrEmpty
        $run.Text | Should -Match ([regex]::Escape("$($TestHost.proxmoxNodes[0]) (127.0.0.1): local:import/$Stem-nocloud-amd64.raw"))
        $run.Text | Should -Match 'Create VM template talos-v1-11-5-nocloud-amd64-'
        @((Invoke-TalosControl $TestHost GET /proxmox/log).requests).Count | Should -Be 0
    }

    It 'has help with its parameters and errors' {
        $help = Get-Help New-TalosVMTemplate -Full
        $help.Synopsis | Should -Match 'VM template'
        ($help.parameters.parameter.name) | Should -Contain 'Keep'
        ($help | Out-String) | Should -Match 'TemplateVmIdTaken'
    }
}
