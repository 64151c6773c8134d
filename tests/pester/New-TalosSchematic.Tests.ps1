# Pester 5. No Image Factory stand-in is available to Pester, so these tests keep to -Offline, -WhatIf and parameter
# validation (IDs computed locally); POST /schematics is covered by the xunit tests (tests/unit/Factory) with a loopback fake.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:NoServer = 'http://127.0.0.1:9'
}

Describe 'New-TalosSchematic' {
    It 'computes the ID of the reference test vectors offline' {
        $s = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -Offline
        $s | Should -BeOfType 'TalosImage.TalosSchematic'
        $s.SchematicId | Should -Be 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515'
        $s.Source | Should -Be 'Local'
        $s.Extensions | Should -Be @('siderolabs/qemu-guest-agent')

        (New-TalosSchematic -Meta @{ 10 = 'foo' } -Offline).SchematicId | Should -Be 'd308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f'
        (New-TalosSchematic -KernelArg noapic, nolapic -Offline).SchematicId | Should -Be '9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c'
        (New-TalosSchematic -OverlayImage siderolabs/sbc-raspberrypi -OverlayName rpi_generic -Offline).SchematicId |
            Should -Be 'ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9'
    }

    It 'computes locally and posts nothing under -WhatIf' {
        $s = New-TalosSchematic -SecureBootIncludeWellKnownCertificates -FactoryUrl $NoServer -WhatIf
        $s.SchematicId | Should -Be 'fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6'
        $s.Source | Should -Be 'Local'
    }

    It 'reads a schematic.yaml' {
        $dir = New-TalosTestFolder
        try {
            $path = Join-Path $dir 'schematic.yaml'
            "customization:`n  systemExtensions:`n    officialExtensions:`n      - siderolabs/iscsi-tools`n      - siderolabs/util-linux-tools`n" | Set-Content -LiteralPath $path
            (New-TalosSchematic -Path $path -Offline).SchematicId | Should -Be '613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245'
        }
        finally {
            Remove-Item -LiteralPath $dir -Recurse -Force
        }
    }

    It 'names the line and the likely key of a bad schematic.yaml' {
        $dir = New-TalosTestFolder
        try {
            $path = Join-Path $dir 'schematic.yaml'
            "customization:`n  extraKernelArg: [noapic]`n" | Set-Content -LiteralPath $path
            { New-TalosSchematic -Path $path -Offline -ErrorAction Stop } | Should -Throw -ExpectedMessage "*extraKernelArgs*"
        }
        finally {
            Remove-Item -LiteralPath $dir -Recurse -Force
        }
    }

    It 'passes the version on from Resolve-TalosVersion' {
        $s = Resolve-TalosVersion -Version v1.11.5 -Offline -FactoryUrl $NoServer -WarningAction SilentlyContinue |
            New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -Offline
        $s.Version | Should -Be 'v1.11.5'
    }

    It 'rejects a META key outside 0..255' {
        { New-TalosSchematic -Meta @{ 300 = 'x' } -Offline -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSchematic,TalosImage.Cmdlets.NewTalosSchematicCommand'
    }

    It 'rejects an unknown bootloader' {
        { New-TalosSchematic -Bootloader uefi -Offline } | Should -Throw -ErrorId 'ParameterArgumentValidationError,TalosImage.Cmdlets.NewTalosSchematicCommand'
    }
}
