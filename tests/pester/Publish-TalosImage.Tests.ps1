BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:dir = New-TalosTestFolder
    $script:iso = Join-Path $dir 'nocloud-amd64.iso'
    [System.IO.File]::WriteAllBytes($iso, [byte[]](1..255))
    $script:marker = Join-Path $dir 'pwned'

    function Get-WhatIfText([scriptblock] $Command) {
        # -WhatIf messages go to the host; a transcript catches them.
        $log = Join-Path $dir ("whatif-" + [guid]::NewGuid().ToString('N') + '.txt')
        Start-Transcript -Path $log | Out-Null
        try { & $Command } finally { Stop-Transcript | Out-Null }
        Get-Content -Raw $log
    }
}

AfterAll {
    Remove-Item $dir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Publish-TalosImage' {
    It 'has an Ssh and a ProxmoxApi parameter set' {
        $command = Get-Command Publish-TalosImage
        $command.ParameterSets.Name | Should -Contain 'Ssh'
        $command.ParameterSets.Name | Should -Contain 'ProxmoxApi'
        $command.Parameters['ComputerName'].Aliases | Should -Contain 'Host'
        $command.OutputType.Name | Should -Contain 'TalosImage.TalosPublishResult'
    }

    It '-WhatIf names every host and remote path and contacts nothing' {
        $text = Get-WhatIfText { Publish-TalosImage -Path $iso -ComputerName pve1, root@pve2 -IsoDirectory /srv/iso -WhatIf }
        $text | Should -Match 'pve1:/srv/iso/talos-nocloud-amd64\.iso'
        $text | Should -Match 'root@pve2:/srv/iso/talos-nocloud-amd64\.iso'
    }

    It '-WhatIf over the API names the volume id per node without needing a token' {
        $saved = $env:PROXMOX_API_TOKEN
        $env:PROXMOX_API_TOKEN = $null
        try {
            $text = Get-WhatIfText { Publish-TalosImage -Path $iso -ProxmoxUri https://pve1.invalid:8006 -Node pve1, pve2 -WhatIf }
        } finally { $env:PROXMOX_API_TOKEN = $saved }
        $text | Should -Match 'pve1 .*local:iso/talos-nocloud-amd64\.iso'
        $text | Should -Match 'pve2 .*local:iso/talos-nocloud-amd64\.iso'
    }

    It 'reports an unreachable host as a Failed result and a non-terminating error' -Skip:(-not (Get-Command ssh -ErrorAction SilentlyContinue) -or -not (Get-Command rsync -ErrorAction SilentlyContinue)) {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $result = Publish-TalosImage -Path $iso -ComputerName 127.0.0.1 -IsoDirectory (Join-Path $dir 'remote') `
            -SshOption "-p $port -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" -ErrorVariable failures -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'Failed'
        $result.Transport | Should -Be 'Ssh'
        $result.ErrorId | Should -Be 'SshConnectionFailed'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'SshConnectionFailed*'
    }

    It 'refuses a host that would inject a command' {
        { Publish-TalosImage -Path $iso -ComputerName "pve1;touch $marker" } | Should -Throw -ErrorId 'UnsafeHost'
        Test-Path $marker | Should -BeFalse
    }

    It 'refuses ssh options that would run a command' {
        { Publish-TalosImage -Path $iso -ComputerName pve1 -SshOption "-o ProxyCommand=touch $marker" } | Should -Throw -ErrorId 'UnsafeOption'
        Test-Path $marker | Should -BeFalse
    }

    It 'refuses an iso folder with shell characters' {
        { Publish-TalosImage -Path $iso -ComputerName pve1 -IsoDirectory '/tmp/x;touch /tmp/pwned' } | Should -Throw -ErrorId 'UnsafeRemotePath'
    }

    It 'refuses a plain http Proxmox endpoint' {
        { Publish-TalosImage -Path $iso -ProxmoxUri http://pve1.invalid:8006 -Node pve1 } | Should -Throw -ErrorId 'ProxmoxEndpointInvalid'
    }

    It 'writes an error for a file that does not exist' {
        Publish-TalosImage -Path (Join-Path $dir 'missing.iso') -ComputerName pve1 -ErrorVariable failures -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ArtifactFileMissing*'
    }
}
