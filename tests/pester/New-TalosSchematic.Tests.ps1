# New-TalosSchematic against the test host's fake Image Factory (POST /schematics answers the canonical YAML's ID;
# /version/<v>/extensions/official lists factoryExtensions): the factory's ID equals the one computed offline,
# -WhatIf posts nothing, unknown extension names are caught against -Version, and Resolve | New | Save composes.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Command = 'TalosImage.Cmdlets.NewTalosSchematicCommand'
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'New-TalosSchematic' {
    BeforeEach {
        Reset-Factory
    }

    Context 'on the factory' {
        It 'creates a schematic with extensions and kernel arguments; the offline ID is the factory''s' {
            $extensions = 'siderolabs/qemu-guest-agent', 'siderolabs/iscsi-tools'
            $s = New-TalosSchematic -SystemExtension $extensions -KernelArg 'console=ttyS0,115200', 'net.ifnames=0' -FactoryUrl $Factory
            $s | Should -BeOfType TalosImage.TalosSchematic
            $s.Source | Should -Be 'Factory'
            $s.FactoryUrl | Should -Be $Factory
            $s.SchematicId | Should -Match '^[0-9a-f]{64}$'
            $s.Extensions | Should -Be $extensions
            $s.KernelArgs | Should -Be @('console=ttyS0,115200', 'net.ifnames=0')
            $s.Yaml | Should -BeLike '*extraKernelArgs:*console=ttyS0,115200*net.ifnames=0*officialExtensions:*siderolabs/qemu-guest-agent*siderolabs/iscsi-tools*'
            (Get-FactoryLog).schematicPosts | Should -Be 1

            $local = New-TalosSchematic -SystemExtension $extensions -KernelArg 'console=ttyS0,115200', 'net.ifnames=0' -Offline
            $local.Source | Should -Be 'Local'
            $local.FactoryUrl | Should -BeNullOrEmpty
            $local.SchematicId | Should -Be $s.SchematicId -Because 'the ID computed locally is the one the factory returned'
            $local.Yaml | Should -Be $s.Yaml
            (Get-FactoryLog).schematicPosts | Should -Be 1 -Because '-Offline posts nothing'
        }

        It 'gives the vanilla schematic the test host''s ID, and the extension order changes the ID' {
            (New-TalosSchematic -FactoryUrl $Factory).SchematicId | Should -Be $TestHost.factorySchematicId
            $ab = New-TalosSchematic -SystemExtension siderolabs/btrfs, siderolabs/amd-ucode -FactoryUrl $Factory
            $ba = New-TalosSchematic -SystemExtension siderolabs/amd-ucode, siderolabs/btrfs -FactoryUrl $Factory
            $ab.SchematicId | Should -Not -Be $ba.SchematicId
            $ab.Extensions | Should -Be @('siderolabs/btrfs', 'siderolabs/amd-ucode')
        }

        It 'checks the extension names against -Version and passes the version on, normalised' {
            $s = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -Version 1.11.5 -FactoryUrl $Factory
            $s.Version | Should -Be 'v1.11.5'
            $s.Source | Should -Be 'Factory'
            @(Get-FactoryRequest /version/v1.11.5/extensions/official).Count | Should -Be 1
            @(Get-FactoryRequest /schematics POST).Count | Should -Be 1
        }

        It 'posts each distinct schematic once per pipeline and fetches each version''s list once' {
            $cache = New-TalosTestFolder
            try {
                $out = 'v1.11.5', 'v1.10.7', 'v1.11.5' | Resolve-TalosVersion -FactoryUrl $Factory -CacheDirectory $cache |
                    New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -FactoryUrl $Factory
            } finally {
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $out | Should -HaveCount 3
            $out.Version | Should -Be @('v1.11.5', 'v1.10.7', 'v1.11.5')
            $out.SchematicId | Select-Object -Unique | Should -HaveCount 1
            $log = Get-FactoryLog
            $log.schematicPosts | Should -Be 1
            @(Get-FactoryRequest /version/v1.11.5/extensions/official).Count | Should -Be 1
            @(Get-FactoryRequest /version/v1.10.7/extensions/official).Count | Should -Be 1
        }
    }

    Context 'without a POST' {
        It 'computes the ID locally under -WhatIf and posts nothing' {
            $online = New-TalosSchematic -SystemExtension siderolabs/util-linux-tools -KernelArg noapic -FactoryUrl $Factory
            Reset-Factory

            $s = New-TalosSchematic -SystemExtension siderolabs/util-linux-tools -KernelArg noapic -Version v1.11.5 -FactoryUrl $Factory -WhatIf
            $s | Should -BeOfType TalosImage.TalosSchematic
            $s.Source | Should -Be 'Local'
            $s.SchematicId | Should -Be $online.SchematicId
            $s.Version | Should -Be 'v1.11.5'
            $log = Get-FactoryLog
            $log.schematicPosts | Should -Be 0
            $log.requests.Count | Should -Be 0 -Because '-WhatIf neither posts nor checks the extension names'
        }

        It 'posts nothing with -Offline and names the ID it computed' {
            $s = New-TalosSchematic -Meta @{ 10 = 'machine-0001' } -Offline -FactoryUrl $Factory
            $s.Source | Should -Be 'Local'
            $s.Yaml | Should -BeLike '*meta:*key: 10*value: machine-0001*'
            (Get-FactoryLog).requests.Count | Should -Be 0
            # The factory agrees.
            (New-TalosSchematic -Meta @{ 10 = 'machine-0001' } -FactoryUrl $Factory).SchematicId | Should -Be $s.SchematicId
        }

        It 'reads a schematic.yaml and gets the same ID from the factory' {
            $dir = New-TalosTestFolder
            try {
                $path = Join-Path $dir 'schematic.yaml'
                "customization:`n  systemExtensions:`n    officialExtensions:`n      - siderolabs/iscsi-tools`n      - siderolabs/util-linux-tools`n" | Set-Content -LiteralPath $path
                $local = New-TalosSchematic -Path $path -Offline
                $created = New-TalosSchematic -Path $path -FactoryUrl $Factory
            } finally {
                Remove-Item -LiteralPath $dir -Recurse -Force
            }
            $created.SchematicId | Should -Be $local.SchematicId
            $created.Extensions | Should -Be @('siderolabs/iscsi-tools', 'siderolabs/util-linux-tools')
        }
    }

    Context 'errors' {
        It 'fails an unknown extension name against -Version with UnknownExtension and the nearest official names' {
            $err = $null
            $out = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agnet, siderolabs/btrfs -Version v1.11.5 -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err
            $out | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownExtension,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            "$($err[0])" | Should -BeLike "*'siderolabs/qemu-guest-agnet' (nearest: siderolabs/qemu-guest-agent*"
            "$($err[0])" | Should -Not -BeLike "*'siderolabs/btrfs'*"
            $offline = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agnet, siderolabs/btrfs -Offline
            $err[0].TargetObject | Should -Be $offline.SchematicId
            (Get-FactoryLog).schematicPosts | Should -Be 0 -Because 'nothing is created for a schematic the factory could not build'
        }

        It 'stops at bad parameters with InvalidSchematic before sending anything' {
            { New-TalosSchematic -Meta @{ 300 = 'x' } -FactoryUrl $Factory -ErrorAction Stop } | Should -Throw -ErrorId "InvalidSchematic,$Command"
            { New-TalosSchematic -OverlayImage siderolabs/sbc-raspberrypi -FactoryUrl $Factory -ErrorAction Stop } | Should -Throw -ErrorId "InvalidSchematic,$Command"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }

        It 'names the line and the likely key of a bad schematic.yaml (InvalidOrderFile)' {
            $dir = New-TalosTestFolder
            try {
                $path = Join-Path $dir 'schematic.yaml'
                "customization:`n  extraKernelArg: [noapic]`n" | Set-Content -LiteralPath $path
                $thrown = { New-TalosSchematic -Path $path -FactoryUrl $Factory -ErrorAction Stop } | Should -Throw -ErrorId "InvalidOrderFile,$Command" -PassThru
            } finally {
                Remove-Item -LiteralPath $dir -Recurse -Force
            }
            "$thrown" | Should -BeLike '*:2*extraKernelArgs*'
            (Get-FactoryLog).requests.Count | Should -Be 0
        }

        It 'rejects a -Version that is not a Talos version with InvalidVersion' {
            $err = $null
            New-TalosSchematic -SystemExtension siderolabs/btrfs -Version latest -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidVersion,$Command"
            (Get-FactoryLog).schematicPosts | Should -Be 0
        }
    }

    Context 'the pipeline' {
        It 'binds Resolve-TalosVersion -Latest | New-TalosSchematic | Save-TalosImage by property name, end to end' {
            $cache = New-TalosTestFolder
            $saved = @{ Factory = $env:TALOS_FACTORY_URL; Xdg = $env:XDG_CACHE_HOME }
            try {
                # As a user types it: Resolve and New find the factory through TALOS_FACTORY_URL; Resolve caches its
                # version list in the per-user cache (XDG_CACHE_HOME, pointed at the test folder).
                $env:TALOS_FACTORY_URL = $Factory
                $env:XDG_CACHE_HOME = $cache
                $a = Resolve-TalosVersion -Latest | New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent | Save-TalosImage -Format raw.xz -CacheDirectory $cache
                $log = Get-FactoryLog
                $files = @(Get-ChildItem -LiteralPath $cache -Recurse -File | ForEach-Object FullName)
            } finally {
                $env:TALOS_FACTORY_URL = $saved.Factory
                $env:XDG_CACHE_HOME = $saved.Xdg
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $expectedId = (New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -Offline).SchematicId
            $a | Should -BeOfType TalosImage.TalosArtifact
            $a.SchematicId | Should -Be $expectedId
            $a.Version | Should -Be 'v1.11.5'
            $a.Url | Should -Be "$Factory/image/$expectedId/v1.11.5/nocloud-amd64.raw.xz"
            $a.Path | Should -Be (Join-Path $cache "artifacts/$expectedId/v1.11.5/nocloud-amd64.raw.xz")
            $a.Sha256 | Should -Be (Get-FactoryImage nocloud-amd64.raw.xz).sha256
            $a.FromCache | Should -BeFalse
            $log.schematicPosts | Should -Be 1
            $log.imageGets | Should -Be 1
            @($log.requests.path) | Should -Contain '/version/v1.11.5/extensions/official'
            $files | Should -Contain (Join-Path $cache 'talosimage/versions/factory.json') -Because 'Resolve-TalosVersion without -CacheDirectory caches under XDG_CACHE_HOME'
        }

        It 'downloads from the factory that created the schematic (its FactoryUrl binds to Save-TalosImage)' {
            $cache = New-TalosTestFolder
            $saved = $env:TALOS_FACTORY_URL
            try {
                $schematic = New-TalosSchematic -SystemExtension siderolabs/btrfs -Version v1.10.7 -FactoryUrl $Factory
                # Without the schematic's FactoryUrl, Save would ask this host, which does not exist.
                $env:TALOS_FACTORY_URL = 'http://factory.invalid'
                $a = $schematic | Save-TalosImage -Platform metal -Format raw.zst -CacheDirectory $cache
            } finally {
                $env:TALOS_FACTORY_URL = $saved
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $schematic.FactoryUrl | Should -Be $Factory
            $a.Url | Should -Be "$Factory/image/$($schematic.SchematicId)/v1.10.7/metal-amd64.raw.zst"
            $a.Sha256 | Should -Be (Get-FactoryImage metal-amd64.raw.zst).sha256
            (Get-FactoryLog).imageGets | Should -Be 1
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('UnknownExtension', 'InvalidSchematic', 'InvalidOrderFile', 'InvalidVersion') {
            (Get-HelpText New-TalosSchematic) -match "\b$_\b" | Should -BeTrue -Because "Get-Help New-TalosSchematic -Full should name the ErrorId $_"
        }
    }
}
