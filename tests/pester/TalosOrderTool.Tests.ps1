# talos-order's .NET tool packages, made and installed as a user does it: dotnet pack of src/TalosImage.Cli into a
# folder, then dotnet tool install from that folder into a tool path, and the installed command run.
# The packages are RID-specific (.NET 10): a pointer package, TalosImage.Cli.linux-x64 compiled ReadyToRun, and
# TalosImage.Cli.any, the portable IL build every other platform gets.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    $script:Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Version = ([xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))).Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
    $script:Work = New-TalosTestFolder
    $script:PackageDir = Join-Path $Work 'packages'
    $packOutput = & dotnet pack (Join-Path $Root 'src/TalosImage.Cli') -c Release -o $PackageDir -nologo 2>&1
    $script:PackExit = $LASTEXITCODE
    $script:PackOutput = $packOutput -join "`n"

    # Whether an assembly carries ReadyToRun code: its CLI header points at a managed native header.
    function script:Test-ReadyToRun([string] $Path) {
        $stream = [IO.File]::OpenRead($Path)
        try {
            $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
            $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0
        }
        finally {
            $stream.Dispose()
        }
    }

    function script:Expand-Package([string] $Name) {
        $dir = Join-Path $Work "unpacked-$Name"
        [IO.Compression.ZipFile]::ExtractToDirectory((Join-Path $PackageDir "$Name.$Version.nupkg"), $dir)
        $dir
    }
}

AfterAll {
    if ($script:Work) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'dotnet pack src/TalosImage.Cli' {
    It 'makes the pointer package, the ReadyToRun linux-x64 package and the portable one' {
        $PackExit | Should -Be 0 -Because $PackOutput
        @(Get-ChildItem $PackageDir -Filter *.nupkg | ForEach-Object Name | Sort-Object) |
            Should -Be @("TalosImage.Cli.$Version.nupkg", "TalosImage.Cli.any.$Version.nupkg", "TalosImage.Cli.linux-x64.$Version.nupkg")
        $pointer = Expand-Package 'TalosImage.Cli'
        $settings = [xml](Get-Content -Raw (Join-Path $pointer 'tools/any/any/DotnetToolSettings.xml'))
        @($settings.DotNetCliTool.RuntimeIdentifierPackages.RuntimeIdentifierPackage | ForEach-Object RuntimeIdentifier | Sort-Object) |
            Should -Be @('any', 'linux-x64')
        # The pointer holds no program of its own.
        @(Get-ChildItem -Recurse $pointer -Filter *.dll).Count | Should -Be 0
    }

    It 'compiles talos-order and the engine ahead of time for linux-x64 only' {
        $linux = Join-Path (Expand-Package 'TalosImage.Cli.linux-x64') 'tools/net10.0/linux-x64'
        $any = Join-Path (Expand-Package 'TalosImage.Cli.any') 'tools/net10.0/any'
        foreach ($dll in 'talos-order.dll', 'TalosImage.Core.dll') {
            Test-ReadyToRun (Join-Path $linux $dll) | Should -BeTrue -Because "$dll of the linux-x64 package"
            Test-ReadyToRun (Join-Path $any $dll) | Should -BeFalse -Because "$dll of the portable package"
        }
        # Both are framework-dependent (the .NET 10 runtime), and both carry the JSON Schemas.
        foreach ($dir in $linux, $any) {
            (Get-Content -Raw (Join-Path $dir 'talos-order.runtimeconfig.json') | ConvertFrom-Json).runtimeOptions.framework.name | Should -Be 'Microsoft.NETCore.App'
            Join-Path $dir 'schemas/talos-orders.schema.json' | Should -Exist
        }
    }
}

Describe 'dotnet tool install from the packages' {
    BeforeAll {
        $script:ToolPath = Join-Path $Work 'tools'
        $installOutput = & dotnet tool install TalosImage.Cli --version $Version --tool-path $ToolPath --add-source $PackageDir 2>&1
        $script:InstallExit = $LASTEXITCODE
        $script:InstallOutput = $installOutput -join "`n"
    }

    It 'installs the build for this platform and runs it' {
        $InstallExit | Should -Be 0 -Because $InstallOutput
        $rid = if ([Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'X64' -and $IsLinux) { 'linux-x64' } else { 'any' }
        Join-Path $ToolPath ".store/talosimage.cli/$Version/talosimage.cli.$rid" | Should -Exist
        $help = & (Join-Path $ToolPath 'talos-order') --help 2>&1
        $LASTEXITCODE | Should -Be 0
        ($help -join "`n") | Should -Match '^usage: talos-order --config FILE --orders FILE'
    }

    It 'plans the examples offline, as the README does' {
        $out = & (Join-Path $ToolPath 'talos-order') --config (Join-Path $Root 'examples/config.yaml') --orders (Join-Path $Root 'examples/orders.yaml') --dry-run --offline 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        ($out -join "`n") | Should -Match 'manifest that would be written to'
    }
}
