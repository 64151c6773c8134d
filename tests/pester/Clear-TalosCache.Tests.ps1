BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:Schematic = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
    function New-CachedFile([string]$Cache, [string]$Version, [string]$Asset) {
        $dir = Join-Path $Cache "artifacts/$Schematic/$Version"
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        $path = Join-Path $dir $Asset
        Set-Content -Path $path -Value "$Version $Asset" -NoNewline
        $path
    }
}

Describe 'Clear-TalosCache' {
    BeforeEach {
        $script:Cache = New-TalosTestFolder
        $script:Old = New-CachedFile $Cache v1.12.0-beta.2 nocloud-amd64.iso
        $script:New = New-CachedFile $Cache v1.12.0-beta.10 nocloud-amd64.iso
        New-Item -ItemType Directory -Path (Join-Path $Cache 'manifests') | Out-Null
        Set-Content -Path (Join-Path $Cache 'manifests/manifest-o1.yaml') -Value 'order: o1'
    }
    AfterEach { Remove-Item -Recurse -Force $script:Cache }

    It 'keeps the newest versions per family by SemVer' {
        $removed = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 1 -Confirm:$false)
        $removed.Count | Should -Be 1
        $removed[0].Path | Should -Be $Old
        $removed[0].State | Should -Be 'Removed'
        Test-Path $New | Should -BeTrue
    }

    It 'reports and removes nothing with -WhatIf' {
        $would = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 1 -WhatIf)
        $would.State | Should -Be 'WouldRemove'
        Test-Path $Old | Should -BeTrue
    }

    It '-All -Force removes the artifact tree and leaves manifests alone' {
        @(Clear-TalosCache -CacheDirectory $Cache -All -Force -Confirm:$false).Count | Should -Be 2
        Test-Path (Join-Path $Cache 'manifests/manifest-o1.yaml') | Should -BeTrue
        Get-TalosCache -CacheDirectory $Cache | Should -BeNullOrEmpty
    }

    It 'refuses a negative -KeepVersions' {
        { Clear-TalosCache -CacheDirectory $Cache -KeepVersions -1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
}
