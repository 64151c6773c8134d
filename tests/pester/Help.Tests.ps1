# Help as Get-Help shows it from the built module: every parameter's "Default value" is the one the cmdlet class starts
# with, and every cmdlet's full help has a synopsis, two examples and the ERRORS list of its page (docs/help).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    $commands = @(Get-Command -Module TalosImage -CommandType Cmdlet | Sort-Object Name)
    $script:Cmdlets = @($commands | ForEach-Object { @{ Name = $_.Name } })
    $script:Parameters = @(foreach ($command in $commands) {
            foreach ($name in @($command.Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object)) {
                @{ Cmdlet = $command.Name; Parameter = $name }
            }
        })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest

    # A property value as help should show it, or $null for "no value" (null, empty, an empty list, a switch not set).
    function ConvertTo-DefaultText($Value) {
        if ($null -eq $Value) { return $null }
        if ($Value -is [System.Management.Automation.SwitchParameter]) { if ($Value.IsPresent) { return 'True' } else { return $null } }
        if ($Value -is [bool]) { if ($Value) { return 'True' } else { return $null } }
        if ($Value -is [string]) { if ($Value.Length -eq 0) { return $null } else { return $Value } }
        if ($Value -is [enum] -or $Value -is [timespan]) { return $Value.ToString() }
        if ($Value -is [System.Collections.IEnumerable]) {
            $items = @($Value | ForEach-Object { ConvertTo-DefaultText $_ } | Where-Object { $null -ne $_ })
            if ($items.Count -eq 0) { return $null } else { return $items -join ', ' }
        }
        if ($Value -is [System.IFormattable]) { return $Value.ToString($null, [cultureinfo]::InvariantCulture) }
        $Value.ToString()
    }

    # The cmdlet class's own start value of a parameter: the types live in the module's load context, so the instance is
    # made from the command's ImplementingType, not from a type name.
    function Get-ParameterStartValue([string] $Cmdlet, [string] $Parameter) {
        $instance = [Activator]::CreateInstance((Get-Command $Cmdlet).ImplementingType)
        try { , $instance.$Parameter } finally { if ($instance -is [System.IDisposable]) { $instance.Dispose() } }
    }

    # The ERRORS lines of a page: "- `ErrorId` (Category): when it happens".
    function Get-PageErrorId([string] $Cmdlet) {
        $page = Get-Content -Raw (Join-Path $PSScriptRoot "../../docs/help/$Cmdlet.md")
        [regex]::Matches($page, '(?m)^- `(?<id>[^`]+)` \((?<category>[^()]+)\): ') | ForEach-Object { $_.Groups['id'].Value }
    }
}

Describe 'Parameter help' {
    It '<Cmdlet> -<Parameter> shows the default the cmdlet starts with' -ForEach $Parameters {
        $value = Get-ParameterStartValue $Cmdlet $Parameter
        $expected = ConvertTo-DefaultText $value
        $shown = ([string](Get-Help $Cmdlet -Parameter $Parameter).defaultValue -replace '[''"`]', '').Trim()
        if ($null -ne $expected) {
            # Should -Be compares strings case-insensitively.
            $shown | Should -Be $expected -Because "$Cmdlet starts -$Parameter at '$expected'"
        }
        elseif ($value -is [System.Management.Automation.SwitchParameter]) {
            $shown | Should -BeIn @('None', 'False') -Because "the switch -$Parameter is not set unless given"
        }
        else {
            # No value in the class: None, or a phrase for a default computed at run time (TALOS_FACTORY_URL, else ...),
            # never a bare literal, which would say the parameter starts with a value it does not have.
            $shown | Should -Match '^None\b|\s' -Because "$Cmdlet -$Parameter starts without a value, so its help says None or how the default is found, not '$shown'"
        }
    }
}

Describe 'Full help' {
    It '<Name> has a synopsis, two examples and the ERRORS list of its page' -ForEach $Cmdlets {
        $help = Get-Help $Name -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '^\s*\w+-\w+\s*\['   # not the generated syntax stub
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2

        $text = $help | Out-String -Width 4096
        $text | Should -Match '(?m)^\s*ERRORS\s*$'
        $errors = @($help.alertSet | Where-Object { $_.PSObject.Properties['title'] -and $_.title -eq 'ERRORS' })
        $errors.Count | Should -Be 1
        $paragraphs = @($errors[0].alert | ForEach-Object { ([string]$_.Text).Trim() } | Where-Object { $_ })
        $paragraphs.Count | Should -BeGreaterThan 0 -Because 'the ERRORS section lists the ErrorIds, or says that there are none'
        $lines = @($paragraphs | Where-Object { $_ -match '^- ' })
        $shown = @(foreach ($line in $lines) {
                $m = [regex]::Match($line, '^- (?<id>\S+) \((?<category>\w+)[^()]*\): \S')
                $m.Success | Should -BeTrue -Because "'$line' is '- ErrorId (Category): when it happens'"
                $id, $category = $m.Groups['id'].Value, $m.Groups['category'].Value
                [System.Enum]::IsDefined([System.Management.Automation.ErrorCategory], $category) |
                    Should -BeTrue -Because "'$category' in '$line' is an ErrorCategory"
                $text | Should -Match ([regex]::Escape($line))
                $id
            })
        # The same ids in the same order as the page (Get-TalosCache lists none).
        $shown -join ', ' | Should -Be (@(Get-PageErrorId $Name) -join ', ')
    }
}
