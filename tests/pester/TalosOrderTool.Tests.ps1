# talos-order's .NET tool packages, made and installed as a user does it: dotnet pack of src/TalosImage.Cli into a
# folder, then dotnet tool install from that folder into a tool path, and the installed command run.
# The packages are RID-specific (.NET 10): a pointer package, TalosImage.Cli.linux-x64 compiled to native code (Native
# AOT), and TalosImage.Cli.any, the portable IL build every other platform gets.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    $script:Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:Version = ([xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))).Project.PropertyGroup.Version | Where-Object { $_ } | Select-Object -First 1
    $script:Work = New-TalosTestFolder
    $script:PackageDir = Join-Path $Work 'packages'
    # As build.ps1 -Task Package: the pointer and the portable package, then the native linux-x64 one in its place
    # (a Native AOT package is packed on its own platform, with -r; this suite runs on Linux x64).
    $packOutput = & dotnet pack (Join-Path $Root 'src/TalosImage.Cli') -c Release -o $PackageDir -nologo 2>&1
    $script:PackExit = $LASTEXITCODE
    if ($PackExit -eq 0) {
        $packOutput += & dotnet pack (Join-Path $Root 'src/TalosImage.Cli') -c Release -r linux-x64 -o $PackageDir -nologo 2>&1
        $script:PackExit = $LASTEXITCODE
    }
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
    It 'makes the pointer package, the native linux-x64 package and the portable one' {
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

    It 'carries a native talos-order for linux-x64 and the IL build for the rest' {
        $any = Join-Path (Expand-Package 'TalosImage.Cli.any') 'tools/net10.0/any'
        # linux-x64: one ELF program, no assemblies to JIT, no runtime to ask for, no debug symbols (they stay in bin/).
        $program = @(Get-ChildItem -Recurse -File (Expand-Package 'TalosImage.Cli.linux-x64') -Filter 'talos-order')
        $program.Count | Should -Be 1
        $program = $program[0].FullName
        $linux = Split-Path $program
        $head = [byte[]]::new(4)
        $stream = [IO.File]::OpenRead($program)
        try { $null = $stream.Read($head, 0, 4) } finally { $stream.Dispose() }
        [Text.Encoding]::ASCII.GetString($head, 1, 3) | Should -Be 'ELF'
        $head[0] | Should -Be 0x7F
        @(Get-ChildItem -Recurse $linux -Filter *.dll).Count | Should -Be 0
        @(Get-ChildItem -Recurse $linux -Include *.dbg, *.pdb).Count | Should -Be 0
        Join-Path $linux 'talos-order.runtimeconfig.json' | Should -Not -Exist
        # any: the portable IL build, on the .NET 10 runtime.
        foreach ($dll in 'talos-order.dll', 'TalosImage.Core.dll') {
            Test-ReadyToRun (Join-Path $any $dll) | Should -BeFalse -Because "$dll of the portable package"
        }
        (Get-Content -Raw (Join-Path $any 'talos-order.runtimeconfig.json') | ConvertFrom-Json).runtimeOptions.framework.name | Should -Be 'Microsoft.NETCore.App'
        foreach ($dir in $linux, $any) {
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
