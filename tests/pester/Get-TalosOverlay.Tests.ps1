# Get-TalosOverlay against the test host's fake Image Factory (GET /version/<v>/overlays/official lists factoryOverlays
# for every version of factoryVersions from v1.7.0, 404 for others): listing, wildcards, unknown names, the pipeline,
# and the overlay name completer (Get-TalosOverlay -Name, New-TalosSchematic -OverlayName), which keeps the list in the
# per-user cache (XDG_CACHE_HOME points it at a temp folder here).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Command = 'TalosImage.Cmdlets.GetTalosOverlayCommand'
    $script:Work = New-TalosTestFolder
    $script:SavedXdg = $env:XDG_CACHE_HOME
    $env:XDG_CACHE_HOME = $Work
    $script:Cache = Join-Path $Work 'talosimage'

    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

AfterAll {
    $env:XDG_CACHE_HOME = $script:SavedXdg
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Work) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Get-TalosOverlay' {
    BeforeEach {
        Reset-Factory
    }

    Context 'listing' {
        It 'lists every official overlay of a version, sorted by name, with its image and the version normalised' {
            $all = @(Get-TalosOverlay -Version 1.11.5 -FactoryUrl $Factory)
            $all | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosOverlay }
            $all.Name | Should -Be (@($TestHost.factoryOverlays.name) | Sort-Object)
            $all.Version | Select-Object -Unique | Should -Be 'v1.11.5'
            $rpi = $all | Where-Object Name -EQ 'rpi_generic'
            $rpi.Image | Should -Be 'siderolabs/sbc-raspberrypi'
            $rpi.Ref | Should -Be 'ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5'
            @(Get-FactoryRequest /version/v1.11.5/overlays/official).Count | Should -Be 1
        }

        It 'filters with wildcards, case-insensitively, and a wildcard that matches nothing is no error' {
            (Get-TalosOverlay v1.11.5 'ROCK*' -FactoryUrl $Factory).Name | Should -Be 'rock5b'
            (Get-TalosOverlay v1.11.5 rpi_generic, turing* -FactoryUrl $Factory).Name | Should -Be @('rpi_generic', 'turingrk1')
            $err = $null
            Get-TalosOverlay v1.11.5 *no-such* -FactoryUrl $Factory -ErrorVariable err | Should -BeNullOrEmpty
            $err | Should -BeNullOrEmpty
        }

        It 'takes the version from Resolve-TalosVersion by property name and feeds New-TalosSchematic' {
            $cache = New-TalosTestFolder
            try {
                $v = Resolve-TalosVersion -LatestInMinor v1.11 -FactoryUrl $Factory -CacheDirectory $cache
                $o = $v | Get-TalosOverlay -Name rpi_generic -FactoryUrl $Factory
                $s = $v | New-TalosSchematic -OverlayName $o.Name -OverlayImage $o.Image -Offline
            } finally {
                Remove-Item -LiteralPath $cache -Recurse -Force
            }
            $o.Version | Should -Be 'v1.11.5'
            $s.SchematicId | Should -Be 'ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9'
        }

        It 'shows Name, Image and Tag in its table' {
            $text = Get-TalosOverlay v1.11.5 rpi_generic -FactoryUrl $Factory | Out-String -Width 80
            $text | Should -Match 'Name\s+Image\s+Tag'
            $text | Should -Match 'rpi_generic\s+siderolabs/sbc-raspberrypi\s+v0\.1\.5'
        }
    }

    Context 'errors' {
        It 'writes UnknownOverlay for a name without wildcards that matches nothing, with the nearest names, and lists the others' {
            $err = $null
            $out = Get-TalosOverlay v1.11.5 rpi_gneric, rock5b -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err
            $out.Name | Should -Be 'rock5b'
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownOverlay,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].TargetObject | Should -Be 'rpi_gneric'
            "$($err[0])" | Should -BeLike "*'rpi_gneric' (nearest: rpi_generic*"
        }

        It 'writes UnknownVersion for a version the factory does not know' {
            $err = $null
            Get-TalosOverlay v9.9.9 -FactoryUrl $Factory -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownVersion,$Command"
            "$($err[0])" | Should -BeLike '*/version/v9.9.9/overlays/official answered 404*'
        }

        It 'rejects a version that is not a Talos version with InvalidVersion, before asking' {
            { Get-TalosOverlay -Version latest -FactoryUrl $Factory -ErrorAction Stop } | Should -Throw -ErrorId "InvalidVersion,$Command"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('UnknownOverlay', 'UnknownVersion', 'InvalidVersion', 'InvalidFactoryUrl') {
            (Get-HelpText Get-TalosOverlay) -match "\b$_\b" | Should -BeTrue
        }
    }
}

Describe 'Completion of overlay names' {
    BeforeEach {
        Reset-Factory
        Remove-Item -Path (Join-Path $Cache 'versions/overlays-*.json') -ErrorAction SilentlyContinue
    }

    It 'Get-TalosOverlay -Name completes the official overlays of -Version from -FactoryUrl, asking once, then from the cache' {
        $line = "Get-TalosOverlay -FactoryUrl '$Factory' -Version v1.11.5 -Name r"
        Get-Completion $line | Should -Be @('rock5b', 'rpi_generic')
        @(Get-FactoryRequest /version/v1.11.5/overlays/official).Count | Should -Be 1
        Test-Path (Join-Path $Cache 'versions/overlays-v1.11.5.json') | Should -BeTrue
        Get-Completion $line | Should -Be @('rock5b', 'rpi_generic')
        @(Get-FactoryRequest /version/v1.11.5/overlays/official).Count | Should -Be 1 -Because 'the second Tab reads the cached list'
    }

    It 'New-TalosSchematic -OverlayName completes for its -Version' {
        Get-Completion "New-TalosSchematic -FactoryUrl '$Factory' -Version v1.11.5 -OverlayName tur" | Should -Be @('turingrk1')
    }

    It 'offers nothing for a version the factory does not know' {
        Get-Completion "Get-TalosOverlay -FactoryUrl '$Factory' -Version v9.9.9 -Name r" | Should -BeNullOrEmpty
    }
}
