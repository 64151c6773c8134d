# Pester 5. No factory or GitHub stand-in is available to Pester, so these tests keep to -Offline and parameter
# validation; resolution against a live source is covered by the xunit tests (tests/unit/Versions) with a loopback fake.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:NoServer = 'http://127.0.0.1:9'
}

Describe 'Resolve-TalosVersion' {
    BeforeEach {
        $script:cache = New-TalosTestFolder
    }
    AfterEach {
        Remove-Item -LiteralPath $script:cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'returns an exact version unchecked, normalised, with a warning, when offline' {
        $v = Resolve-TalosVersion -Version 1.11.5 -Offline -CacheDirectory $cache -FactoryUrl $NoServer -WarningVariable warnings -WarningAction SilentlyContinue
        $v | Should -BeOfType 'TalosImage.TalosVersion'
        $v.Version | Should -Be 'v1.11.5'
        $v.Source | Should -Be 'Unchecked'
        $v.Minor | Should -Be 'v1.11'
        "$warnings" | Should -Match 'not checked'
    }

    It 'takes versions from the pipeline' {
        $v = 'v1.10.7', '1.11.5' | Resolve-TalosVersion -Offline -CacheDirectory $cache -FactoryUrl $NoServer -WarningAction SilentlyContinue
        $v.Version | Should -Be @('v1.10.7', 'v1.11.5')
    }

    It 'resolves -Latest and -LatestInMinor offline from a cached version list of any age' {
        $dir = Join-Path $cache 'versions'
        New-Item -ItemType Directory -Path $dir | Out-Null
        @'
{
  "source": "factory",
  "url": "http://127.0.0.1:9/versions",
  "fetched_at": "2024-01-01T00:00:00.0000000+00:00",
  "etag": null,
  "versions": [
    { "version": "v1.10.7", "prerelease": false, "published_at": null },
    { "version": "v1.11.5", "prerelease": false, "published_at": null },
    { "version": "v1.12.0-beta.2", "prerelease": true, "published_at": null },
    { "version": "v1.12.0-beta.10", "prerelease": true, "published_at": null }
  ]
}
'@ | Set-Content -LiteralPath (Join-Path $dir 'factory.json')

        $latest = Resolve-TalosVersion -Latest -Offline -CacheDirectory $cache -FactoryUrl $NoServer -WarningAction SilentlyContinue
        $latest.Version | Should -Be 'v1.11.5'
        $latest.FromCache | Should -BeTrue
        (Resolve-TalosVersion -LatestInMinor v1.12 -Offline -CacheDirectory $cache -FactoryUrl $NoServer -WarningAction SilentlyContinue).Version | Should -Be 'v1.12.0-beta.10'
        (Resolve-TalosVersion -List -IncludePrerelease -Offline -CacheDirectory $cache -FactoryUrl $NoServer -WarningAction SilentlyContinue).Count | Should -Be 4
    }

    It 'fails clearly for -Latest offline without a cached list' {
        { Resolve-TalosVersion -Latest -Offline -CacheDirectory $cache -FactoryUrl $NoServer -ErrorAction Stop } |
            Should -Throw -ErrorId 'VersionListUnavailable,TalosImage.Cmdlets.ResolveTalosVersionCommand'
    }

    It 'rejects a malformed version' {
        { Resolve-TalosVersion -Version 1.x -Offline -CacheDirectory $cache -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidVersion,TalosImage.Cmdlets.ResolveTalosVersionCommand'
    }

    It 'rejects an unknown -Source' {
        { Resolve-TalosVersion -Latest -Source GitLab -Offline } | Should -Throw -ErrorId 'ParameterArgumentValidationError,TalosImage.Cmdlets.ResolveTalosVersionCommand'
    }

    It 'does not combine -Version with -Latest' {
        { Resolve-TalosVersion -Version v1.11.5 -Latest -Offline } | Should -Throw -ErrorId 'AmbiguousParameterSet,TalosImage.Cmdlets.ResolveTalosVersionCommand'
    }
}
