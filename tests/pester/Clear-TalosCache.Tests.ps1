# Clear-TalosCache over caches that Save-TalosImage filled from the test host's fake Image Factory: retention per
# family by SemVer (-KeepVersions), -WhatIf, -All -Force, -All without -Force where nobody can be asked, and what it
# never touches.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Schematic = $TestHost.factorySchematicId
    $script:Command = 'TalosImage.Cmdlets.ClearTalosCacheCommand'

    # One family in four versions (nocloud-amd64.raw.zst), another with one old version (nocloud-amd64.iso v1.10.6),
    # a manifest and the version cache next to them.
    function New-FilledCache {
        $cache = New-TalosTestFolder
        $zst = 'v1.10.6', 'v1.10.7', 'v1.11.4', 'v1.11.5' | ForEach-Object { [pscustomobject]@{ SchematicId = $Schematic; Version = $_; Format = 'raw.zst' } } |
            Save-TalosImage -FactoryUrl $Factory -CacheDirectory $cache
        $iso = Save-TalosImage -SchematicId $Schematic -Version v1.10.6 -Format iso -FactoryUrl $Factory -CacheDirectory $cache
        New-Item -ItemType Directory -Path (Join-Path $cache 'manifests') | Out-Null
        Set-Content -LiteralPath (Join-Path $cache 'manifests/manifest-lab.yaml') -Value 'order: lab'
        Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory $cache | Out-Null
        [pscustomobject]@{ Cache = $cache; Zst = @($zst); Iso = $iso }
    }

    # Every file under the cache folder, relative, sorted: what a test compares before and after.
    function Get-CacheFiles([string] $Cache) {
        @(Get-ChildItem -LiteralPath $Cache -Recurse -File -Force | ForEach-Object { [IO.Path]::GetRelativePath($Cache, $_.FullName) } | Sort-Object)
    }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'Clear-TalosCache' {
    BeforeEach {
        $script:Filled = New-FilledCache
        $script:Cache = $Filled.Cache
    }
    AfterEach {
        Remove-Item -LiteralPath $script:Cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    Context '-KeepVersions' {
        It 'reports the two older versions as WouldRemove under -WhatIf and removes nothing' {
            $before = Get-CacheFiles $Cache
            $would = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 2 -WhatIf)
            $would | Should -HaveCount 2
            $would | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosCacheEntry }
            $would.State | Select-Object -Unique | Should -Be 'WouldRemove'
            @($would.Version | Sort-Object) | Should -Be @('v1.10.6', 'v1.10.7')
            $would.Asset | Select-Object -Unique | Should -Be 'nocloud-amd64.raw.zst'
            @($would.Path | Sort-Object) | Should -Be @(($Filled.Zst | Where-Object Version -In 'v1.10.6', 'v1.10.7').Path | Sort-Object)
            $would.Size | Select-Object -Unique | Should -Be (Get-FactoryImage nocloud-amd64.raw.zst).size
            $would.Sha256 | Select-Object -Unique | Should -Be (Get-FactoryImage nocloud-amd64.raw.zst).sha256
            Get-CacheFiles $Cache | Should -Be $before
        }

        It 'keeps the newest two versions of each family and removes the older ones with their side files' {
            $removed = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 2)
            $removed | Should -HaveCount 2
            $removed.State | Select-Object -Unique | Should -Be 'Removed'
            $removed.Kind | Select-Object -Unique | Should -Be 'Downloaded'
            @($removed.Version | Sort-Object) | Should -Be @('v1.10.6', 'v1.10.7')
            foreach ($old in $Filled.Zst | Where-Object Version -In 'v1.10.6', 'v1.10.7') {
                $old.Path | Should -Not -Exist
                "$($old.Path).sha256" | Should -Not -Exist
                "$($old.Path).meta.json" | Should -Not -Exist
            }
            Join-Path $Cache "artifacts/$Schematic/v1.10.7" | Should -Not -Exist -Because 'a folder that became empty is removed'
            $Filled.Iso.Path | Should -Exist -Because 'the ISO family has only one version'

            $left = @(Get-TalosCache -CacheDirectory $Cache)
            $left | Should -HaveCount 3
            ($left | Where-Object Asset -EQ 'nocloud-amd64.raw.zst').Version | Should -Be @('v1.11.5', 'v1.11.4')
            Join-Path $Cache 'manifests/manifest-lab.yaml' | Should -Exist
            Join-Path $Cache 'versions/factory.json' | Should -Exist
        }

        It 'orders pre-releases by SemVer: v1.12.0-beta.10 is kept over beta.2' {
            $cache = New-TalosTestFolder
            try {
                'v1.12.0-beta.10', 'v1.12.0-beta.2', 'v1.11.5' | ForEach-Object { [pscustomobject]@{ SchematicId = $Schematic; Version = $_ } } |
                    Save-TalosImage -FactoryUrl $Factory -CacheDirectory $cache | Out-Null
                $removed = @(Clear-TalosCache -CacheDirectory $cache -KeepVersions 1)
                $left = @(Get-TalosCache -CacheDirectory $cache)
            } finally {
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            @($removed.Version | Sort-Object) | Should -Be @('v1.11.5', 'v1.12.0-beta.2')
            $left.Version | Should -Be 'v1.12.0-beta.10'
        }

        It 'removes every version with -KeepVersions 0, without asking' {
            $removed = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 0)
            $removed | Should -HaveCount 5
            Get-TalosCache -CacheDirectory $Cache | Should -BeNullOrEmpty
        }

        It 'keeps a foreign file and warns about it' {
            $foreign = Join-Path $Cache "artifacts/$Schematic/v1.10.6/my-notes.txt"
            Set-Content -LiteralPath $foreign -Value 'not the cache''s own'
            $removed = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 0 -WarningVariable warned -WarningAction SilentlyContinue)
            $removed | Should -HaveCount 5
            $removed.Path | Should -Not -Contain $foreign
            $foreign | Should -Exist
            "$warned" | Should -BeLike "*$foreign*"
        }

        It 'resolves a relative -CacheDirectory against the PowerShell location' {
            Push-Location -LiteralPath (Split-Path $Cache)
            try {
                $removed = @(Clear-TalosCache -CacheDirectory "./$(Split-Path $Cache -Leaf)" -KeepVersions 3)
            } finally {
                Pop-Location
            }
            $removed.Path | Should -Be ($Filled.Zst | Where-Object Version -EQ 'v1.10.6').Path
            $removed.Path | Should -Not -Exist
        }

        It 'refuses a negative -KeepVersions' {
            { Clear-TalosCache -CacheDirectory $Cache -KeepVersions -1 } | Should -Throw -ErrorId "ParameterArgumentValidationError,$Command"
        }
    }

    Context '-All' {
        It 'removes every artifact with -Force and leaves manifests and the version cache' {
            $removed = @(Clear-TalosCache -CacheDirectory $Cache -All -Force)
            $removed | Should -HaveCount 5
            $removed.State | Select-Object -Unique | Should -Be 'Removed'
            @($removed.Path | Sort-Object) | Should -Be @(@($Filled.Zst.Path) + $Filled.Iso.Path | Sort-Object)
            Get-TalosCache -CacheDirectory $Cache | Should -BeNullOrEmpty
            @(Get-ChildItem -LiteralPath (Join-Path $Cache artifacts) -Recurse -File -ErrorAction SilentlyContinue) | Should -HaveCount 0
            Join-Path $Cache 'manifests/manifest-lab.yaml' | Should -Exist
            Join-Path $Cache 'versions/factory.json' | Should -Exist
        }

        It 'reports every artifact as WouldRemove with -WhatIf, even without -Force, and removes nothing' {
            $before = Get-CacheFiles $Cache
            $would = @(Clear-TalosCache -CacheDirectory $Cache -All -WhatIf)
            $would | Should -HaveCount 5
            $would.State | Select-Object -Unique | Should -Be 'WouldRemove'
            Get-CacheFiles $Cache | Should -Be $before
        }

        It 'fails with ConfirmationUnavailable without -Force where it cannot ask, and removes nothing' {
            # This session is non-interactive (build.ps1 runs Pester with pwsh -NonInteractive; a [powershell]
            # runspace has no UI at all), so the question cannot be asked.
            $before = Get-CacheFiles $Cache
            $ps = [powershell]::Create()
            try {
                $ps.AddCommand('Import-Module').AddParameter('Name', (Get-TalosImageUnderTestPath)).AddStatement() | Out-Null
                $ps.AddCommand('Clear-TalosCache').AddParameter('CacheDirectory', $Cache).AddParameter('All') | Out-Null
                $out = $ps.Invoke()
                # A terminating error of a statement ends that statement; PowerShell.Invoke records it in Streams.Error.
                $errors = @($ps.Streams.Error)
            } finally {
                $ps.Dispose()
            }
            $out | Should -BeNullOrEmpty
            $errors | Should -HaveCount 1
            $thrown = $errors[0]
            $thrown.FullyQualifiedErrorId | Should -Be "ConfirmationUnavailable,$Command"
            $thrown.CategoryInfo.Category | Should -Be 'InvalidOperation'
            $thrown.TargetObject | Should -Be (Join-Path $Cache 'artifacts')
            "$thrown" | Should -BeLike '*cannot ask*Add -Force*'
            Get-CacheFiles $Cache | Should -Be $before
        }

        It 'fails with ConfirmationUnavailable in this non-interactive session, also with -ErrorAction SilentlyContinue' {
            $before = Get-CacheFiles $Cache
            { Clear-TalosCache -CacheDirectory $Cache -All -ErrorAction SilentlyContinue } | Should -Throw -ErrorId "ConfirmationUnavailable,$Command"
            Get-CacheFiles $Cache | Should -Be $before
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('ConfirmationUnavailable') {
            (Get-HelpText Clear-TalosCache) -match "\b$_\b" | Should -BeTrue -Because "Get-Help Clear-TalosCache -Full should name the ErrorId $_"
        }
    }
}
