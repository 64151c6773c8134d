BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:Schematic = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
    # A tiny factory on loopback: /image/<schematic>/<version>/<asset> answers 200 with fixed bytes.
    $script:Listener = [System.Net.HttpListener]::new()
    $script:Port = Get-Random -Minimum 20000 -Maximum 60000
    $script:Listener.Prefixes.Add("http://127.0.0.1:$($script:Port)/")
    $script:Listener.Start()
    $script:Body = [byte[]](1..255) * 40
    $script:Server = Start-ThreadJob -ArgumentList $script:Listener, $script:Body -ScriptBlock {
        param($listener, $body)
        while ($listener.IsListening) {
            try { $ctx = $listener.GetContext() } catch { break }
            if ($ctx.Request.Url.AbsolutePath -like '/image/*') {
                $ctx.Response.ContentLength64 = $body.Length
                $ctx.Response.OutputStream.Write($body, 0, $body.Length)
            } else { $ctx.Response.StatusCode = 404 }
            $ctx.Response.Close()
        }
    }
    $script:Factory = "http://127.0.0.1:$($script:Port)"
}

AfterAll {
    $script:Listener.Stop()
    $script:Server | Remove-Job -Force -ErrorAction SilentlyContinue
}

Describe 'Save-TalosImage' {
    BeforeEach { $script:Cache = New-TalosTestFolder }
    AfterEach { Remove-Item -Recurse -Force $script:Cache }

    It 'downloads into <cache>/artifacts/<schematic>/<version>/<asset> and then hits the cache' {
        $a = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform nocloud -Format raw.xz -CacheDirectory $Cache -FactoryUrl $Factory
        $a | Should -BeOfType TalosImage.TalosArtifact
        $a.Path | Should -Be (Join-Path $Cache "artifacts/$Schematic/v1.11.5/nocloud-amd64.raw.xz")
        $a.FromCache | Should -BeFalse
        $a.Size | Should -Be $Body.Length
        (Get-FileHash $a.Path -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $a.Sha256
        Get-Content -Raw "$($a.Path).sha256" | Should -Be "$($a.Sha256)  nocloud-amd64.raw.xz`n"

        $again = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform nocloud -Format raw.xz -CacheDirectory $Cache -FactoryUrl $Factory
        $again.FromCache | Should -BeTrue
    }

    It 'binds SchematicId and Version by property name' {
        $a = [pscustomobject]@{ SchematicId = $Schematic; Version = 'v1.11.5'; Format = 'iso' } |
            Save-TalosImage -CacheDirectory $Cache -FactoryUrl $Factory
        $a.Asset | Should -Be 'nocloud-amd64.iso'
    }

    It 'downloads nothing with -WhatIf' {
        Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -CacheDirectory $Cache -FactoryUrl $Factory -WhatIf | Should -BeNullOrEmpty
        Test-Path (Join-Path $Cache 'artifacts') | Should -BeFalse
    }

    It 'refuses a schematic ID that is not 64 hex characters' {
        { Save-TalosImage -SchematicId '../../etc' -Version v1.11.5 -CacheDirectory $Cache -FactoryUrl $Factory -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArtifactRequest*'
    }
}
