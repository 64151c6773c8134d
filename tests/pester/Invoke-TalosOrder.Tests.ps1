# Invoke-TalosOrder as a user runs it: a config.yaml and an orders.yaml in the current folder (relative cache_dir and
# manifest dir, so the files must appear under $PWD), whole runs against the test host's factory and real sshd, a
# second run that changes nothing, -WhatIf, failing positions, -OrderId, -LogPath, and talos_order.py's own files.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Publish.Helpers.ps1)
    $script:TestHost = Start-TalosTestHost -Factory -Sshd
    if ($null -eq $TestHost.ssh) { throw "the test host has no sshd: $($TestHost.sshUnavailable)" }
    $script:Ssh = $TestHost.ssh
    $script:Schematic = $TestHost.factorySchematicId
    $script:Stem = "talos-$($Schematic.Substring(0, 12))-v1.11.5"
    $script:Compat = '/work/shared/compat'
    if (-not (Test-Path (Join-Path $Compat 'talos_order-orders.yaml'))) { $script:Compat = Join-Path $PSScriptRoot '../../../shared/compat' }
    $script:Logs = New-TalosTestFolder
    $script:IsoImage = Get-TalosFactoryImage $TestHost 'nocloud-amd64.iso'
    $script:XzImage = Get-TalosFactoryImage $TestHost 'nocloud-amd64.raw.xz'

    # config.yaml as a user writes it: relative cache and manifest folders, pushes to the sshd under $Remote.
    function Write-TestConfig([string] $Remote) {
        @"
defaults:
  cache_dir: cache
  factory_url: $($TestHost.factoryUrl)
  proxmox_default_iso_dir: $Remote/iso
  proxmox_default_import_dir: $Remote/import
  concurrency: 2
  push:
    ssh_opts: "$($Ssh.sshOptions)"
    rsync_opts: "-a"
manifest:
  dir: manifests
"@ | Set-Content -LiteralPath (Join-Path $PWD 'config.yaml')
    }

    function Write-TestOrders([string] $Text) { $Text | Set-Content -LiteralPath (Join-Path $PWD 'orders.yaml') }

    # An ISO position and a raw.xz position that is expanded and pushed as .raw, both to the sshd.
    $script:TwoPositions = @"
orders:
  - orderid: PESTER-1
    customer: Pester Lab
    positions:
      - name: iso
        product: talos
        version: v1.11.5
        customization: {}
        push: {enabled: true, hosts: [{host: $($Ssh.target)}]}
      - name: disk
        product: talos
        version: v1.11.5
        image_format: raw.xz
        decompress_raw: true
        customization: {}
        push: {enabled: true, prefer_decompressed: true, hosts: [$($Ssh.target)]}
"@

    function Get-ImageGets { (Invoke-TalosControl $TestHost GET /factory/log).imageGets }
    function Get-SchematicPosts { @((Invoke-TalosControl $TestHost GET /factory/log).requests | Where-Object { $_.method -eq 'POST' -and $_.path -eq '/schematics' }).Count }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
    if ($script:Logs) { Remove-Item -LiteralPath $script:Logs -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Invoke-TalosOrder against the test host' {
    BeforeEach {
        $script:Work = New-TalosTestFolder
        $script:Remote = Join-Path $Ssh.remoteRoot ([guid]::NewGuid().ToString('N').Substring(0, 10))
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Push-Location $Work
        Write-TestConfig $Remote
    }
    AfterEach {
        Pop-Location
        Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'runs an ISO and an expanded, pushed raw.xz position into $PWD, and a second run changes nothing' {
        Write-TestOrders $TwoPositions
        $processDir = [System.Environment]::CurrentDirectory

        $result = @(Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -ErrorVariable failures)

        $failures | Should -BeNullOrEmpty
        $result.Count | Should -Be 1
        $r = $result[0]
        $r | Should -BeOfType TalosImage.TalosOrderResult
        $r.OrderId | Should -Be 'PESTER-1'
        $r.Customer | Should -Be 'Pester Lab'
        $r.Status | Should -Be 'Succeeded'
        $r.DryRun | Should -BeFalse
        $r.Positions | Should -Be 2
        $r.Succeeded | Should -Be 2
        $r.Failed | Should -Be 0
        $r.Changed | Should -BeTrue
        $r.BytesDownloaded | Should -Be ($IsoImage.size + $XzImage.size)
        $r.BytesPushed | Should -BeGreaterOrEqual ($IsoImage.size + $XzImage.rawSize)
        $r.ManifestPath | Should -Be (Join-Path $Work 'manifests/manifest-PESTER-1.yaml')
        Get-ImageGets | Should -Be 2

        # The relative cache_dir follows the PowerShell location, not the process's folder.
        $folder = Join-Path $Work "cache/artifacts/$Schematic/v1.11.5"
        Get-TalosTestSha256 (Join-Path $folder 'nocloud-amd64.iso') | Should -Be $IsoImage.sha256
        Get-TalosTestSha256 (Join-Path $folder 'nocloud-amd64.raw.xz') | Should -Be $XzImage.sha256
        Get-TalosTestSha256 (Join-Path $folder 'nocloud-amd64.raw') | Should -Be $XzImage.rawSha256
        $processDir | Should -Not -Be $Work
        Test-Path -LiteralPath (Join-Path $processDir 'cache') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $processDir 'manifests') | Should -BeFalse

        # On the host: the ISO in the ISO folder, the expanded raw in the import folder.
        Get-TalosTestSha256 "$Remote/iso/$Stem-nocloud-amd64.iso" | Should -Be $IsoImage.sha256
        Get-TalosTestSha256 "$Remote/import/$Stem-nocloud-amd64.raw" | Should -Be $XzImage.rawSha256
        Get-TalosTreeListing $Remote | Should -Be @(
            "import/$Stem-nocloud-amd64.raw", "import/$Stem-nocloud-amd64.raw.sha256",
            "iso/$Stem-nocloud-amd64.iso", "iso/$Stem-nocloud-amd64.iso.sha256")

        $m = Get-Content -Raw -LiteralPath $r.ManifestPath | ConvertFrom-TalosYaml
        $m.order.orderid | Should -Be 'PESTER-1'
        $m.status | Should -Be 'Succeeded'
        $m.dry_run | Should -BeFalse
        $m.entries.Count | Should -Be 2
        $iso, $disk = $m.entries
        $iso.name | Should -Be 'iso'
        $iso.status | Should -Be 'ok'
        $iso.download.path | Should -Be (Join-Path $folder 'nocloud-amd64.iso')
        $iso.download.sha256 | Should -Be $IsoImage.sha256
        $iso.pushed[0].host | Should -Be $Ssh.target
        $iso.pushed[0].status | Should -Be 'ok'
        $iso.pushed[0].destination | Should -Be "$Remote/iso/$Stem-nocloud-amd64.iso"
        $disk.image_format | Should -Be 'raw.xz'
        $disk.url | Should -Be "$($TestHost.factoryUrl)/image/$Schematic/v1.11.5/nocloud-amd64.raw.xz"
        $disk.download.sha256 | Should -Be $XzImage.sha256
        $disk.decompressed.path | Should -Be (Join-Path $folder 'nocloud-amd64.raw')
        $disk.decompressed.sha256 | Should -Be $XzImage.rawSha256
        $disk.decompressed.size_bytes | Should -Be $XzImage.rawSize
        $disk.pushed[0].destination | Should -Be "$Remote/import/$Stem-nocloud-amd64.raw"
        $disk.pushed[0].verified | Should -BeTrue
        $written = (Get-Item -LiteralPath "$Remote/import/$Stem-nocloud-amd64.raw").LastWriteTimeUtc
        $posts = Get-SchematicPosts
        $posts | Should -BeGreaterThan 0
        $m.entries.schematic_source | Should -Be @('factory', 'factory')

        $again = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -ErrorVariable failures2

        $failures2 | Should -BeNullOrEmpty
        $again.Status | Should -Be 'Succeeded'
        $again.Changed | Should -BeFalse
        $again.BytesDownloaded | Should -Be 0
        $again.BytesPushed | Should -Be 0
        Get-ImageGets | Should -Be 2 -Because 'the second run downloads nothing'
        (Get-Item -LiteralPath "$Remote/import/$Stem-nocloud-amd64.raw").LastWriteTimeUtc | Should -Be $written
        $m2 = Get-Content -Raw -LiteralPath $again.ManifestPath | ConvertFrom-TalosYaml
        $m2.entries.download.from_cache | Should -Be @($true, $true)
        $m2.entries[1].decompressed.from_cache | Should -BeTrue
        $m2.entries.pushed.status | Should -Be @('skipped', 'skipped')
        # Both downloads are in the cache under the schematic ID computed here: the factory is not asked for it again.
        Get-SchematicPosts | Should -Be $posts
        $m2.entries.schematic_source | Should -Be @('cache', 'cache')
    }

    It '-WhatIf writes nothing, contacts no host, and says what each position would do' {
        Write-TestOrders $TwoPositions
        $before = Get-TalosTreeListing $Work

        $run = Invoke-TalosTranscribed -Folder $Logs { Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -WhatIf }

        $run.Output.Count | Should -Be 1
        $run.Output[0].Status | Should -Be 'Planned'
        $run.Output[0].DryRun | Should -BeTrue
        $run.Output[0].Positions | Should -Be 2
        $run.Output[0].Changed | Should -BeFalse
        $cachePath = Join-Path $Work "cache/artifacts/$Schematic/v1.11.5"
        $run.Text | Should -Match ([regex]::Escape("download $cachePath/nocloud-amd64.iso; push iso to $($Ssh.target):$Remote/iso"" on target ""PESTER-1/iso"""))
        $run.Text | Should -Match ([regex]::Escape("download $cachePath/nocloud-amd64.raw.xz; expand to nocloud-amd64.raw; push raw to $($Ssh.target):$Remote/import"" on target ""PESTER-1/disk"""))
        Get-TalosTreeListing $Work | Should -Be $before
        Test-Path -LiteralPath (Join-Path $Work 'cache') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $Work 'manifests') | Should -BeFalse
        Test-Path -LiteralPath $Remote | Should -BeFalse
        Get-ImageGets | Should -Be 0
    }

    It '-WhatIf plans a position with an unknown extension as failing' {
        # Defect 11b (being fixed in the engine): the dry run planned it as a download.
        Write-TestOrders @"
- orderid: PESTER-X
  positions:
    - {name: good, product: talos, version: v1.11.5, customization: {}}
    - {name: bad, product: talos, version: v1.11.5, customization: {systemExtensions: {officialExtensions: [siderolabs/nope]}}}
"@
        $run = Invoke-TalosTranscribed -Folder $Logs {
            Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -WhatIf -ErrorAction Continue -WarningAction SilentlyContinue 2>&1
        }
        $failures = $run.Errors

        $whatIf = @($run.Text -split "`r?`n" | Where-Object { $_ -like 'What if: Performing the operation*' })
        $whatIf.Count | Should -Be 2
        $whatIf[0] | Should -Match '"download [^"]*nocloud-amd64\.iso" on target "PESTER-X/good"'
        $whatIf[1] | Should -Match '"fails: [^"]*siderolabs/nope[^"]*" on target "PESTER-X/bad"'
        $run.Output[0].DryRun | Should -BeTrue
        $run.Output[0].Status | Should -Be 'PartiallyFailed'
        $run.Output[0].Failed | Should -Be 1
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'UnknownExtension,*'
        $failures[0].TargetObject | Should -Be 'PESTER-X/bad'
        Test-Path -LiteralPath (Join-Path $Work 'cache') | Should -BeFalse
    }

    It 'writes one non-terminating error per failed position with the engine''s ErrorId and category, and the manifest' {
        # metal-amd64.iso is cached first, so the run asks for exactly two images: both answer 404.
        Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform metal -CacheDirectory ./cache -FactoryUrl $TestHost.factoryUrl | Out-Null
        Write-TestOrders @"
- orderid: PESTER-F
  positions:
    - {name: cached, product: talos, version: v1.11.5, platform: metal, customization: {}}
    - {name: iso, product: talos, version: v1.11.5, customization: {}}
    - {name: disk, product: talos, version: v1.11.5, image_format: raw.xz, decompress_raw: true, customization: {}}
    - {name: bad, product: talos, version: v1.11.5, customization: {systemExtensions: {officialExtensions: [siderolabs/nope]}}}
    - {name: nover, product: talos, version: v9.9.9, customization: {}}
"@
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Invoke-TalosControl $TestHost POST '/factory/fail?status=404&count=2' | Out-Null

        $result = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -ErrorAction SilentlyContinue -ErrorVariable failures -WarningAction SilentlyContinue

        $result.Status | Should -Be 'PartiallyFailed'
        $result.Positions | Should -Be 5
        $result.Succeeded | Should -Be 1
        $result.Failed | Should -Be 4
        Get-ImageGets | Should -Be 2
        $byTarget = @{}
        $failures | ForEach-Object { $byTarget[$_.TargetObject] = $_ }
        $failures.Count | Should -Be 4
        @($byTarget.Keys | Sort-Object) | Should -Be @('PESTER-F/bad', 'PESTER-F/disk', 'PESTER-F/iso', 'PESTER-F/nover')
        foreach ($name in 'iso', 'disk') {
            $byTarget["PESTER-F/$name"].FullyQualifiedErrorId | Should -BeLike 'Http404,*'
            $byTarget["PESTER-F/$name"].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $byTarget["PESTER-F/$name"].Exception.Message | Should -Match '404'
        }
        $byTarget['PESTER-F/bad'].FullyQualifiedErrorId | Should -BeLike 'UnknownExtension,*'
        $byTarget['PESTER-F/bad'].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $byTarget['PESTER-F/bad'].Exception.Message | Should -Match 'siderolabs/nope'
        $byTarget['PESTER-F/nover'].FullyQualifiedErrorId | Should -BeLike 'UnknownVersion,*'
        $byTarget['PESTER-F/nover'].CategoryInfo.Category | Should -Be 'ObjectNotFound'

        $m = Get-Content -Raw -LiteralPath (Join-Path $Work 'manifests/manifest-PESTER-F.yaml') | ConvertFrom-TalosYaml
        $m.status | Should -Be 'PartiallyFailed'
        $m.entries.name | Should -Be @('cached', 'iso', 'disk', 'bad', 'nover')
        $m.entries.status | Should -Be @('ok', 'failed', 'failed', 'failed', 'failed')
        $m.entries.error_id | Should -Be @('Http404', 'Http404', 'UnknownExtension', 'UnknownVersion')
        $m.entries[0].download.from_cache | Should -BeTrue

        # Run again with -ErrorAction Stop: the downloads succeed now, so the first failure is the unknown extension.
        { Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -OrderId PESTER-F -ErrorAction Stop -WarningAction SilentlyContinue } |
            Should -Throw -ErrorId 'UnknownExtension,*'
    }

    It 'runs only the -OrderId orders and appends to a relative -LogPath' {
        Write-TestOrders @"
- orderid: ORDER-A
  positions:
    - {name: a, product: talos, version: v1.11.5, platform: metal, customization: {}}
- orderid: ORDER-B
  positions:
    - {name: b, product: talos, version: v1.11.5, customization: {}}
"@
        $processDir = [System.Environment]::CurrentDirectory

        $result = @(Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -OrderId ORDER-B -LogPath ./logs/run.log)

        $result.OrderId | Should -Be 'ORDER-B'
        $result[0].Status | Should -Be 'Succeeded'
        Get-ImageGets | Should -Be 1
        (Invoke-TalosControl $TestHost GET /factory/log).requests.path | Should -Contain "/image/$Schematic/v1.11.5/nocloud-amd64.iso"
        Get-ChildItem -LiteralPath (Join-Path $Work 'manifests') | ForEach-Object Name | Should -Be 'manifest-ORDER-B.yaml'
        $log = Get-Content -LiteralPath (Join-Path $Work 'logs/run.log')
        $log | Should -Not -BeNullOrEmpty
        ($log -match 'order=ORDER-B .*stage=download outcome=ok') | Should -Not -BeNullOrEmpty
        ($log -match 'order=ORDER-B stage=manifest outcome=ok') | Should -Not -BeNullOrEmpty
        ($log -match 'order=ORDER-A') | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $processDir 'logs/run.log') | Should -BeFalse
        $lines = $log.Count

        Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -OrderId ORDER-B -LogPath ./logs/run.log | Out-Null
        (Get-Content -LiteralPath (Join-Path $Work 'logs/run.log')).Count | Should -BeGreaterThan $lines -Because 'the log is appended to'
    }

    Context '-Confirm and the SSH connections (ssh counted by a wrapper on PATH)' {
        BeforeAll {
            . (Join-Path $PSScriptRoot Module.Helpers.ps1)
            $script:SavedPath = $env:PATH
            $script:WrapDir = New-TalosSshWrapper $Logs
        }
        BeforeEach {
            Get-ChildItem -LiteralPath (Join-Path $WrapDir 'log') -File | Remove-Item
            $env:PATH = "$WrapDir$([IO.Path]::PathSeparator)$SavedPath"
        }
        AfterEach {
            $env:PATH = $SavedPath
        }

        It '"Yes" to the run and "No" to each position runs no position and contacts no host' {
            Write-TestOrders $TwoPositions
            $recorder = [TalosImageTests.RecordingHost]::new('Yes|No')

            $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 60 -Parameters @{ Dir = $Work } -Script @'
param($Dir)
Set-Location -LiteralPath $Dir
Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -Confirm
'@

            $r.TimedOut | Should -BeFalse
            $r.Exception | Should -BeNullOrEmpty
            # The run, then each of its two positions.
            @($recorder.Recorder.Prompts).Count | Should -Be 3
            $r.Output.Count | Should -Be 1
            ($r.Output[0].Succeeded, $r.Output[0].Skipped) | Should -Be @(0, 2)
            Get-ImageGets | Should -Be 0
            @(Get-TalosSshCall $WrapDir).Count | Should -Be 0 -Because 'a position the user declined opens no connection to its host'
        }

        It '"Yes" runs both positions over one connection to the host, opened as the first position starts' {
            Write-TestOrders $TwoPositions
            $recorder = [TalosImageTests.RecordingHost]::new('Yes')

            $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 120 -Parameters @{ Dir = $Work } -Script @'
param($Dir)
Set-Location -LiteralPath $Dir
Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -Confirm
'@

            $r.TimedOut | Should -BeFalse
            $r.Exception | Should -BeNullOrEmpty
            $r.Errors | Should -BeNullOrEmpty
            @($recorder.Recorder.Prompts).Count | Should -Be 3
            $r.Output[0].Succeeded | Should -Be 2
            $calls = @(Get-TalosSshCall $WrapDir)
            @($calls | Where-Object { $_ -contains 'ControlMaster=yes' }).Count | Should -Be 1
        }

        It 'without prompts connects to the host while it still plans, and runs both positions over that connection' {
            Write-TestOrders $TwoPositions
            # Planning waits for the factory's version list; the connection is up long before it answers.
            Invoke-TalosControl $TestHost POST '/factory/versions-delay?ms=3000' | Out-Null

            $records = @(Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -Verbose 4>&1)

            $result = @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $result.Count | Should -Be 1
            $result[0].Succeeded | Should -Be 2
            $verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            $connected = [array]::FindIndex([string[]] $verbose, [Predicate[string]] { param($m) $m -match 'connected over SSH' })
            $locked = [array]::FindIndex([string[]] $verbose, [Predicate[string]] { param($m) $m -match '^Cache lock .* taken' })
            $connected | Should -BeGreaterOrEqual 0 -Because ($verbose -join "`n")
            $locked | Should -BeGreaterOrEqual 0 -Because ($verbose -join "`n")
            $connected | Should -BeLessThan $locked -Because 'the cache lock is taken once planning is done'
            $calls = @(Get-TalosSshCall $WrapDir)
            @($calls | Where-Object { $_ -contains 'ControlMaster=yes' }).Count | Should -Be 1
        }
    }
}

Describe 'Invoke-TalosOrder with talos_order.py''s example files, unchanged' {
    BeforeEach {
        $script:Work = New-TalosTestFolder
        Push-Location $Work
        $script:SavedFactory = $env:TALOS_FACTORY_URL
        $script:CacheExisted = Test-Path /var/cache/talos-sync
    }
    AfterEach {
        $env:TALOS_FACTORY_URL = $script:SavedFactory
        Pop-Location
        Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'plans them with -WhatIf against the factory (TALOS_FACTORY_URL): expand and push to both hosts, nothing written' {
        $env:TALOS_FACTORY_URL = $TestHost.factoryUrl
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null

        $run = Invoke-TalosTranscribed -Folder $Logs {
            Invoke-TalosOrder -Config (Join-Path $Compat 'talos_order-config.yaml') -Orders (Join-Path $Compat 'talos_order-orders.yaml') -WhatIf -ErrorAction Continue 2>&1
        }
        $failures = $run.Errors

        $failures | Should -BeNullOrEmpty
        $run.Output.Count | Should -Be 1
        $run.Output[0].OrderId | Should -Be 'ORD-2025-0001'
        $run.Output[0].Customer | Should -Be 'ACME Mobility GmbH'
        $run.Output[0].Status | Should -Be 'Planned'
        $run.Output[0].Positions | Should -Be 1
        $run.Output[0].Failed | Should -Be 0
        $run.Output[0].ManifestPath | Should -Be '/var/cache/talos-sync/manifests/manifest-ORD-2025-0001.yaml'
        $run.Text | Should -Match 'What if: Performing the operation "download /var/cache/talos-sync/artifacts/[0-9a-f]{64}/v1\.11\.5/nocloud-amd64-secureboot\.raw\.xz; expand to nocloud-amd64-secureboot\.raw; push raw to pve-01\.example\.lan:/var/lib/vz/import; push raw to pve-02\.example\.lan:/var/lib/vz/import" on target "ORD-2025-0001/talos-nocloud-secureboot-raw-amd64"'
        $log = Invoke-TalosControl $TestHost GET /factory/log
        $log.imageGets | Should -Be 0
        $log.schematicPosts | Should -Be 0
        Test-Path /var/cache/talos-sync | Should -Be $CacheExisted
        Get-TalosTreeListing $Work | Should -BeNullOrEmpty
    }

    It 'plans them with -Offline -WhatIf asking no server; latest without a cached version list fails alone' {
        $env:TALOS_FACTORY_URL = $TestHost.factoryUrl
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null

        $run = Invoke-TalosTranscribed -Folder $Logs {
            Invoke-TalosOrder -Config (Join-Path $Compat 'talos_order-config.yaml') -Orders (Join-Path $Compat 'talos_order-orders.yaml') -Offline -WhatIf -ErrorAction Continue -WarningAction SilentlyContinue 2>&1
        }
        $failures = $run.Errors

        $run.Output.Count | Should -Be 1
        $run.Output[0].DryRun | Should -BeTrue
        $run.Output[0].Status | Should -Be 'Failed' -Because 'its only position cannot be planned'
        $run.Output[0].Positions | Should -Be 1
        $run.Output[0].Failed | Should -Be 1
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'VersionListUnavailable,*'
        $failures[0].TargetObject | Should -Be 'ORD-2025-0001/talos-nocloud-secureboot-raw-amd64'
        $run.Text | Should -Match 'What if: Performing the operation "fails: offline and no cached version list at /var/cache/talos-sync/versions/factory\.json'
        @((Invoke-TalosControl $TestHost GET /factory/log).requests).Count | Should -Be 0
        Test-Path /var/cache/talos-sync | Should -Be $CacheExisted
        Get-TalosTreeListing $Work | Should -BeNullOrEmpty
    }
}
