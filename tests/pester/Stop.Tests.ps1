# Stopping a command (defect 10): PowerShell.Stop() (what Ctrl+C does) during a slow download, Select-Object -First 1
# downstream, -ErrorAction Stop on a per-item failure, and "no" / Ctrl+C / no host at a -Confirm prompt. Each must end
# promptly, leave no file under a final cache name and release the cache lock, so that the next command on the same
# cache runs at once (the lock's default timeout is 30 minutes: a lock left held would make it wait that long).
# Every command runs in a runspace of its own with a time limit (Invoke-TalosInRunspace), so a hang fails the test
# instead of hanging the suite.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Module.Helpers.ps1)

    $script:TestHost = Start-TalosTestHost -Factory
    $script:Id = $TestHost.factorySchematicId
    $script:Url = $TestHost.factoryUrl
    $script:Images = @{}
    foreach ($i in $TestHost.factoryImages) { $Images[$i.asset] = $i }

    # The file Save-TalosImage writes for a format of the vanilla schematic's v1.11.5 nocloud image.
    function Get-FinalPath([string] $Cache, [string] $Format) {
        Join-Path $Cache "artifacts/$Id/v1.11.5/nocloud-amd64.$Format"
    }

    # Files in the cache other than the lock's own.
    function Get-CacheFile([string] $Cache) {
        @(Get-ChildItem -LiteralPath $Cache -Recurse -File -Force -ErrorAction SilentlyContinue | Where-Object Name -NotIn '.lock', '.lock.owner' | ForEach-Object FullName)
    }

    # The next command on the cache: a Save of another format that must run at once (the lock is free) and download.
    function Assert-NextSaveRunsAtOnce([string] $Cache, [string] $Format = 'raw.xz') {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Test-TalosCacheLockFree $Cache | Should -BeTrue -Because 'nobody holds the cache lock any more'
        $next = Invoke-TalosInRunspace -TimeoutSeconds 15 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url; Format = $Format } -Script @'
param($Id, $Cache, $Url, $Format)
Save-TalosImage -SchematicId $Id -Version v1.11.5 -Format $Format -CacheDirectory $Cache -FactoryUrl $Url -ErrorAction Stop
'@
        $next.TimedOut | Should -BeFalse -Because 'a second Save on the same cache is not kept waiting by a lock left held'
        $next.Seconds | Should -BeLessThan 15
        $next.Exception | Should -BeNullOrEmpty
        $next.Errors | Should -BeNullOrEmpty
        # Released, not taken over as the stale lock of a holder that went away.
        @($next.Warnings | Where-Object { "$_" -like '*stale cache lock*' }) | Should -BeNullOrEmpty
        $next.Output.Count | Should -Be 1
        $a = $next.Output[0]
        $a | Should -BeOfType TalosImage.TalosArtifact
        $a.Path | Should -Be (Get-FinalPath $Cache $Format)
        $a.FromCache | Should -BeFalse
        $a.Size | Should -Be $Images["nocloud-amd64.$Format"].size
        $a.Sha256 | Should -Be $Images["nocloud-amd64.$Format"].sha256
        (Get-FileHash -LiteralPath $a.Path -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $a.Sha256
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 1
    }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'Stopping a command' {
    BeforeEach {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        $script:Cache = New-TalosTestFolder
    }
    AfterEach {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Remove-Item -LiteralPath $Cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'PowerShell.Stop() during a slow download returns within seconds, keeps no file and frees the lock' {
        Invoke-TalosControl $TestHost POST '/factory/delay?ms=20000' | Out-Null
        $runspace = [runspacefactory]::CreateRunspace()
        $runspace.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $runspace
        try {
            $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Get-TalosImageUnderTestPath)).AddParameter('ErrorAction', 'Stop').AddStatement()
            $null = $ps.AddCommand('Save-TalosImage').AddParameters(@{ SchematicId = $Id; Version = 'v1.11.5'; Format = 'iso'; CacheDirectory = $Cache; FactoryUrl = $Url })
            $async = $ps.BeginInvoke()
            Wait-TalosImageGet $TestHost | Should -BeTrue -Because 'the download has started: the factory got the image GET (and holds it 20 s)'
            $ps.InvocationStateInfo.State | Should -Be 'Running'
            Test-TalosCacheLockFree $Cache | Should -BeFalse -Because 'the running Save holds the cache lock'

            # From this runspace, as Ctrl+C in a console does.
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $stop = $ps.BeginStop($null, $null)
            $stopped = $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(30))
            $clock.Stop()
            $stopped | Should -BeTrue
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $ps.EndStop($stop)
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            @($ps.EndInvoke($async)) | Should -BeNullOrEmpty
        }
        finally {
            $ps.Dispose()
            $runspace.Dispose()
        }
        Test-Path -LiteralPath (Get-FinalPath $Cache 'iso') | Should -BeFalse
        Get-CacheFile $Cache | Where-Object { $_ -notlike '*.part' } | Should -BeNullOrEmpty
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 1

        # The same artifact, on the same cache, now without the delay.
        Assert-NextSaveRunsAtOnce $Cache 'iso'
    }

    It 'Save-TalosImage of several piped objects | Select-Object -First 1 returns one artifact and stops upstream' {
        $r = Invoke-TalosInRunspace -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script @'
param($Id, $Cache, $Url)
'iso', 'raw.xz', 'raw.zst' | ForEach-Object { [pscustomobject]@{ SchematicId = $Id; Version = 'v1.11.5'; Format = $_ } } |
    Save-TalosImage -CacheDirectory $Cache -FactoryUrl $Url | Select-Object -First 1
'@
        $r.TimedOut | Should -BeFalse -Because 'the pipeline ends once Select-Object has its one object'
        $r.Seconds | Should -BeLessThan 15
        $r.Exception | Should -BeNullOrEmpty
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Count | Should -Be 1
        $r.Output[0] | Should -BeOfType TalosImage.TalosArtifact
        $r.Output[0].Path | Should -Be (Get-FinalPath $Cache 'iso')
        $r.Output[0].Sha256 | Should -Be $Images['nocloud-amd64.iso'].sha256
        # The other two objects were never downloaded: Select-Object stopped the pipeline after the first.
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 1
        Test-Path -LiteralPath (Get-FinalPath $Cache 'raw.xz') | Should -BeFalse
        Test-Path -LiteralPath (Get-FinalPath $Cache 'raw.zst') | Should -BeFalse
        Assert-NextSaveRunsAtOnce $Cache 'raw.xz'
    }

    It 'Resolve-TalosVersion -List | Select-Object -First 1 returns the first of many versions promptly' {
        $r = Invoke-TalosInRunspace -TimeoutSeconds 30 -Parameters @{ Cache = $Cache; Url = $Url } -Script @'
param($Cache, $Url)
Resolve-TalosVersion -List -IncludePrerelease -FactoryUrl $Url -CacheDirectory $Cache | Select-Object -First 1
'@
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $r.Errors | Should -BeNullOrEmpty
        @($TestHost.factoryVersions).Count | Should -BeGreaterThan 1
        $r.Output.Count | Should -Be 1
        $r.Output[0] | Should -BeOfType TalosImage.TalosVersion
        $r.Output[0].Version | Should -BeIn $TestHost.factoryVersions
        Test-TalosCacheLockFree $Cache | Should -BeTrue
    }

    It '-ErrorAction Stop turns the first per-item failure into a throw, stops there and frees the lock' {
        Invoke-TalosControl $TestHost POST '/factory/fail?status=404&count=1' | Out-Null
        $r = Invoke-TalosInRunspace -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script @'
param($Id, $Cache, $Url)
try {
    'iso', 'raw.zst' | ForEach-Object { [pscustomobject]@{ SchematicId = $Id; Version = 'v1.11.5'; Format = $_ } } |
        Save-TalosImage -CacheDirectory $Cache -FactoryUrl $Url -ErrorAction Stop
    'not thrown'
} catch {
    $_
}
'@
        $r.TimedOut | Should -BeFalse
        $r.Output.Count | Should -Be 1
        $thrown = $r.Output[0]
        $thrown | Should -BeOfType System.Management.Automation.ErrorRecord
        $thrown.FullyQualifiedErrorId | Should -BeLike 'Http404,*'
        $thrown.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $thrown.TargetObject | Should -Be "$Id/v1.11.5/nocloud-amd64.iso"
        "$thrown" | Should -Match '404'
        # The second object was never tried.
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 1
        Test-Path -LiteralPath (Get-FinalPath $Cache 'iso') | Should -BeFalse
        Test-Path -LiteralPath (Get-FinalPath $Cache 'raw.zst') | Should -BeFalse
        Assert-NextSaveRunsAtOnce $Cache 'iso'
    }

    It 'without -ErrorAction Stop the same failure is one error and the next object is saved' {
        Invoke-TalosControl $TestHost POST '/factory/fail?status=404&count=1' | Out-Null
        $r = Invoke-TalosInRunspace -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script @'
param($Id, $Cache, $Url)
'iso', 'raw.zst' | ForEach-Object { [pscustomobject]@{ SchematicId = $Id; Version = 'v1.11.5'; Format = $_ } } |
    Save-TalosImage -CacheDirectory $Cache -FactoryUrl $Url -ErrorAction SilentlyContinue -ErrorVariable failed
$failed
'@
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $artifacts = @($r.Output | Where-Object { $_ -is [TalosImage.TalosArtifact] })
        $errors = @($r.Output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $artifacts.Path | Should -Be @(Get-FinalPath $Cache 'raw.zst')
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'Http404,*'
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 2
        Test-TalosCacheLockFree $Cache | Should -BeTrue
    }
}

Describe 'Answering a -Confirm prompt' {
    # A console host answers the prompt from the keyboard; this process is non-interactive, so a recording host
    # (Module.Helpers.ps1) answers it instead, in a runspace of its own: the cmdlet's ShouldProcess question, asked on
    # the pipeline thread while the worker waits for the answer, is the same.
    BeforeEach {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        $script:Cache = New-TalosTestFolder
        $script:Three = @'
param($Id, $Cache, $Url)
'iso', 'raw.xz', 'raw.zst' | ForEach-Object { [pscustomobject]@{ SchematicId = $Id; Version = 'v1.11.5'; Format = $_ } } |
    Save-TalosImage -CacheDirectory $Cache -FactoryUrl $Url -Confirm
'@
    }
    AfterEach {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        Remove-Item -LiteralPath $Cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    It '"No" downloads nothing, writes nothing and leaves the cache free' {
        $recorder = [TalosImageTests.RecordingHost]::new('No')
        $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script @'
param($Id, $Cache, $Url)
Save-TalosImage -SchematicId $Id -Version v1.11.5 -Format iso -CacheDirectory $Cache -FactoryUrl $Url -Confirm
'@
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $r.Errors | Should -BeNullOrEmpty
        $r.Output | Should -BeNullOrEmpty
        $prompts = @($recorder.Recorder.Prompts)
        $prompts.Count | Should -Be 1
        $prompts[0] | Should -BeLike "*$Url/image/$Id/v1.11.5/nocloud-amd64.iso*"
        $prompts[0] | Should -BeLike "*$(Get-FinalPath $Cache 'iso')*"
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 0
        Get-CacheFile $Cache | Should -BeNullOrEmpty
        Assert-NextSaveRunsAtOnce $Cache 'iso'
    }

    It '"No to All" for three piped objects asks once and downloads nothing' {
        $recorder = [TalosImageTests.RecordingHost]::new('No to All')
        $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script $Three
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $r.Output | Should -BeNullOrEmpty
        @($recorder.Recorder.Prompts).Count | Should -Be 1
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 0
        Get-CacheFile $Cache | Should -BeNullOrEmpty
        Test-TalosCacheLockFree $Cache | Should -BeTrue
    }

    It '"Yes" for each of three piped objects asks three times and downloads all three' {
        $recorder = [TalosImageTests.RecordingHost]::new('Yes')
        $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script $Three
        $r.TimedOut | Should -BeFalse
        $r.Exception | Should -BeNullOrEmpty
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output.Path) | Should -Be @('iso', 'raw.xz', 'raw.zst' | ForEach-Object { Get-FinalPath $Cache $_ })
        @($recorder.Recorder.Prompts).Count | Should -Be 3
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 3
        Test-TalosCacheLockFree $Cache | Should -BeTrue
    }

    It 'Ctrl+C at the prompt (the host throws PipelineStoppedException) ends the command at once and frees the cache' {
        $recorder = [TalosImageTests.RecordingHost]::new('Stop')
        $r = Invoke-TalosInRunspace -PSHost $recorder -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script $Three
        $r.TimedOut | Should -BeFalse -Because 'the worker waiting for the answer is released'
        $r.Seconds | Should -BeLessThan 10
        $r.State | Should -Be 'Stopped'
        $r.Output | Should -BeNullOrEmpty
        @($recorder.Recorder.Prompts).Count | Should -Be 1
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 0
        Get-CacheFile $Cache | Should -BeNullOrEmpty
        Assert-NextSaveRunsAtOnce $Cache 'raw.zst'
    }

    It 'a host that cannot prompt fails the command at once and frees the cache' {
        # [runspacefactory]::CreateRunspace() without a host: PowerShell's default host, which has no UI to ask with.
        $r = Invoke-TalosInRunspace -TimeoutSeconds 30 -Parameters @{ Id = $Id; Cache = $Cache; Url = $Url } -Script $Three
        $r.TimedOut | Should -BeFalse -Because 'the worker waiting for the answer is released'
        $r.Seconds | Should -BeLessThan 10
        $r.Output | Should -BeNullOrEmpty
        # The failed question ends Save-TalosImage (the first object's question; the others are never asked), not the script.
        $r.State | Should -Be 'Completed'
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'HostFunctionNotImplemented,*'
        "$($r.Errors[0])" | Should -BeLike "*nocloud-amd64.iso*"
        (Invoke-TalosControl $TestHost GET /factory/log).imageGets | Should -Be 0
        Get-CacheFile $Cache | Should -BeNullOrEmpty
        Assert-NextSaveRunsAtOnce $Cache 'iso'
    }
}
