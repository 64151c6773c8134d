# Resolve-TalosVersion against the test host's fake Image Factory (GET /versions lists factoryVersions), as a user
# runs it: the version kinds, SemVer order, the on-disk version cache, -Offline, and per-item errors on the pipeline.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Command = 'TalosImage.Cmdlets.ResolveTalosVersionCommand'
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'Resolve-TalosVersion' {
    BeforeEach {
        $script:Cache = New-TalosTestFolder
        Reset-Factory
    }
    AfterEach {
        Remove-Item -LiteralPath $script:Cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    Context 'the version kinds' {
        It 'resolves -Latest (the default set) to the newest release the factory lists' {
            $newest = (Get-FactoryVersionOrder)[0]
            $newest | Should -Be 'v1.11.5'
            $v = Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory $Cache
            $v | Should -BeOfType TalosImage.TalosVersion
            $v.Version | Should -Be $newest
            $v.Source | Should -Be 'Factory'
            $v.Request | Should -Be 'latest'
            $v.IsPrerelease | Should -BeFalse
            $v.Minor | Should -Be 'v1.11'
            $v.FromCache | Should -BeFalse
            @(Get-FactoryRequest /versions).Count | Should -Be 1

            (Resolve-TalosVersion -FactoryUrl $Factory -CacheDirectory $Cache).Version | Should -Be $newest -Because 'Latest is the default set'
        }

        It 'resolves -LatestInMinor v1.10 to the newest v1.10 release' {
            $expected = (Get-FactoryVersionOrder | Where-Object { $_ -like 'v1.10.*' })[0]
            $expected | Should -Be 'v1.10.7'
            $v = Resolve-TalosVersion -LatestInMinor v1.10 -FactoryUrl $Factory -CacheDirectory $Cache
            $v.Version | Should -Be $expected
            $v.Request | Should -Be 'latest-in-minor v1.10'
            $v.Minor | Should -Be 'v1.10'
            (Resolve-TalosVersion -LatestInMinor 1.10.2 -FactoryUrl $Factory -CacheDirectory $Cache).Version | Should -Be $expected -Because 'a full version is taken as its minor'
        }

        It 'falls back to the newest pre-release of a minor without a release, with a warning unless -IncludePrerelease' {
            $v = Resolve-TalosVersion -LatestInMinor v1.12 -FactoryUrl $Factory -CacheDirectory $Cache -WarningVariable warned -WarningAction SilentlyContinue
            $v.Version | Should -Be 'v1.12.0-beta.10'
            $v.IsPrerelease | Should -BeTrue
            "$warned" | Should -BeLike '*v1.12 has no release yet*v1.12.0-beta.10*'

            $quiet = Resolve-TalosVersion -LatestInMinor v1.12 -IncludePrerelease -FactoryUrl $Factory -CacheDirectory $Cache -WarningVariable silent
            $quiet.Version | Should -Be 'v1.12.0-beta.10'
            $silent | Should -BeNullOrEmpty
        }

        It 'checks an exact version against the factory and normalises it' {
            $v = Resolve-TalosVersion -Version 1.10.6 -FactoryUrl $Factory -CacheDirectory $Cache
            $v.Version | Should -Be 'v1.10.6'
            $v.Source | Should -Be 'Factory'
            $v.Request | Should -Be 'exact v1.10.6'
            $v.Minor | Should -Be 'v1.10'
            (Resolve-TalosVersion v1.12.0-beta.2 -FactoryUrl $Factory -CacheDirectory $Cache).IsPrerelease | Should -BeTrue
        }

        It 'lists every release newest first with -List, and pre-releases in SemVer order with -IncludePrerelease' {
            $releases = Resolve-TalosVersion -List -FactoryUrl $Factory -CacheDirectory $Cache
            $releases.Version | Should -Be (Get-FactoryVersionOrder)
            $releases.IsPrerelease | Should -Not -Contain $true
            $releases.Request | Select-Object -Unique | Should -Be 'list'

            $all = @(Resolve-TalosVersion -List -IncludePrerelease -FactoryUrl $Factory -CacheDirectory $Cache)
            $all.Version | Should -Be (Get-FactoryVersionOrder -IncludePrerelease)
            $all.Count | Should -Be $TestHost.factoryVersions.Count
            # SemVer, not text order: beta.10 is newer than beta.2 (as text it sorts before it).
            $all.Version.IndexOf('v1.12.0-beta.10') | Should -BeLessThan $all.Version.IndexOf('v1.12.0-beta.2')
            $all.Version.IndexOf('v1.12.0-beta.2') | Should -BeLessThan $all.Version.IndexOf('v1.12.0-alpha.1')
            $all.Version.IndexOf('v1.12.0-alpha.1') | Should -BeLessThan $all.Version.IndexOf('v1.11.5')
        }

        It 'takes the newest pre-release for -Latest -IncludePrerelease' {
            (Resolve-TalosVersion -Latest -IncludePrerelease -FactoryUrl $Factory -CacheDirectory $Cache).Version | Should -Be 'v1.12.0-beta.10'
        }
    }

    Context 'the version cache in -CacheDirectory' {
        It 'writes versions/factory.json under -CacheDirectory and answers from it within -CacheTtl without a request' {
            Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory $Cache | Out-Null
            $file = Join-Path $Cache 'versions/factory.json'
            $file | Should -Exist
            $json = Get-Content -Raw -LiteralPath $file | ConvertFrom-Json
            $json.url | Should -Be "$Factory/versions"
            @($json.versions.version) | Sort-Object | Should -Be (@($TestHost.factoryVersions) | Sort-Object)
            ($json.versions | Where-Object version -EQ 'v1.12.0-beta.2').prerelease | Should -BeTrue

            Reset-Factory
            $minor = Resolve-TalosVersion -LatestInMinor v1.10 -FactoryUrl $Factory -CacheDirectory $Cache -Verbose 4>&1
            ($minor | Where-Object { $_ -is [TalosImage.TalosVersion] }).Version | Should -Be 'v1.10.7'
            (Get-VerboseMessage $minor) -join "`n" | Should -BeLike "*cached at*"
            (Get-FactoryLog).requests.Count | Should -Be 0 -Because 'a list younger than the TTL is used as it is'

            Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory $Cache -CacheTtl 0 | Out-Null
            @(Get-FactoryRequest /versions).Count | Should -Be 1 -Because '-CacheTtl 0 asks every time'
        }

        It 'asks once more for an exact version newer than the cached list' {
            Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory $Cache | Out-Null
            $file = Join-Path $Cache 'versions/factory.json'
            $json = Get-Content -Raw -LiteralPath $file | ConvertFrom-Json
            $json.versions = @($json.versions | Where-Object version -NE 'v1.11.5')
            $json | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $file
            Reset-Factory

            $v = Resolve-TalosVersion -Version v1.11.5 -FactoryUrl $Factory -CacheDirectory $Cache
            $v.Version | Should -Be 'v1.11.5'
            $v.Source | Should -Be 'Factory'
            @(Get-FactoryRequest /versions).Count | Should -Be 1
        }

        It 'resolves a relative -CacheDirectory against the PowerShell location' {
            $work = New-TalosTestFolder
            Push-Location -LiteralPath $work
            try {
                Resolve-TalosVersion -Latest -FactoryUrl $Factory -CacheDirectory ./vcache | Out-Null
            } finally {
                Pop-Location
            }
            try {
                Join-Path $work 'vcache/versions/factory.json' | Should -Exist
                Join-Path ([Environment]::CurrentDirectory) 'vcache' | Should -Not -Exist
            } finally {
                Remove-Item -LiteralPath $work -Recurse -Force
            }
        }
    }

    Context '-Offline' {
        It 'uses the cached list of any age, with a warning, and FromCache' {
            Resolve-TalosVersion -List -FactoryUrl $Factory -CacheDirectory $Cache | Out-Null
            $file = Join-Path $Cache 'versions/factory.json'
            $json = Get-Content -Raw -LiteralPath $file | ConvertFrom-Json
            $json.fetched_at = '2024-01-01T00:00:00.0000000+00:00'
            $json | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $file
            Reset-Factory

            $latest = Resolve-TalosVersion -Latest -Offline -FactoryUrl $Factory -CacheDirectory $Cache -WarningVariable warned -WarningAction SilentlyContinue
            $latest.Version | Should -Be 'v1.11.5'
            $latest.FromCache | Should -BeTrue
            "$warned" | Should -BeLike '*offline*cached at 2024-01-01*'
            (Resolve-TalosVersion -LatestInMinor v1.10 -Offline -FactoryUrl $Factory -CacheDirectory $Cache -WarningAction SilentlyContinue).Version | Should -Be 'v1.10.7'
            (Resolve-TalosVersion -List -IncludePrerelease -Offline -FactoryUrl $Factory -CacheDirectory $Cache -WarningAction SilentlyContinue).Version |
                Should -Be (Get-FactoryVersionOrder -IncludePrerelease)
            (Get-FactoryLog).requests.Count | Should -Be 0 -Because '-Offline asks no server'
        }

        It 'returns an exact version unchecked with a warning' {
            $v = Resolve-TalosVersion -Version 1.11.5 -Offline -FactoryUrl $Factory -CacheDirectory $Cache -WarningVariable warned -WarningAction SilentlyContinue
            $v.Version | Should -Be 'v1.11.5'
            $v.Source | Should -Be 'Unchecked'
            "$warned" | Should -BeLike '*v1.11.5 is not checked*'
            (Get-FactoryLog).requests.Count | Should -Be 0
        }

        It 'fails -Latest with VersionListUnavailable naming the missing cache file' {
            $err = $null
            Resolve-TalosVersion -Latest -Offline -FactoryUrl $Factory -CacheDirectory $Cache -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "VersionListUnavailable,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
            $err[0].TargetObject | Should -Be (Join-Path $Cache 'versions/factory.json')
            "$($err[0])" | Should -BeLike "*$(Join-Path $Cache 'versions/factory.json')*"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }
    }

    Context '-Source GitHub (Octokit, against the test host''s loopback releases API)' {
        It 'lists the releases of every page newest first, with their publication times, and caches them with the ETag' {
            $all = @(Resolve-TalosVersion -List -IncludePrerelease -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache)
            $all.Version | Should -Be (Get-FactoryVersionOrder -IncludePrerelease)
            $all.Source | Select-Object -Unique | Should -Be 'GitHub'
            $all.PublishedAt | Should -Not -Contain $null
            # The fake serves 2 releases a page: every page was asked for, the first without a page number.
            $pages = @(Get-FactoryRequest /repos/siderolabs/talos/releases)
            $pages.Count | Should -Be ([math]::Ceiling($TestHost.factoryVersions.Count / 2))
            $pages[0].query | Should -Be '?per_page=100'
            $pages.conditional | Should -Not -Contain $true
            $json = Get-Content -Raw -LiteralPath (Join-Path $Cache 'versions/github.json') | ConvertFrom-Json
            $json.url | Should -Be "$Factory/repos/siderolabs/talos/releases"
            $json.etag | Should -Match '^"[0-9a-f]{16}"$'

            (Resolve-TalosVersion -Latest -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache).Version | Should -Be 'v1.11.5'
            @(Get-FactoryRequest /repos/siderolabs/talos/releases).Count | Should -Be $pages.Count -Because 'within -CacheTtl the cached list answers'
        }

        It 'asks with If-None-Match after -CacheTtl and reuses the list on 304: one request' {
            Resolve-TalosVersion -Latest -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache | Out-Null
            Reset-Factory
            $v = Resolve-TalosVersion -LatestInMinor v1.10 -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache -CacheTtl 0 -Verbose 4>&1
            ($v | Where-Object { $_ -is [TalosImage.TalosVersion] }).Version | Should -Be 'v1.10.7'
            (Get-VerboseMessage $v) -join "`n" | Should -BeLike '*not modified since*'
            $asked = @(Get-FactoryRequest /repos/siderolabs/talos/releases)
            $asked.Count | Should -Be 1
            $asked[0].conditional | Should -BeTrue
        }

        It 'sends a -GitHubToken SecureString to the API and shows it in no stream' {
            $secret = 'ghp_PesterSecureStringToken0123456789abcd'
            $token = ConvertTo-SecureString $secret -AsPlainText -Force
            $out = Resolve-TalosVersion -Latest -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache -GitHubToken $token -Verbose *>&1
            ($out | Where-Object { $_ -is [TalosImage.TalosVersion] }).Version | Should -Be 'v1.11.5'
            @(Get-FactoryRequest /repos/siderolabs/talos/releases).authorized | Select-Object -Unique | Should -Be $true
            ($out | Out-String) | Should -Not -BeLike "*$secret*"
            Get-Content -Raw -LiteralPath (Join-Path $Cache 'versions/github.json') | Should -Not -BeLike "*$secret*"
        }

        It 'sends no Authorization without a token' {
            $saved = $env:GITHUB_TOKEN, $env:GH_TOKEN
            $env:GITHUB_TOKEN = $null; $env:GH_TOKEN = $null
            try {
                Resolve-TalosVersion -Latest -Source GitHub -GitHubApiUrl $Factory -CacheDirectory $Cache | Out-Null
            } finally {
                $env:GITHUB_TOKEN, $env:GH_TOKEN = $saved
            }
            @(Get-FactoryRequest /repos/siderolabs/talos/releases).authorized | Should -Not -Contain $true
        }

        It 'rejects a GitHub API URL that is not http(s) with InvalidGitHubApiUrl' {
            $err = $null
            Resolve-TalosVersion -Latest -Source GitHub -GitHubApiUrl 'ftp://github.invalid/' -CacheDirectory $Cache -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidGitHubApiUrl,$Command"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }
    }

    Context 'errors' {
        It 'returns the good versions of a pipeline and one UnknownVersion error for the bad one' {
            $err = $null
            $out = '1.11.5', '9.9.9', '1.10.7' | Resolve-TalosVersion -FactoryUrl $Factory -CacheDirectory $Cache -ErrorAction SilentlyContinue -ErrorVariable err
            $out | Should -HaveCount 2
            $out | ForEach-Object { $_ | Should -BeOfType TalosImage.TalosVersion }
            $out.Version | Should -Be @('v1.11.5', 'v1.10.7')
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownVersion,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $err[0].TargetObject | Should -Be '9.9.9'
            "$($err[0])" | Should -BeLike '*v9.9.9*nearest*'
            @(Get-FactoryRequest /versions).Count | Should -Be 1 -Because 'the list is fetched once per pipeline'
        }

        It 'turns the first error into a throw with -ErrorAction Stop, after the good item before it' {
            $seen = [System.Collections.Generic.List[string]]::new()
            { '1.11.5', '9.9.9', '1.10.7' | Resolve-TalosVersion -FactoryUrl $Factory -CacheDirectory $Cache -ErrorAction Stop | ForEach-Object { $seen.Add($_.Version) } } |
                Should -Throw -ErrorId "UnknownVersion,$Command"
            $seen | Should -Be @('v1.11.5')
        }

        It 'names the nearest minors for a minor the factory does not list' {
            $err = $null
            Resolve-TalosVersion -LatestInMinor v1.99 -FactoryUrl $Factory -CacheDirectory $Cache -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "UnknownVersion,$Command"
            $err[0].TargetObject | Should -Be 'v1.99'
            "$($err[0])" | Should -BeLike '*nearest minors: v1.10, v1.11, v1.12*'
        }

        It 'rejects text that is not a version with InvalidVersion, asking nothing' {
            { Resolve-TalosVersion -Version 1.x -FactoryUrl $Factory -CacheDirectory $Cache -ErrorAction Stop } |
                Should -Throw -ErrorId "InvalidVersion,$Command"
            (Get-FactoryLog).requests.Count | Should -Be 0
        }

        It 'rejects a factory URL that is not http(s) with InvalidFactoryUrl' {
            $err = $null
            Resolve-TalosVersion -Latest -FactoryUrl 'ftp://factory.invalid/' -CacheDirectory $Cache -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be "InvalidFactoryUrl,$Command"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        }

        It 'does not combine -Version with -Latest' {
            { Resolve-TalosVersion -Version v1.11.5 -Latest -Offline } | Should -Throw -ErrorId "AmbiguousParameterSet,$Command"
        }
    }

    Context 'help' {
        It 'names <_> in Get-Help -Full' -ForEach @('UnknownVersion', 'InvalidVersion', 'VersionListUnavailable', 'InvalidFactoryUrl') {
            (Get-HelpText Resolve-TalosVersion) -match "\b$_\b" | Should -BeTrue -Because "Get-Help Resolve-TalosVersion -Full should name the ErrorId $_"
        }
    }
}
