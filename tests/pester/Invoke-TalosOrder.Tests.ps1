# Invoke-TalosOrder against talos_order.py's example files (../shared/compat) and the project's examples.
# No server is reachable from Pester: the main path is the dry run (-WhatIf, -Offline), which plans everything the
# engine would do; whole runs against loopback servers are covered by tests/unit/EndToEnd.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:Root = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:Examples = Join-Path $Root 'examples'
}

Describe 'Invoke-TalosOrder' {
    BeforeEach {
        $script:Work = New-TalosTestFolder
        Push-Location $Work
    }
    AfterEach {
        Pop-Location
        Remove-Item -Recurse -Force $Work
    }

    It 'plans the example order with -WhatIf and writes nothing' {
        $result = @(Invoke-TalosOrder -Config (Join-Path $Examples 'config.yaml') -Orders (Join-Path $Examples 'orders.yaml') -Offline -WhatIf -WarningAction SilentlyContinue)
        $result.Count | Should -Be 1
        $result[0] | Should -BeOfType TalosImage.TalosOrderResult
        $result[0].Status | Should -Be 'Planned'
        $result[0].DryRun | Should -BeTrue
        $result[0].Positions | Should -Be 3
        $result[0].Changed | Should -BeFalse
        Get-ChildItem $Work -Recurse | Should -BeNullOrEmpty
    }

    It 'plans only the orders named by -OrderId' {
        $result = Invoke-TalosOrder -Config (Join-Path $Examples 'config.yaml') -Orders (Join-Path $Examples 'orders.yaml') -OrderId EXAMPLE-0001 -Offline -WhatIf -WarningAction SilentlyContinue
        $result.OrderId | Should -Be 'EXAMPLE-0001'
    }

    It 'reports an unknown order id as an error with the ids the file has' {
        { Invoke-TalosOrder -Config (Join-Path $Examples 'config.yaml') -Orders (Join-Path $Examples 'orders.yaml') -OrderId NOPE -Offline -WhatIf -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnknownOrderId*'
    }

    It 'refuses a bad orders file with file, line and key' {
        $orders = Join-Path $Work 'orders.yaml'
        Set-Content $orders "- orderid: A`n  positions:`n    - {product: talos, customization: {}, platfrom: metal}`n"
        $err = { Invoke-TalosOrder -Config (Join-Path $Examples 'config.yaml') -Orders $orders -Offline -WhatIf -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -Match 'orders\.yaml:3:'
        $err.Exception.Message | Should -Match "did you mean 'platform'"
    }

    It 'completes -OrderId from the orders file' {
        $line = "Invoke-TalosOrder -Orders '$Examples/orders.yaml' -OrderId EX"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'EXAMPLE-0001'
    }
}
