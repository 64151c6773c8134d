# Get-TalosExtension against the test host's fake Image Factory (GET /version/<v>/extensions/official lists
# factoryExtensions for every version of factoryVersions, 404 for others): listing, wildcards, unknown names, per-item
# errors on the pipeline, -Verbose.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Command = 'TalosImage.Cmdlets.GetTalosExtensionCommand'
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'Get-TalosExtension' {
    BeforeEach {
        Reset-Factory
    }

    Context 'listing' {
        It 'lists every official extension of a version, sorted by name, with the version normalised' {
            $all = @(Get-TalosExtension -Version 1.11.5 -FactoryUrl $Factory)
            $all | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosExtension }
            $all.Name | Should -Be (@($TestHost.factoryExtensions) | Sort-Object)
            $all.Version | Select-Object -Unique | Should -Be 'v1.11.5'
            $qga = $all | Where-Object Name -EQ 'siderolabs/qemu-guest-agent'
            $qga.Ref | Should -Be 'ghcr.io/siderolabs/qemu-guest-agent:10.0.2'
            $qga.Digest | Should -Be 'sha256:0123'
            $qga.Author | Should -Be 'Sidero Labs'
            $qga.Description | Should -Be 'QEMU guest agent'
            @(Get-FactoryRequest /version/v1.11.5/extensions/official).Count | Should -Be 1
        }

        It 'filters with wildcards, case-insensitively, on the whole name or the part after the slash' {
            (Get-TalosExtension v1.11.5 *guest* -FactoryUrl $Factory).Name | Should -Be 'siderolabs/qemu-guest-agent'
            (Get-TalosExtension v1.11.5 'SIDEROLABS/BTR?S' -FactoryUrl $Factory).Name | Should -Be 'siderolabs/btrfs'
            (Get-TalosExtension v1.11.5 iscsi-tools, *-ucode -FactoryUrl $Factory).Name | Should -Be @('siderolabs/amd-ucode', 'siderolabs/iscsi-tools')
            $err = $null
            Get-TalosExtension v1.11.5 *no-such* -FactoryUrl $Factory -ErrorVariable err | Should -BeNullOrEmpty
            $err | Should -BeNullOrEmpty -Because 'a wildcard that matches nothing is not an error'
        }

        It 'takes the version from Resolve-TalosVersion by property name' {
            $cache = New-TalosTestFolder
            try {
                $ext = Resolve-TalosVersion -LatestInMinor v1.10 -FactoryUrl $Factory -CacheDirectory $cache | Get-TalosExtension -Name *ucode -FactoryUrl $Factory
            } finally {
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $ext.Name | Should -Be 'siderolabs/amd-ucode'
            $ext.Version | Should -Be 'v1.10.7'
            @(Get-FactoryRequest /version/v1.10.7/extensions/official).Count | Should -Be 1
        }

        It 'says with -Verbose what it asked the factory' {
            # Being fixed elsewhere (11b): Get-TalosExtension -Verbose says nothing about what it asked.
            $records = Get-TalosExtension -Version v1.11.4 -FactoryUrl $Factory -Verbose 4>&1
            @($records | Where-Object { $_ -is [TalosImage.TalosExtension] }).Count | Should -Be $TestHost.factoryExtensions.Count
            $verbose = (Get-VerboseMessage $records) -join "`n"
            $verbose | Should -BeLike "*$Factory*" -Because 'the verbose stream names the factory asked'
            $verbose | Should -BeLike '*v1.11.4*' -Because 'and the version whose list was asked for'
        }
    }

    Context 'errors' {
        It 'writes UnknownExtension for a name without wildcards that matches nothing, with the nearest names, and lists the others' {
            $err = $null
            $out = Get-TalosExtension v1.11.5 qemu-guest-agnet, btrfs -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err
            $out.Name | Should -Be 'siderolabs/btrfs'
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownExtension,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].TargetObject | Should -Be 'qemu-guest-agnet'
            "$($err[0])" | Should -BeLike "*'qemu-guest-agnet' (nearest: siderolabs/qemu-guest-agent*"
        }

        It 'lists the good versions of a pipeline and writes one error for a version the factory does not know' {
            $err = $null
            $out = '1.11.5', '9.9.9', '1.10.7' | ForEach-Object { [pscustomobject]@{ Version = $_ } } |
                Get-TalosExtension -Name qemu-guest-agent -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err
            $out | Should -HaveCount 2
            $out.Version | Should -Be @('v1.11.5', 'v1.10.7')
            $out.Name | Select-Object -Unique | Should -Be 'siderolabs/qemu-guest-agent'
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownVersion,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err[0].TargetObject | Should -Be '9.9.9'
            "$($err[0])" | Should -BeLike '*/version/v9.9.9/extensions/official answered 404*'
            @(Get-FactoryRequest /version/v1.10.7/extensions/official).Count | Should -Be 1 -Because 'the item after the bad one is still asked for'
        }

        It 'turns the first error into a throw with -ErrorAction Stop' {
            $seen = [System.Collections.Generic.List[string]]::new()
            { '1.11.5', '9.9.9', '1.10.7' | ForEach-Object { [pscustomobject]@{ Version = $_ } } |
                    Get-TalosExtension -Name btrfs -FactoryUrl $Factory -ErrorAction Stop | ForEach-Object { $seen.Add($_.Version) } } |
                Should -Throw -ErrorId "UnknownVersion,$Command"
            $seen | Should -Be @('v1.11.5')
            @(Get-FactoryRequest /version/v1.10.7/extensions/official).Count | Should -Be 0
        }

        It 'rejects a version that is not a Talos version with InvalidVersion, before asking' {
            { Get-TalosExtension -Version latest -FactoryUrl $Factory -ErrorAction Stop } | Should -Throw -ErrorId "InvalidVersion,$Command"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }

        It 'rejects a factory URL that is not http(s) with InvalidFactoryUrl' {
            { Get-TalosExtension -Version v1.11.5 -FactoryUrl 'ftp://factory.invalid/' -ErrorAction Stop } |
                Should -Throw -ErrorId "InvalidFactoryUrl,$Command"
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('UnknownExtension', 'UnknownVersion', 'InvalidVersion', 'InvalidFactoryUrl') {
            (Get-HelpText Get-TalosExtension) -match "\b$_\b" | Should -BeTrue -Because "Get-Help Get-TalosExtension -Full should name the ErrorId $_"
        }
    }
}
