# The module as a whole: exports, help, completion, re-import, and loading next to another YamlDotNet.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:Expected = 'Clear-TalosCache', 'Expand-TalosImage', 'Export-TalosManifest', 'Get-TalosCache', 'Get-TalosExtension',
        'Invoke-TalosOrder', 'New-TalosSchematic', 'Publish-TalosImage', 'Resolve-TalosVersion', 'Save-TalosImage'
}

Describe 'TalosImage module' {
    It 'exports exactly its cmdlets' {
        (Get-Command -Module TalosImage).Name | Sort-Object | Should -Be ($Expected | Sort-Object)
    }

    It 'keeps its cmdlets after Import-Module -Force' {
        Import-TalosImageUnderTest
        (Get-Command -Module TalosImage).Count | Should -Be $Expected.Count
        { Invoke-TalosOrder -Config (Join-Path $PSScriptRoot '../../examples/config.yaml') -Orders (Join-Path $PSScriptRoot '../../examples/orders.yaml') -Offline -WhatIf -WarningAction SilentlyContinue } | Should -Not -Throw
    }

    It 'has help with a synopsis and examples for every cmdlet' -ForEach @($Expected | ForEach-Object { @{ Name = $_ } }) {
        $help = Get-Help $Name -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\w+-\w+\s*\['   # not the generated syntax stub
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
    }

    It 'has about_TalosImage' {
        Get-Help about_TalosImage | Out-String | Should -Match 'CACHE LAYOUT'
    }

    It 'completes -Platform and -Format' {
        $line = 'Save-TalosImage -Platform noc'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'nocloud'
        $line = 'Save-TalosImage -Format raw.z'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'raw.zst'
    }

    It 'loads the engine into its own load context on PowerShell 7' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        $engine = [TalosImage.TalosArtifact].Assembly
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).Name | Should -Be 'TalosImage'
        $engine.Location | Should -Match '[\\/]dependencies[\\/]TalosImage\.Core\.dll$'
    }

    It 'works next to a module that loaded another YamlDotNet' -Skip:(-not (Get-Module -ListAvailable powershell-yaml)) {
        Import-Module powershell-yaml
        ConvertFrom-Yaml "a: 1" | Should -Not -BeNullOrEmpty
        $r = Invoke-TalosOrder -Config (Join-Path $PSScriptRoot '../../examples/config.yaml') -Orders (Join-Path $PSScriptRoot '../../examples/orders.yaml') -Offline -WhatIf -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Planned'
    }
}
