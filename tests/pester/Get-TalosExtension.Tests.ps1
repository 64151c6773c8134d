# Pester 5. No Image Factory stand-in is available to Pester, so these tests keep to parameter validation and errors
# raised before any request; listing and filtering are covered by the xunit tests (tests/unit/Factory) with a loopback fake.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest
    $script:NoServer = 'http://127.0.0.1:9'
}

Describe 'Get-TalosExtension' {
    It 'declares -Version mandatory and bindable from Resolve-TalosVersion output' {
        $p = (Get-Command Get-TalosExtension).Parameters['Version']
        $p.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -Contain $true
        $p.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipelineByPropertyName | Should -Contain $true
        (Get-Command Get-TalosExtension).OutputType.Name | Should -Contain 'TalosImage.TalosExtension'
    }

    It 'rejects a version that is not a Talos version before asking the factory' {
        { Get-TalosExtension -Version latest -FactoryUrl $NoServer -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidVersion,TalosImage.Cmdlets.GetTalosExtensionCommand'
    }

    It 'rejects a factory URL that is not http(s)' {
        { Get-TalosExtension -Version v1.11.5 -FactoryUrl 'ftp://127.0.0.1/' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidFactoryUrl,TalosImage.Cmdlets.GetTalosExtensionCommand'
    }

    It 'rejects an empty version' {
        { Get-TalosExtension -Version '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,TalosImage.Cmdlets.GetTalosExtensionCommand'
    }
}
