# Get-TalosCache over a cache that Save-TalosImage filled from the test host's fake Image Factory: what it lists (with
# the factory's hashes and sizes), its order, -Family wildcards, a malformed wildcard, files that are not the cache's
# own, relative paths, and its output piped back into Save-TalosImage.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Vanilla = $TestHost.factorySchematicId
    $script:Command = 'TalosImage.Cmdlets.GetTalosCacheCommand'

    # Two schematics; the vanilla one with three ISO versions (pre-releases included) and a disk image.
    $script:Qga = (New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -FactoryUrl $Factory).SchematicId
    $script:Cache = New-TalosTestFolder
    $script:Saved = @(
        [pscustomobject]@{ SchematicId = $Vanilla; Version = 'v1.11.5'; Format = 'iso' }
        [pscustomobject]@{ SchematicId = $Vanilla; Version = 'v1.12.0-beta.2'; Format = 'iso' }
        [pscustomobject]@{ SchematicId = $Vanilla; Version = 'v1.12.0-beta.10'; Format = 'iso' }
        [pscustomobject]@{ SchematicId = $Vanilla; Version = 'v1.11.5'; Platform = 'metal'; Format = 'raw.zst' }
        [pscustomobject]@{ SchematicId = $Qga; Version = 'v1.10.7'; Format = 'raw.xz' }
    ) | Save-TalosImage -FactoryUrl $Factory -CacheDirectory $Cache
}

AfterAll {
    if ($script:Cache) { Remove-Item -LiteralPath $script:Cache -Recurse -Force -ErrorAction SilentlyContinue }
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'Get-TalosCache' {
    BeforeEach {
        Reset-Factory
    }

    Context 'listing' {
        It 'lists every downloaded artifact with its path, family, hash and size' {
            $Saved | Should -HaveCount 5
            $all = @(Get-TalosCache -CacheDirectory $Cache)
            $all | Should -HaveCount 5
            $all | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosCacheEntry }
            @($all.Path | Sort-Object) | Should -Be @($Saved.Path | Sort-Object)
            foreach ($e in $all) {
                $image = Get-FactoryImage $e.Asset
                $e.Sha256 | Should -Be $image.sha256
                $e.Size | Should -Be $image.size
                $e.Family | Should -Be "$($e.SchematicId)/$($e.Asset)"
                $e.Path | Should -Be (Join-Path $Cache "artifacts/$($e.SchematicId)/$($e.Version)/$($e.Asset)")
                $e.Kind | Should -Be 'Downloaded'
                $e.State | Should -Be 'Cached'
                $e.DownloadedAt | Should -Not -BeNullOrEmpty
            }
            $metal = $all | Where-Object Asset -EQ 'metal-amd64.raw.zst'
            $metal.Platform | Should -Be 'metal'
            $metal.Architecture | Should -Be 'amd64'
            $metal.Format | Should -Be 'raw.zst'
            $metal.SecureBoot | Should -BeFalse
            (Get-FactoryLog).requests.Count | Should -Be 0 -Because 'Get-TalosCache asks no server'
        }

        It 'orders by family, newest version first in SemVer order (beta.10 before beta.2)' {
            $all = @(Get-TalosCache -CacheDirectory $Cache)
            $families = [string[]] @($all.Family | Select-Object -Unique)
            $sorted = [string[]] $families.Clone()
            [Array]::Sort($sorted, [StringComparer]::Ordinal)
            $families | Should -Be $sorted
            $families | Should -HaveCount 3
            ($all | Where-Object Family -EQ "$Vanilla/nocloud-amd64.iso").Version | Should -Be @('v1.12.0-beta.10', 'v1.12.0-beta.2', 'v1.11.5')
        }

        It 'lists nothing, without an error, for a cache folder that does not exist' {
            $err = $null
            Get-TalosCache -CacheDirectory (Join-Path $Cache 'missing') -ErrorVariable err | Should -BeNullOrEmpty
            $err | Should -BeNullOrEmpty
        }

        It 'resolves a relative -CacheDirectory against the PowerShell location' {
            Push-Location -LiteralPath (Split-Path $Cache)
            try {
                $rel = @(Get-TalosCache -CacheDirectory "./$(Split-Path $Cache -Leaf)")
            } finally {
                Pop-Location
            }
            $rel | Should -HaveCount 5
            @($rel.Path | Sort-Object) | Should -Be @($Saved.Path | Sort-Object)
        }

        It 'feeds Save-TalosImage by property name: every entry is found in the cache again' {
            $again = @(Get-TalosCache -CacheDirectory $Cache | Save-TalosImage -FactoryUrl $Factory -CacheDirectory $Cache)
            $again | Should -HaveCount 5
            $again.FromCache | Should -Not -Contain $false
            @($again.Path | Sort-Object) | Should -Be @($Saved.Path | Sort-Object)
            (Get-FactoryLog).imageGets | Should -Be 0
        }
    }

    Context '-Family' {
        It 'filters with wildcards, case-insensitively' {
            (Get-TalosCache -CacheDirectory $Cache -Family '*/METAL-*').Path | Should -Be ($Saved | Where-Object Asset -EQ 'metal-amd64.raw.zst').Path
            $isos = @(Get-TalosCache -CacheDirectory $Cache -Family "$($Vanilla.Substring(0, 8))*/nocloud-amd64.i?o")
            $isos.Version | Should -Be @('v1.12.0-beta.10', 'v1.12.0-beta.2', 'v1.11.5')
            $isos.SchematicId | Select-Object -Unique | Should -Be $Vanilla
            (Get-TalosCache -CacheDirectory $Cache -Family "$Qga/*").Asset | Should -Be 'nocloud-amd64.raw.xz'
        }

        It 'lists what matches any of several families, and an exact family without wildcards' {
            $some = @(Get-TalosCache -CacheDirectory $Cache -Family '*raw.zst', "$Qga/nocloud-amd64.raw.xz")
            $some | Should -HaveCount 2
            @($some.Asset | Sort-Object) | Should -Be @('metal-amd64.raw.zst', 'nocloud-amd64.raw.xz')
            Get-TalosCache -CacheDirectory $Cache -Family '*/aws-amd64.iso' | Should -BeNullOrEmpty
        }

        It 'stops at a malformed wildcard with InvalidFamilyPattern' {
            $thrown = { Get-TalosCache -CacheDirectory $Cache -Family '*.iso', '[abc' -ErrorAction SilentlyContinue } |
                Should -Throw -ErrorId "InvalidFamilyPattern,$Command" -PassThru
            $thrown.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $thrown.TargetObject | Should -Be '[abc'
            "$thrown" | Should -BeLike "*-Family '``[abc' is not a valid wildcard pattern*"
        }
    }

    Context 'what is not the cache''s own' {
        It 'leaves out side files, partial downloads and foreign files, and describes a file without metadata by its path' {
            $cache = New-TalosTestFolder
            try {
                $a = Save-TalosImage -SchematicId $Vanilla -Version v1.10.6 -Format raw.xz -FactoryUrl $Factory -CacheDirectory $cache
                $dir = Split-Path $a.Path
                Set-Content -LiteralPath (Join-Path $dir 'nocloud-amd64.raw.zst.part') -Value 'partial'
                Set-Content -LiteralPath (Join-Path $dir 'notes.txt') -Value 'mine'
                $b = Save-TalosImage -SchematicId $Vanilla -Version v1.10.7 -Format raw.xz -FactoryUrl $Factory -CacheDirectory $cache
                Remove-Item -LiteralPath "$($b.Path).meta.json"

                $all = @(Get-TalosCache -CacheDirectory $cache)
            } finally {
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $all | Should -HaveCount 2
            $all.Path | Should -Be @($b.Path, $a.Path)
            $bare = $all | Where-Object Version -EQ 'v1.10.7'
            $bare.Asset | Should -Be 'nocloud-amd64.raw.xz'
            $bare.SchematicId | Should -Be $Vanilla
            $bare.Family | Should -Be "$Vanilla/nocloud-amd64.raw.xz"
            $bare.Size | Should -Be (Get-FactoryImage nocloud-amd64.raw.xz).size
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('InvalidFamilyPattern') {
            (Get-HelpText Get-TalosCache) -match "\b$_\b" | Should -BeTrue -Because "Get-Help Get-TalosCache -Full should name the ErrorId $_"
        }
    }
}
