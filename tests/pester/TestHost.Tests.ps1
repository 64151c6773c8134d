# The test host (tests/TalosImage.TestHost) as the other Pester files use it: one process with the fake factory,
# the Proxmox API fake and a real sshd on 127.0.0.1, described by one line of JSON, stopped with "stop".
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    $script:TestHost = Start-TalosTestHost

    function Test-Listening([string] $Url) {
        $uri = [Uri] $Url
        $client = [System.Net.Sockets.TcpClient]::new()
        try {
            $client.Connect('127.0.0.1', $uri.Port)
            $true
        } catch [System.Net.Sockets.SocketException] {
            $false
        } catch [System.Management.Automation.MethodInvocationException] {
            $false
        } finally {
            $client.Dispose()
        }
    }
}

AfterAll {
    if ($script:TestHost -and -not $script:TestHost.Process.HasExited) { Stop-TalosTestHost $script:TestHost }
}

Describe 'talosimage-testhost' {
    It 'describes every server on 127.0.0.1' {
        $TestHost.controlUrl | Should -Match '^http://127\.0\.0\.1:\d+$'
        $TestHost.factoryUrl | Should -Match '^http://127\.0\.0\.1:\d+$'
        $TestHost.proxmoxUri | Should -Match '^https://127\.0\.0\.1:\d+/$'
        $TestHost.proxmoxFingerprint | Should -Match '^([0-9A-F]{2}:){31}[0-9A-F]{2}$'
        $TestHost.factorySchematicId | Should -Be '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
        $TestHost.factoryVersions | Should -Contain 'v1.11.5'
        $TestHost.factoryExtensions | Should -Contain 'siderolabs/qemu-guest-agent'
        $TestHost.factoryImages.asset | Should -Contain 'nocloud-amd64.raw.xz'
        if ($null -eq $TestHost.ssh) { $TestHost.sshUnavailable | Should -Not -BeNullOrEmpty }
    }

    It 'serves an image from the fake factory and counts it in the control log' {
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        $image = $TestHost.factoryImages | Where-Object asset -EQ 'nocloud-amd64.raw.xz'
        $file = Join-Path (New-TalosTestFolder) $image.asset
        try {
            Invoke-WebRequest "$($TestHost.factoryUrl)/image/$($TestHost.factorySchematicId)/v1.11.5/$($image.asset)" -OutFile $file -TimeoutSec 30
            (Get-Item $file).Length | Should -Be $image.size
            (Get-FileHash $file -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $image.sha256
            $log = Invoke-TalosControl $TestHost GET /factory/log
            $log.imageGets | Should -Be 1
            $log.requests[0].path | Should -Be "/image/$($TestHost.factorySchematicId)/v1.11.5/$($image.asset)"
        } finally {
            Remove-Item -Recurse -Force (Split-Path $file)
        }
    }

    It 'fails and delays image answers on request, until reset' {
        $url = "$($TestHost.factoryUrl)/image/$($TestHost.factorySchematicId)/v1.11.5/metal-amd64.iso"
        Invoke-TalosControl $TestHost POST '/factory/fail?status=404&count=1' | Out-Null
        { Invoke-WebRequest $url -TimeoutSec 10 } | Should -Throw '*404*'
        (Invoke-WebRequest $url -TimeoutSec 10).StatusCode | Should -Be 200

        Invoke-TalosControl $TestHost POST '/factory/delay?ms=30000' | Out-Null
        { Invoke-WebRequest $url -TimeoutSec 1 } | Should -Throw
        Invoke-TalosControl $TestHost POST /factory/reset | Out-Null
        (Invoke-WebRequest $url -TimeoutSec 10).StatusCode | Should -Be 200
    }

    It 'lists the Proxmox nodes with the token, and records uploads' {
        Invoke-TalosControl $TestHost POST /proxmox/reset | Out-Null
        # The token's '=' and '!' are not what .NET's header validation expects of an Authorization value.
        $headers = @{ Authorization = "PVEAPIToken=$($TestHost.proxmoxToken)" }
        $nodes = Invoke-RestMethod "$($TestHost.proxmoxUri)api2/json/nodes" -Headers $headers -SkipHeaderValidation -SkipCertificateCheck -TimeoutSec 10
        $nodes.data.node | Should -Be $TestHost.proxmoxNodes

        $dir = New-TalosTestFolder
        try {
            $iso = Join-Path $dir 'talos-test.iso'
            [System.IO.File]::WriteAllBytes($iso, [byte[]](1..200))
            $sha = (Get-FileHash $iso -Algorithm SHA256).Hash.ToLowerInvariant()
            # Proxmox's part order, with quoted part names as the engine writes them (.NET and -Form leave them bare,
            # which the fake does not read).
            $form = [System.Net.Http.MultipartFormDataContent]::new()
            $form.Add([System.Net.Http.StringContent]::new('iso'), '"content"')
            $form.Add([System.Net.Http.StringContent]::new('sha256'), '"checksum-algorithm"')
            $form.Add([System.Net.Http.StringContent]::new($sha), '"checksum"')
            $form.Add([System.Net.Http.ByteArrayContent]::new([System.IO.File]::ReadAllBytes($iso)), '"filename"', '"talos-test.iso"')
            $node = $TestHost.proxmoxNodes[0]
            $upload = Invoke-RestMethod -Method Post "$($TestHost.proxmoxUri)api2/json/nodes/$node/storage/$($TestHost.proxmoxStorage)/upload" `
                -Headers $headers -SkipHeaderValidation -Body $form -SkipCertificateCheck -TimeoutSec 10
            $upload.data | Should -BeLike 'UPID:*'
        } finally {
            Remove-Item -Recurse -Force $dir
        }
        $files = @(Invoke-TalosControl $TestHost GET /proxmox/files)
        $files.Count | Should -Be 1
        $files[0].node | Should -Be $node
        $files[0].volid | Should -Be "$($TestHost.proxmoxStorage):iso/talos-test.iso"
        $files[0].size | Should -Be 200
        $files[0].sha256 | Should -Be $sha
        $log = Invoke-TalosControl $TestHost GET /proxmox/log
        $log.uploads | Should -Be 1
        $log.requests | Should -Contain 'GET /api2/json/nodes'
    }

    It 'lets ssh run true on the sshd with sshOptions' {
        if ($null -eq $TestHost.ssh) { Set-ItResult -Skipped -Because $TestHost.sshUnavailable; return }
        $options = $TestHost.ssh.sshOptions -split ' '
        & ssh @options -n -o ConnectTimeout=10 $TestHost.ssh.target true
        $LASTEXITCODE | Should -Be 0
        Test-Path $TestHost.ssh.remoteRoot | Should -BeTrue
    }

    It 'stops on "stop": exit code 0, ports closed, temp folders gone' {
        $urls = @($TestHost.controlUrl, $TestHost.factoryUrl, $TestHost.proxmoxUri)
        if ($TestHost.ssh) { $urls += "ssh://127.0.0.1:$($TestHost.ssh.port)" }
        foreach ($url in $urls) { Test-Listening $url | Should -BeTrue -Because "$url listens while the host runs" }

        Stop-TalosTestHost $TestHost
        $TestHost.Process.HasExited | Should -BeTrue
        $TestHost.Process.ExitCode | Should -Be 0 -Because $TestHost.StandardError.Result
        foreach ($url in $urls) { Test-Listening $url | Should -BeFalse -Because "$url is closed once the host stopped" }
        if ($TestHost.ssh) { Test-Path (Split-Path $TestHost.ssh.keyPath) | Should -BeFalse }
    }
}
