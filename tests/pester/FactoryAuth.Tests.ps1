# Issue 17, a factory behind a login: -FactoryCredential (a PSCredential: Basic, or user name "bearer" with a token) on
# the cmdlets that talk to the factory, config.yaml's defaults.factory_auth for Invoke-TalosOrder, the credential never
# sent to the CDN the factory redirects to (another port of 127.0.0.1), its refusal with its own ErrorId and no secret
# in any output; and the factory's .sha256/.sha512 checked before a download gets its name (HashSource).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $script:TestHost = Start-TalosTestHost -Factory
    . (Join-Path $PSScriptRoot Stages.Helpers.ps1)
    $script:Factory = $TestHost.factoryUrl
    $script:Schematic = $TestHost.factorySchematicId
    $script:Password = 'pw-Pester-4711-Secret'
    $script:Token = 'tok_pester_0123456789abcdef'

    function New-Credential([string] $User, [string] $Secret) {
        [pscredential]::new($User, (ConvertTo-SecureString -String $Secret -AsPlainText -Force))
    }
    function Set-Login([string] $Query) { Invoke-TalosControl $script:TestHost POST "/factory/auth?$Query" | Out-Null }
    function Set-Checksums([string] $Mode) { Invoke-TalosControl $script:TestHost POST "/factory/checksums?mode=$Mode" | Out-Null }
    function Get-CdnLog { @((Invoke-TalosControl $script:TestHost GET /factory/cdn/log).requests) }
}

AfterAll {
    if ($script:TestHost) { Stop-TalosTestHost $script:TestHost }
}

Describe 'A factory behind a login' {
    BeforeEach {
        $script:Cache = New-TalosTestFolder
        Reset-Factory
    }
    AfterEach {
        Reset-Factory
        Remove-Item -LiteralPath $script:Cache -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'Save-TalosImage sends Basic credentials to the factory and not to the CDN it redirects to' {
        Set-Login "basic=alice:$Password"
        $cdn = Invoke-TalosControl $TestHost POST '/factory/cdn?on=true'
        $cdn.cdnUrl | Should -Not -Be $Factory
        $a = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform metal -FactoryUrl $Factory -CacheDirectory $Cache `
            -FactoryCredential (New-Credential alice $Password)
        $a.Sha256 | Should -Be (Get-FactoryImage metal-amd64.iso).sha256
        $a.HashSource | Should -Be 'local'
        $log = Get-FactoryLog
        $log.imageGets | Should -Be 1
        @($log.requests | Where-Object { -not $_.authorized }) | Should -HaveCount 0
        $cdnRequests = Get-CdnLog
        $cdnRequests | Should -HaveCount 1
        $cdnRequests[0].path | Should -BeLike '/cdn/*'
        $cdnRequests[0].authorized | Should -BeFalse
    }

    It 'a bearer token (user name bearer) and the factory''s .sha256 give HashSource factory-sha256, kept by a cache hit' {
        Set-Login "bearer=$Token"
        Set-Checksums Sha256
        $credential = New-Credential bearer $Token
        $a = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Format raw.xz -FactoryUrl $Factory -CacheDirectory $Cache -FactoryCredential $credential
        $a.HashSource | Should -Be 'factory-sha256'
        (Get-Content -Raw -LiteralPath "$($a.Path).meta.json" | ConvertFrom-Json).hash_source | Should -Be 'factory-sha256'
        (Get-FactoryLog).checksumGets | Should -Be 1
        $hit = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Format raw.xz -FactoryUrl $Factory -CacheDirectory $Cache
        $hit.FromCache | Should -BeTrue
        $hit.HashSource | Should -Be 'factory-sha256'
    }

    It 'a refused credential is FactoryAuthenticationFailed naming -FactoryCredential and the user, never the password' {
        Set-Login 'basic=alice:the-right-one-123'
        $verbose = Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform metal -FactoryUrl $Factory -CacheDirectory $Cache `
            -FactoryCredential (New-Credential alice $Password) -ErrorVariable failed -ErrorAction SilentlyContinue -Verbose 4>&1 | Out-String
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'FactoryAuthenticationFailed,*'
        $failed[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $failed[0].Exception.Message | Should -Match '-FactoryCredential'
        $failed[0].Exception.Message | Should -Match 'user alice'
        $basic = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("alice:$Password"))
        foreach ($text in @($failed[0].Exception.ToString(), $verbose, ($failed[0] | Out-String))) {
            $text | Should -Not -Match ([regex]::Escape($Password))
            $text | Should -Not -Match ([regex]::Escape($basic))
        }
        @(Get-ChildItem -LiteralPath $Cache -Recurse -File -ErrorAction SilentlyContinue) | Should -HaveCount 0
    }

    It 'without a credential a login factory still answers Http401' {
        Set-Login "bearer=$Token"
        Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform metal -FactoryUrl $Factory -CacheDirectory $Cache `
            -ErrorVariable failed -ErrorAction SilentlyContinue | Out-Null
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'Http401,*'
    }

    It 'a wrong factory checksum is FactoryChecksumMismatch and leaves no file' -ForEach @(
        @{ Mode = 'WrongSha256' }, @{ Mode = 'WrongSha512' }
    ) {
        Set-Checksums $Mode
        Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -Platform metal -FactoryUrl $Factory -CacheDirectory $Cache `
            -ErrorVariable failed -ErrorAction SilentlyContinue | Out-Null
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'FactoryChecksumMismatch,*'
        $failed[0].CategoryInfo.Category | Should -Be 'InvalidData'
        @(Get-ChildItem -LiteralPath $Cache -Recurse -File -ErrorAction SilentlyContinue) | Should -HaveCount 0
    }

    It 'Resolve-TalosVersion, Get-TalosExtension and New-TalosSchematic take -FactoryCredential' {
        Set-Login "bearer=$Token"
        $credential = New-Credential Bearer $Token
        (Resolve-TalosVersion -Version v1.11.5 -FactoryUrl $Factory -CacheDirectory $Cache -CacheTtl 0 -FactoryCredential $credential).Version | Should -Be 'v1.11.5'
        @(Get-TalosExtension -Version v1.11.5 -Name qemu* -FactoryUrl $Factory -FactoryCredential $credential).Name | Should -Be 'siderolabs/qemu-guest-agent'
        (New-TalosSchematic -KernelArg auth=1 -FactoryUrl $Factory -FactoryCredential $credential).Source | Should -Be 'Factory'
        @((Get-FactoryLog).requests | Where-Object { -not $_.authorized }) | Should -HaveCount 0
        Get-TalosExtension -Version v1.11.5 -FactoryUrl $Factory -ErrorVariable failed -ErrorAction SilentlyContinue | Out-Null
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'Http401,*'
    }

    It 'a credential that cannot be sent is a terminating FactoryCredentialInvalid' {
        { Save-TalosImage -SchematicId $Schematic -Version v1.11.5 -FactoryUrl $Factory -CacheDirectory $Cache -FactoryCredential (New-Credential 'a:b' $Password) } |
            Should -Throw -ErrorId 'FactoryCredentialInvalid,TalosImage.Cmdlets.SaveTalosImageCommand'
        (Get-FactoryLog).requests.Count | Should -Be 0
    }

    It 'Invoke-TalosOrder reads the token from the variable defaults.factory_auth names, and -FactoryCredential wins' {
        $folder = New-TalosTestFolder
        Push-Location $folder
        try {
            @"
defaults:
  cache_dir: ./cache
  factory_url: $Factory
  version_cache_ttl: 0
  factory_auth:
    bearer_token_env: PESTER_FACTORY_TOKEN
manifest:
  dir: ./manifests
"@ | Set-Content -LiteralPath config.yaml
            @"
orders:
  - orderid: LOGIN-1
    customer: Pester
    positions:
      - name: iso
        product: talos
        platform: metal
        version: v1.11.5
        customization: {}
"@ | Set-Content -LiteralPath orders.yaml
            Set-Login "bearer=$Token"
            Set-Checksums Sha512
            $env:PESTER_FACTORY_TOKEN = $Token
            $result = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -ErrorVariable failures
            $failures | Should -HaveCount 0
            $result.Status | Should -Be 'Succeeded'
            $manifest = Get-Content -Raw -LiteralPath (Get-ChildItem ./manifests -File | Select-Object -First 1).FullName
            $manifest | Should -Match 'hash_source: factory-sha512'
            $manifest | Should -Not -Match ([regex]::Escape($Token))

            $env:PESTER_FACTORY_TOKEN = 'a-wrong-token-0000000000'
            Remove-Item -LiteralPath ./cache -Recurse -Force
            $result = Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml -FactoryCredential (New-Credential bearer $Token) -ErrorVariable failures
            $failures | Should -HaveCount 0
            $result.Status | Should -Be 'Succeeded'

            Remove-Item Env:PESTER_FACTORY_TOKEN
            { Invoke-TalosOrder -Config ./config.yaml -Orders ./orders.yaml } | Should -Throw -ErrorId 'FactoryCredentialMissing,TalosImage.Cmdlets.InvokeTalosOrderCommand'
        }
        finally {
            Remove-Item Env:PESTER_FACTORY_TOKEN -ErrorAction SilentlyContinue
            Pop-Location
            Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'Get-Help documents -FactoryCredential on <Name>' -ForEach @(
        @{ Name = 'Save-TalosImage' }, @{ Name = 'Invoke-TalosOrder' }, @{ Name = 'New-TalosSchematic' }, @{ Name = 'Get-TalosExtension' }, @{ Name = 'Resolve-TalosVersion' }
    ) {
        (Get-Help $Name -Parameter FactoryCredential | Out-String) | Should -Match 'bearer'
    }
}
