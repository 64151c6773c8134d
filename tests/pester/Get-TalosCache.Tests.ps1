BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:Schematic = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
    function New-CachedFile([string]$Cache, [string]$Version, [string]$Asset) {
        $dir = Join-Path $Cache "artifacts/$Schematic/$Version"
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Set-Content -Path (Join-Path $dir $Asset) -Value "$Version $Asset" -NoNewline
    }
}

Describe 'Get-TalosCache' {
    BeforeEach {
        $script:Cache = New-TalosTestFolder
        New-CachedFile $Cache v1.11.5 nocloud-amd64.iso
        New-CachedFile $Cache v1.12.0-beta.10 nocloud-amd64.iso
        New-CachedFile $Cache v1.11.5 metal-amd64.raw.zst
    }
    AfterEach { Remove-Item -Recurse -Force $script:Cache }

    It 'lists every artifact with its family, newest version first' {
        $all = @(Get-TalosCache -CacheDirectory $Cache)
        $all.Count | Should -Be 3
        $all[0] | Should -BeOfType TalosImage.TalosCacheEntry
        $iso = @($all | Where-Object Family -eq "$Schematic/nocloud-amd64.iso")
        $iso.Version | Should -Be @('v1.12.0-beta.10', 'v1.11.5')
    }

    It 'filters by family with wildcards' {
        @(Get-TalosCache -CacheDirectory $Cache -Family '*metal*').Count | Should -Be 1
    }

    It 'rejects a malformed wildcard in -Family' {
        { Get-TalosCache -CacheDirectory $Cache -Family '[abc' -ErrorAction Stop } | Should -Throw
    }

    It 'returns nothing for a cache folder that does not exist' {
        Get-TalosCache -CacheDirectory (Join-Path $Cache 'missing') | Should -BeNullOrEmpty
    }
}
