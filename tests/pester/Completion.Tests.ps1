# Tab completion through TabExpansion2, as a user's Tab key asks it, for every [ArgumentCompleter] of the module
# (src/TalosImage.Cmdlets/Completers.cs; the values come from TalosImage.Core's CompletionValues):
#   Version (Resolve-TalosVersion, Save-TalosImage, Get-TalosExtension, New-TalosSchematic) and LatestInMinor: the
#     cached version lists of -CacheDirectory, else of the per-user cache;
#   SystemExtension / Name: the official extensions of -Version (or of the newest cached release), asked once from the
#     factory of -FactoryUrl and then kept in the cache;
#   SchematicId: the schematic folders of the cache; Platform, Architecture, Format: the factory catalogue;
#   OrderId: the orderids of the -Orders file, a relative path taken from the PowerShell location (defect 6).
# Get-TalosExtension and New-TalosSchematic have no -CacheDirectory, so their completers read the per-user cache:
# XDG_CACHE_HOME points it at this file's temp folder while the tests run.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Module.Helpers.ps1)

    $script:TestHost = Start-TalosTestHost -Factory
    $script:Url = $TestHost.factoryUrl
    $script:Id = $TestHost.factorySchematicId
    $script:Work = New-TalosTestFolder
    $script:SavedXdg = $env:XDG_CACHE_HOME
    $env:XDG_CACHE_HOME = $Work
    # The per-user cache under that XDG_CACHE_HOME, and the cache the tests fill.
    $script:Cache = Join-Path $Work 'talosimage'
    $script:EmptyCache = New-Item -ItemType Directory (Join-Path $Work 'empty') | ForEach-Object FullName

    # What a user does first: resolve a version (this fills the cache's version list) and save one artifact.
    $script:Latest = Resolve-TalosVersion -Latest -FactoryUrl $Url -CacheDirectory $Cache -ErrorAction Stop
    $script:Saved = Save-TalosImage -SchematicId $Id -Version $Latest.Version -Format iso -CacheDirectory $Cache -FactoryUrl $Url -ErrorAction Stop

    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }

    # The versions of the fake factory and their minors (vX.Y), as the factory's /versions lists them.
    $script:Versions = @($TestHost.factoryVersions)
    $script:Minors = @($Versions | ForEach-Object { ([regex]::Match($_, '^v\d+\.\d+')).Value } | Sort-Object -Unique)
}

AfterAll {
    $env:XDG_CACHE_HOME = $script:SavedXdg
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Work) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Completion of versions from the cached version list' {
    It 'completes -Version v1.1 of <Command> with the cached versions starting v1.1, the newest release first' -ForEach @(
        @{ Command = 'Resolve-TalosVersion'; Line = "Resolve-TalosVersion -CacheDirectory '{0}' -Version v1.1" }
        @{ Command = 'Save-TalosImage'; Line = "Save-TalosImage -CacheDirectory '{0}' -SchematicId {1} -Version v1.1" }
        # No -CacheDirectory parameter: the per-user cache (XDG_CACHE_HOME/talosimage, which is the filled one).
        @{ Command = 'Get-TalosExtension'; Line = 'Get-TalosExtension -Version v1.1' }
        @{ Command = 'New-TalosSchematic'; Line = 'New-TalosSchematic -Offline -Version v1.1' }
    ) {
        $expected = @($Versions | Where-Object { $_ -like 'v1.1*' })
        $expected.Count | Should -BeGreaterThan 1
        $got = Get-Completion ($Line -f $Cache, $Id)
        @($got | Sort-Object) | Should -Be @($expected | Sort-Object)
        $got[0] | Should -Be $Latest.Version
        # Releases before pre-releases.
        $firstPre = [array]::FindIndex([string[]]$got, [Predicate[string]] { param($v) $v -like '*-*' })
        if ($firstPre -ge 0) { @($got | Select-Object -Skip $firstPre | Where-Object { $_ -notlike '*-*' }) | Should -BeNullOrEmpty }
    }

    It 'narrows to the prefix typed, with or without the leading v' {
        $expected = @($Versions | Where-Object { $_ -like 'v1.11.*' } | Sort-Object)
        @(Get-Completion "Resolve-TalosVersion -CacheDirectory '$Cache' -Version v1.11." | Sort-Object) | Should -Be $expected
        @(Get-Completion "Resolve-TalosVersion -CacheDirectory '$Cache' -Version 1.11." | Sort-Object) | Should -Be $expected
    }

    It 'reads the -CacheDirectory on the line: an empty cache offers no version' {
        Get-Completion "Resolve-TalosVersion -CacheDirectory '$EmptyCache' -Version v1.1" | Should -BeNullOrEmpty
    }

    It 'completes -LatestInMinor v1.1 with the cached minors, newest first' {
        $expected = @($Minors | Where-Object { $_ -like 'v1.1*' })
        $expected.Count | Should -BeGreaterThan 1
        $got = Get-Completion "Resolve-TalosVersion -CacheDirectory '$Cache' -LatestInMinor v1.1"
        @($got | Sort-Object) | Should -Be @($expected | Sort-Object)
        $got | Should -Be @($got | Sort-Object { [version]($_.TrimStart('v')) } -Descending)
    }
}

Describe 'Completion of extensions from the factory on the line' {
    BeforeEach {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Remove-Item -Path (Join-Path $Cache 'versions/extensions-*.json') -ErrorAction SilentlyContinue
    }

    It 'Get-TalosExtension -Name completes the official extensions of -Version from -FactoryUrl, asking once' {
        $line = "Get-TalosExtension -FactoryUrl '$Url' -Version $($Latest.Version) -Name qemu"
        $expected = @($TestHost.factoryExtensions | Where-Object { ($_ -split '/')[-1] -like 'qemu*' })
        $expected | Should -Contain 'siderolabs/qemu-guest-agent'
        Get-Completion $line | Should -Be $expected
        $log = Invoke-TalosControl $TestHost GET /factory/log
        @($log.requests | Where-Object path -EQ "/version/$($Latest.Version)/extensions/official").Count | Should -Be 1
        # Kept in the (per-user) cache: the next Tab does not ask the factory again.
        Test-Path (Join-Path $Cache "versions/extensions-$($Latest.Version).json") | Should -BeTrue
        Get-Completion $line | Should -Be $expected
        @((Invoke-TalosControl $TestHost GET /factory/log).requests).Count | Should -Be @($log.requests).Count
    }

    It 'New-TalosSchematic -SystemExtension completes for the newest cached release when no -Version is typed' {
        $expected = @($TestHost.factoryExtensions | Where-Object { $_ -like 'siderolabs/i*' } | Sort-Object)
        $expected.Count | Should -BeGreaterThan 0
        @(Get-Completion "New-TalosSchematic -FactoryUrl '$Url' -SystemExtension siderolabs/i" | Sort-Object) | Should -Be $expected
        $log = Invoke-TalosControl $TestHost GET /factory/log
        # The newest cached release is the one Resolve-TalosVersion -Latest found.
        @($log.requests | Where-Object path -EQ "/version/$($Latest.Version)/extensions/official").Count | Should -Be 1
    }

    It 'offers nothing, and does not hang, for a version the factory does not know' {
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Get-Completion "Get-TalosExtension -FactoryUrl '$Url' -Version v9.9.9 -Name qemu" | Should -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        @((Invoke-TalosControl $TestHost GET /factory/log).requests | Where-Object path -EQ '/version/v9.9.9/extensions/official').Count | Should -Be 1
    }
}

Describe 'Completion of cache, catalogue and order values' {
    It 'completes -SchematicId with the schematic that has an artifact in the cache' {
        $Saved.SchematicId | Should -Be $Id
        Get-Completion "Save-TalosImage -CacheDirectory '$Cache' -SchematicId $($Id.Substring(0, 3))" | Should -Be @($Id)
        Get-Completion "Save-TalosImage -CacheDirectory '$Cache' -SchematicId f00" | Should -BeNullOrEmpty
        Get-Completion "Save-TalosImage -CacheDirectory '$EmptyCache' -SchematicId " | Should -BeNullOrEmpty
    }

    It 'completes -Platform with the platforms the factory builds' {
        $all = Get-Completion 'Save-TalosImage -Platform '
        # The fake factory serves nocloud and metal images.
        foreach ($platform in @($TestHost.factoryImages.asset | ForEach-Object { ($_ -split '-')[0] } | Sort-Object -Unique)) { $all | Should -Contain $platform }
        $me = Get-Completion 'Save-TalosImage -Platform me'
        $me | Should -Contain 'metal'
        $me | ForEach-Object { $_ | Should -BeLike 'me*' }
        $me.Count | Should -BeLessThan $all.Count
    }

    It 'completes -Architecture with exactly the values the parameter accepts' {
        $accepted = @((Get-Command Save-TalosImage).Parameters.Architecture.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | ForEach-Object ValidValues)
        $accepted.Count | Should -BeGreaterThan 1
        @(Get-Completion 'Save-TalosImage -Architecture ' | Sort-Object) | Should -Be @($accepted | Sort-Object)
        Get-Completion 'Save-TalosImage -Architecture arm' | Should -Be @($accepted | Where-Object { $_ -like 'arm*' })
    }

    It 'completes -Format raw. with the compressed disk image formats' {
        $got = Get-Completion 'Save-TalosImage -Format raw.'
        foreach ($format in @($TestHost.factoryImages.asset | Where-Object { $_ -like '*.raw.*' } | ForEach-Object { $_ -replace '^[^.]+\.', '' } | Sort-Object -Unique)) {
            $got | Should -Contain $format
        }
        $got | ForEach-Object { $_ | Should -BeLike 'raw.*' }
        Get-Completion 'Save-TalosImage -Format is' | Should -Be @('iso')
    }

    It 'completes -Format with the boot assets' {
        Get-Completion 'Save-TalosImage -Format ke' | Should -Be @('kernel')
        Get-Completion 'Save-TalosImage -Format u' | Should -Be @('uki')
        Get-Completion 'Save-TalosImage -Format p' | Should -Be @('pxe')
        Get-Completion 'Save-TalosImage -Format in' | Should -Be @('initramfs', 'installer')
    }

    Context 'with -Orders a relative path' {
        BeforeAll {
            $script:OrdersDir = Join-Path $Work 'orders'
            New-Item -ItemType Directory $OrdersDir | Out-Null
            $source = Join-Path $PSScriptRoot '../../examples/orders.yaml'
            Copy-Item $source (Join-Path $OrdersDir 'orders.yaml')
            $script:OrderIds = @(Select-String -Path $source -Pattern '^\s*-?\s*orderid:\s*(\S+)' | ForEach-Object { $_.Matches[0].Groups[1].Value })
            Push-Location $OrdersDir
        }
        AfterAll {
            Pop-Location
        }

        It 'completes -OrderId from <Orders> after Set-Location to its folder (defect 6)' -ForEach @(
            @{ Orders = './orders.yaml' }
            @{ Orders = 'orders.yaml' }
        ) {
            $OrderIds | Should -Be @('EXAMPLE-0001')
            # The process's own folder is elsewhere: only the PowerShell location finds the file.
            [Environment]::CurrentDirectory | Should -Not -Be $OrdersDir
            Get-Completion "Invoke-TalosOrder -Config ./config.yaml -Orders $Orders -OrderId EX" | Should -Be $OrderIds
            Get-Completion "Invoke-TalosOrder -Orders $Orders -OrderId " | Should -Be $OrderIds
            Get-Completion "Invoke-TalosOrder -Orders $Orders -OrderId NOPE" | Should -BeNullOrEmpty
        }

        It 'offers nothing for an -Orders file that is not there' {
            Get-Completion 'Invoke-TalosOrder -Orders ./missing.yaml -OrderId ' | Should -BeNullOrEmpty
        }
    }
}
