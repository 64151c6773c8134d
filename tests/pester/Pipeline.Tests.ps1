# Whole pipelines as users type them, against the test host (factory and real sshd): -WhatIf through every stage,
# -Confirm:$false in this non-interactive host, and what -Verbose and progress say.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Publish.Helpers.ps1)
    $script:TestHost = Start-TalosTestHost -Factory -Sshd
    if ($null -eq $TestHost.ssh) { throw "the test host has no sshd: $($TestHost.sshUnavailable)" }
    $script:Ssh = $TestHost.ssh
    $script:Schematic = $TestHost.factorySchematicId
    $script:Stem = "talos-$($Schematic.Substring(0, 12))-v1.11.5"
    $script:XzImage = Get-TalosFactoryImage $TestHost 'nocloud-amd64.raw.xz'
    $script:Logs = New-TalosTestFolder

    function Get-ImageGets { (Invoke-TalosControl $TestHost GET /factory/log).imageGets }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Logs) { Remove-Item -LiteralPath $script:Logs -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Pipelines of Save, Expand and Publish' {
    BeforeEach {
        $script:Work = New-TalosTestFolder
        $script:Cache = Join-Path $Work 'cache'
        $script:Remote = Join-Path $Ssh.remoteRoot ([guid]::NewGuid().ToString('N').Substring(0, 10))
        $script:Save = @{ SchematicId = $Schematic; Version = 'v1.11.5'; Format = 'raw.xz'; CacheDirectory = $Cache; FactoryUrl = $TestHost.factoryUrl }
        $script:Push = @{ ComputerName = $Ssh.target; SshOption = $Ssh.sshOptions; ImportDirectory = "$Remote/import"; IsoDirectory = "$Remote/iso" }
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
    }
    AfterEach {
        Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue -Confirm:$false
    }

    It 'Save | Expand -WhatIf | Publish -WhatIf reaches Publish when the expansion exists, and changes nothing' {
        $expanded = Save-TalosImage @Save | Expand-TalosImage
        $gets = Get-ImageGets
        $before = Get-TalosTreeListing $Cache

        $run = Invoke-TalosTranscribed -Folder $Logs { Save-TalosImage @Save | Expand-TalosImage -WhatIf | Publish-TalosImage @Push -WhatIf }

        $run.Output | Should -BeNullOrEmpty
        $run.Text | Should -Match ([regex]::Escape("What if: Performing the operation ""Publish nocloud-amd64.raw v1.11.5 over SSH"" on target ""$($Ssh.target):$Remote/import/$Stem-nocloud-amd64.raw"""))
        $run.Text | Should -Not -Match 'Expand nocloud-amd64\.raw\.xz' -Because 'the verified expansion is passed on without asking'
        Get-TalosTreeListing $Cache | Should -Be $before
        Get-ImageGets | Should -Be $gets
        Test-Path -LiteralPath $Remote | Should -BeFalse
        $expanded.Sha256 | Should -Be $XzImage.rawSha256
    }

    It 'Save | Expand -WhatIf | Publish -WhatIf stops at Expand when there is no expansion yet' {
        Save-TalosImage @Save | Out-Null
        $run = Invoke-TalosTranscribed -Folder $Logs { Save-TalosImage @Save | Expand-TalosImage -WhatIf | Publish-TalosImage @Push -WhatIf }

        $run.Output | Should -BeNullOrEmpty
        $run.Text | Should -Match 'What if: Performing the operation "Expand nocloud-amd64\.raw\.xz"'
        $run.Text | Should -Not -Match 'over SSH'
        @(Get-ChildItem -LiteralPath (Join-Path $Cache "artifacts/$Schematic/v1.11.5") -Filter '*.raw*' -Force).Name | Should -Not -Contain 'nocloud-amd64.raw'
    }

    It '-Confirm:$false runs every state-changing cmdlet without a prompt in this non-interactive host' {
        # With ConfirmPreference Low every one of them would ask; this host cannot, so asking would fail.
        $ConfirmPreference = 'Low'
        { Save-TalosImage @Save } | Should -Throw '*NonInteractive*' -Because 'without -Confirm:$false the cmdlet asks, and this host cannot'
        Push-Location $Work
        try {
            $schematic = New-TalosSchematic -SystemExtension siderolabs/qemu-guest-agent -Version v1.11.5 -FactoryUrl $TestHost.factoryUrl -Confirm:$false
            $saved = $schematic | Save-TalosImage -Format raw.xz -CacheDirectory $Cache -Confirm:$false
            $expanded = $saved | Expand-TalosImage -Force -Confirm:$false
            $expandedHash = Get-TalosTestSha256 $expanded.Path
            $pushed = $expanded | Publish-TalosImage @Push -Confirm:$false
            $pushedHash = Get-TalosTestSha256 $pushed.Destination
            $recorded = @($saved, $expanded, $pushed | Export-TalosManifest -Path ./m.yaml -Confirm:$false)
            @"
defaults:
  cache_dir: cache
  factory_url: $($TestHost.factoryUrl)
  cache_policy: {enabled: false}
manifest:
  dir: manifests
"@ | Set-Content ./config.yaml -Confirm:$false
            "- orderid: C-1`n  positions:`n    - {name: iso, product: talos, version: v1.11.5, customization: {}}" | Set-Content ./orders.yaml -Confirm:$false
            $order = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -Confirm:$false
            $removed = @(Clear-TalosCache -CacheDirectory $Cache -KeepVersions 0 -Confirm:$false)
        } finally {
            Pop-Location
        }

        $schematic.SchematicId | Should -Match '^[0-9a-f]{64}$'
        $saved.FromCache | Should -BeFalse
        $saved.SchematicId | Should -Be $schematic.SchematicId
        $expanded.FromCache | Should -BeFalse
        $expanded.Sha256 | Should -Be $expandedHash
        $pushed.Status | Should -Be 'Published'
        $pushedHash | Should -Be $expanded.Sha256
        $recorded.Count | Should -Be 3
        Test-Path -LiteralPath (Join-Path $Work 'm.yaml') | Should -BeTrue
        $order.Status | Should -Be 'Succeeded'
        $order.Changed | Should -BeTrue
        Test-Path -LiteralPath $order.ManifestPath | Should -BeTrue
        $removed.Count | Should -BeGreaterOrEqual 3
        Get-TalosTreeListing (Join-Path $Cache 'artifacts') | Where-Object { $_ -notlike '*.meta.json' -and $_ -notlike '*.sha256' } | Should -BeNullOrEmpty
    }

    It '-Verbose says what Save, Expand and Publish did: the URL, the files and the host' {
        $records = & { Save-TalosImage @Save -Verbose | Expand-TalosImage -Verbose | Publish-TalosImage @Push -Verbose } 4>&1
        $verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $result = @($records | Where-Object { $_ -is [TalosImage.TalosPublishResult] })

        $result.Count | Should -Be 1
        $result[0].Status | Should -Be 'Published'
        $folder = Join-Path $Cache "artifacts/$Schematic/v1.11.5"
        $url = "$($TestHost.factoryUrl)/image/$Schematic/v1.11.5/nocloud-amd64.raw.xz"
        $destination = "$Remote/import/$Stem-nocloud-amd64.raw"
        $text = $verbose -join "`n"
        $text | Should -Match ([regex]::Escape("GET $url -> $folder/nocloud-amd64.raw.xz"))
        $text | Should -Match ([regex]::Escape("sha256 $($XzImage.sha256)"))
        $text | Should -Match ([regex]::Escape("Expanding $folder/nocloud-amd64.raw.xz -> $folder/nocloud-amd64.raw"))
        $text | Should -Match ([regex]::Escape("$($Ssh.target): rsync nocloud-amd64.raw -> $Remote/import/"))
        $text | Should -Match ([regex]::Escape("$($Ssh.target): published $destination"))
    }

    It 'writes progress for the download and the expansion, each ending with a Completed record' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript('param($module, $save) Import-Module $module; Save-TalosImage @save | Expand-TalosImage').
                AddArgument((Get-TalosImageUnderTestPath)).AddArgument($Save)
            $out = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $out.Count | Should -Be 1
            $out[0].Sha256 | Should -Be $XzImage.rawSha256
            $progress = @($ps.Streams.Progress)
        } finally {
            $ps.Dispose()
        }
        $download = @($progress | Where-Object Activity -Match 'nocloud-amd64\.raw\.xz' | Where-Object Activity -Match 'Save-TalosImage')
        $expand = @($progress | Where-Object Activity -Match '^Expanding nocloud-amd64\.raw\.xz')
        $download.Count | Should -BeGreaterThan 1
        $expand.Count | Should -BeGreaterThan 1
        $download[-1].RecordType | Should -Be 'Completed'
        $expand[-1].RecordType | Should -Be 'Completed'
        ($download.StatusDescription -join "`n") | Should -Match '514\.3 KiB'
        ($expand.StatusDescription -join "`n") | Should -Match '4\.0 MiB'
    }
}
