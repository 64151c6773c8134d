# Export-TalosManifest: a manifest in the order manifest's format from objects of a hand-built pipeline.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    function New-Artifact([string]$Path, [string]$Kind = 'Downloaded', [string]$Source) {
        [TalosImage.TalosArtifact]@{
            Path = $Path; Kind = $Kind; SourcePath = $Source; Sha256 = ('a' * 64); Size = 42
            SchematicId = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'; Version = 'v1.11.5'
            Platform = 'nocloud'; Architecture = 'amd64'; Format = 'raw.xz'; Asset = 'nocloud-amd64.raw.xz'
        }
    }
}

Describe 'Export-TalosManifest' {
    BeforeEach { $script:Work = New-TalosTestFolder }
    AfterEach { Remove-Item -Recurse -Force $Work }

    It 'passes every object on and writes one entry per downloaded artifact with its expansion and pushes' {
        $download = New-Artifact (Join-Path $Work 'nocloud-amd64.raw.xz')
        $expanded = New-Artifact (Join-Path $Work 'nocloud-amd64.raw') -Kind Expanded -Source $download.Path
        $push = [TalosImage.TalosPublishResult]@{ Host = 'pve-01'; Status = 'Published'; Transport = 'Ssh'; Path = $expanded.Path; Destination = '/var/lib/vz/import/x.raw'; Verified = $true }
        $manifest = Join-Path $Work 'manifest-lab.yaml'

        $out = @($download, $expanded, $push | Export-TalosManifest -Path $manifest -OrderId LAB-1)

        $out.Count | Should -Be 3
        $text = Get-Content $manifest -Raw
        $text | Should -Match 'orderid: LAB-1'
        $text | Should -Match 'status: Succeeded'
        $text | Should -Match 'host: pve-01'
        ([regex]::Matches($text, '(?m)^- name:')).Count | Should -Be 1
    }

    It 'writes nothing with -WhatIf' {
        $manifest = Join-Path $Work 'm.yaml'
        New-Artifact (Join-Path $Work 'a.raw.xz') | Export-TalosManifest -Path $manifest -WhatIf | Out-Null
        Test-Path $manifest | Should -BeFalse
    }

    It 'passes on objects it cannot record, with a warning' {
        $out = 'just a string' | Export-TalosManifest -Path (Join-Path $Work 'm.yaml') -WarningVariable warned -WarningAction SilentlyContinue
        $out | Should -Be 'just a string'
        $warned | Should -Not -BeNullOrEmpty
    }
}
