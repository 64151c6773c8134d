# Get-TalosPublished and Clear-TalosPublished as a user runs them (issue 19), with Publish-TalosImage's -Force and the
# free space check: through the Proxmox API fake (VMs, storage status, DELETE content) and over SSH to the test host's
# real sshd.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost
    $script:Schematic = $TestHost.factorySchematicId
    $script:S12 = $Schematic.Substring(0, 12)
    $script:Work = New-TalosTestFolder
    $save = @{ SchematicId = $Schematic; Version = 'v1.11.5'; Platform = 'nocloud'; CacheDirectory = (Join-Path $Work 'cache'); FactoryUrl = $TestHost.factoryUrl }
    $script:Iso = Save-TalosImage @save -Format iso
    $script:Storage = $TestHost.proxmoxStorage
    $script:Node = $TestHost.proxmoxNodes[0]
    $script:Api = @{
        ProxmoxUri = $TestHost.proxmoxUri; Node = $Node; Storage = $Storage; CertificateFingerprint = $TestHost.proxmoxFingerprint
        ApiToken = (ConvertTo-SecureString -String $TestHost.proxmoxToken -AsPlainText -Force)
    }
    function script:Volume([string] $Version) { "${Storage}:iso/talos-$S12-$Version-nocloud-amd64.iso" }
    function script:Add-Volume([string] $Volid, [int] $Size = 1000) {
        Invoke-TalosControl $TestHost POST "/proxmox/file?node=$Node&storage=$Storage&volid=$([uri]::EscapeDataString($Volid))&size=$Size" | Out-Null
    }
    function script:Add-Vm([int] $VmId, [string] $Volid, [int] $Template = 0) {
        Invoke-TalosControl $TestHost POST "/proxmox/vm?vmid=$VmId&node=$Node&name=vm$VmId&template=$Template&key=ide2&value=$([uri]::EscapeDataString("$Volid,media=cdrom"))" | Out-Null
    }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Get-TalosPublished and Clear-TalosPublished through the Proxmox API' {
    BeforeEach {
        Invoke-TalosControl $TestHost POST /proxmox/reset | Out-Null
        $Iso | Publish-TalosImage @Api | Out-Null
        Add-Volume (Volume 'v1.11.4')
        Add-Volume (Volume 'v1.11.3')
        Add-Volume "${Storage}:iso/debian-12.iso"
        Add-Vm 100 (Volume 'v1.11.3')
    }

    It 'lists only what TalosImage published, with the VMs that use it, and marks what retention would do' {
        $listed = @(Get-TalosPublished @Api -KeepVersions 1)

        $listed | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosPublishedImage }
        ($listed.Version | Sort-Object) | Should -Be @('v1.11.3', 'v1.11.4', 'v1.11.5')
        ($listed | Where-Object Version -EQ 'v1.11.5').State | Should -Be 'Published'
        ($listed | Where-Object Version -EQ 'v1.11.4').State | Should -Be 'WouldRemove'
        $inUse = $listed | Where-Object Version -EQ 'v1.11.3'
        $inUse.State | Should -Be 'InUse'
        $inUse.UsedBy | Should -Be @("$Node/100 (VM vm100, ide2)")
        $inUse.Family | Should -Be "$S12/nocloud-amd64.iso"
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted).Count | Should -Be 0
    }

    It 'removes nothing with -WhatIf, then removes the old version and keeps the in-use ISO and the foreign file' {
        $preview = @(Clear-TalosPublished @Api -KeepVersions 1 -WhatIf)
        ($preview | Where-Object State -EQ 'WouldRemove').Path | Should -Be (Volume 'v1.11.4')
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted).Count | Should -Be 0

        $done = @(Clear-TalosPublished @Api -KeepVersions 1 -Confirm:$false)

        ($done | Where-Object State -EQ 'Removed').Path | Should -Be (Volume 'v1.11.4')
        ($done | Where-Object State -EQ 'InUse').Path | Should -Be (Volume 'v1.11.3')
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted) | Should -Be @((Volume 'v1.11.4'))
        $files = @(Invoke-TalosControl $TestHost GET /proxmox/files).volid
        $files | Should -Contain "${Storage}:iso/debian-12.iso"
        $files | Should -Contain (Volume 'v1.11.3')
        $files | Should -Contain (Volume 'v1.11.5')
    }

    It 'removes exactly the images piped in from Get-TalosPublished, never one in use' {
        $done = @(Get-TalosPublished @Api | Where-Object Version -Like 'v1.11.[34]' | Clear-TalosPublished @Api -Confirm:$false)

        ($done | Where-Object State -EQ 'Removed').Version | Should -Be 'v1.11.4'
        ($done | Where-Object State -EQ 'InUse').Version | Should -Be 'v1.11.3'
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted) | Should -Be @((Volume 'v1.11.4'))
    }

    It 'asks for -KeepVersions or piped images' {
        { Clear-TalosPublished @Api -Confirm:$false } | Should -Throw -ErrorId 'RetentionKeepMissing,*'
    }
}

Describe 'Publish-TalosImage -Force and the free space check through the Proxmox API' {
    BeforeEach {
        Invoke-TalosControl $TestHost POST /proxmox/reset | Out-Null
    }

    It 'refuses a changed volume, refuses to replace it while a VM uses it, and replaces it with -Force once free' {
        Add-Volume (Volume 'v1.11.5') 1234
        $refused = $Iso | Publish-TalosImage @Api -ErrorAction SilentlyContinue -ErrorVariable failures
        $refused.Status | Should -Be 'Failed'
        $refused.ErrorId | Should -Be 'ProxmoxVolumeConflict'
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ProxmoxVolumeConflict,*'

        Add-Vm 9000 (Volume 'v1.11.5') 1
        $inUse = $Iso | Publish-TalosImage @Api -Force -ErrorAction SilentlyContinue
        $inUse.ErrorId | Should -Be 'ProxmoxVolumeInUse'
        $inUse.Error | Should -Match 'template'
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted).Count | Should -Be 0

        $forced = $Iso | Publish-TalosImage @Api -Force -ReplaceInUse -WarningAction SilentlyContinue
        $forced.Status | Should -Be 'Published'
        @(Invoke-TalosControl $TestHost GET /proxmox/deleted) | Should -Be @((Volume 'v1.11.5'))
        (@(Invoke-TalosControl $TestHost GET /proxmox/files) | Where-Object volid -EQ (Volume 'v1.11.5')).size | Should -Be $Iso.Size
    }

    It 'fails with both figures and sends nothing when the storage is too full' {
        Invoke-TalosControl $TestHost POST "/proxmox/avail?storage=$Storage&bytes=1000" | Out-Null
        $r = $Iso | Publish-TalosImage @Api -ErrorAction SilentlyContinue -ErrorVariable failures
        $r.ErrorId | Should -Be 'PublishSpaceInsufficient'
        $r.Error | Should -Match "\($($Iso.Size) bytes\) needed"
        $r.Error | Should -Match '\(1000 bytes\) available'
        (Invoke-TalosControl $TestHost GET /proxmox/log).uploads | Should -Be 0
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'PublishSpaceInsufficient,*'
    }
}

Describe 'Get-TalosPublished and Clear-TalosPublished over SSH' {
    BeforeAll {
        if ($null -eq $TestHost.ssh) { throw "the test host has no sshd: $($TestHost.sshUnavailable)" }
        $script:Ssh = $TestHost.ssh
    }
    BeforeEach {
        $script:Remote = Join-Path $Ssh.remoteRoot ([guid]::NewGuid().ToString('N').Substring(0, 10))
        $script:SshArgs = @{ ComputerName = $Ssh.target; SshOption = $Ssh.sshOptions; IsoDirectory = "$Remote/iso"; ImportDirectory = "$Remote/import" }
    }

    It 'lists a published ISO with its sidecar hash, and -WhatIf removes nothing' {
        $Iso | Publish-TalosImage @SshArgs | Out-Null
        # TalosImage's naming without a sidecar: not published by TalosImage, never listed.
        $foreign = "$Remote/iso/talos-$S12-v1.11.4-nocloud-amd64.iso"
        [IO.File]::WriteAllBytes($foreign, [byte[]]::new(10))

        $listed = @(Get-TalosPublished @SshArgs)

        $listed.Count | Should -Be 1
        $listed[0].Version | Should -Be 'v1.11.5'
        $listed[0].Sha256 | Should -Be $Iso.Sha256
        $listed[0].Transport | Should -Be 'Ssh'

        $preview = @($listed | Clear-TalosPublished @SshArgs -WhatIf)
        $preview[0].State | Should -Be 'WouldRemove'
        Test-Path -LiteralPath $listed[0].Path | Should -BeTrue

        $removed = @($listed | Clear-TalosPublished @SshArgs -Confirm:$false)
        $removed[0].State | Should -Be 'Removed'
        Test-Path -LiteralPath $listed[0].Path | Should -BeFalse
        Test-Path -LiteralPath "$($listed[0].Path).sha256" | Should -BeFalse
        Test-Path -LiteralPath $foreign | Should -BeTrue
    }
}
