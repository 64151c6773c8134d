# The PowerShell Gallery package, made and consumed as a user's PSResourceGet does it: Publish-PSResource of a copy of
# out/TalosImage to a folder repository, then Save-PSResource from there and the saved copy imported in a fresh pwsh.
# Also the manifest itself: Test-ModuleManifest, and no duplicate tag.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1) -Force
    Import-TalosImageUnderTest
    . (Join-Path $PSScriptRoot Module.Helpers.ps1)
    Add-Type -AssemblyName System.IO.Compression.FileSystem

    $script:ModulePath = Get-TalosImageUnderTestPath
    $script:ModuleDir = Split-Path $ModulePath
    $script:Manifest = Import-PowerShellDataFile $ModulePath
    $script:Prerelease = $Manifest.PrivateData.PSData.Prerelease
    $script:PackageVersion = if ($Prerelease) { "$($Manifest.ModuleVersion)-$Prerelease" } else { $Manifest.ModuleVersion }

    $script:Work = New-TalosTestFolder
    $script:RepoDir = New-Item -ItemType Directory (Join-Path $Work 'repository') | ForEach-Object FullName
    $script:SaveDir = New-Item -ItemType Directory (Join-Path $Work 'saved') | ForEach-Object FullName
    # Publish-PSResource wants the module folder named as the module.
    $copyParent = New-Item -ItemType Directory (Join-Path $Work 'copy') | ForEach-Object FullName
    Copy-Item $ModuleDir (Join-Path $copyParent 'TalosImage') -Recurse
    $script:CopyDir = Join-Path $copyParent 'TalosImage'

    $script:Repository = "TalosImagePester-$([guid]::NewGuid().ToString('N').Substring(0, 10))"
    Register-PSResourceRepository -Name $Repository -Uri $RepoDir -Trusted
    $script:Registered = $true
    Publish-PSResource -Path $CopyDir -Repository $Repository -ErrorAction Stop
    $script:Packages = @(Get-ChildItem -LiteralPath $RepoDir -Filter *.nupkg)
    $script:Entries = @()
    $script:Nuspec = $null
    if ($Packages.Count -eq 1) {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Packages[0].FullName)
        try {
            $script:Entries = @($zip.Entries | ForEach-Object FullName)
            $reader = [System.IO.StreamReader]::new($zip.GetEntry('TalosImage.nuspec').Open())
            try { $script:Nuspec = [xml]$reader.ReadToEnd() } finally { $reader.Dispose() }
        }
        finally {
            $zip.Dispose()
        }
    }

    # And back, as a user installs it (Save-PSResource: the same files Install-PSResource puts on PSModulePath).
    Save-PSResource -Name TalosImage -Repository $Repository -Path $SaveDir -TrustRepository -Prerelease -ErrorAction Stop
    $script:SavedManifest = Join-Path $SaveDir "TalosImage/$($Manifest.ModuleVersion)/TalosImage.psd1"
}

AfterAll {
    if ($script:Registered) { Unregister-PSResourceRepository -Name $Repository }
    if ($script:Work) { Remove-Item -Recurse -Force $script:Work -ErrorAction SilentlyContinue }
}

Describe 'Publish-PSResource to a folder repository' {
    It 'writes one package TalosImage.<ModuleVersion>-<Prerelease>.nupkg' {
        $Prerelease | Should -Not -BeNullOrEmpty -Because 'the manifest marks 0.1.0 a preview until CHANGELOG.md dates it'
        $Packages.Name | Should -Be @("TalosImage.$PackageVersion.nupkg")
        $Nuspec.package.metadata.id | Should -Be 'TalosImage'
        $Nuspec.package.metadata.version | Should -Be $PackageVersion
    }

    It 'packs the documents, the manifest, the root module, the cmdlets and the en-US help' -ForEach @(
        'README.md', 'LICENSE', 'CHANGELOG.md', 'TalosImage.psd1', 'TalosImage.psm1', 'TalosImage.Format.ps1xml',
        'bin/TalosImage.Cmdlets.dll', 'bin/TalosImage.Core.dll', 'bin/TalosImage.Models.dll', 'bin/TalosImage.Loader.dll',
        'en-US/TalosImage.Cmdlets.dll-Help.xml', 'en-US/about_TalosImage.help.txt',
        'schemas/talos-config.schema.json', 'schemas/talos-orders.schema.json'
    ) {
        $Entries | Should -Contain $_
    }

    It 'packs every file of the built module, and nothing of the build besides' {
        $files = @(Get-ChildItem -LiteralPath $ModuleDir -Recurse -File | ForEach-Object { [System.IO.Path]::GetRelativePath($ModuleDir, $_.FullName).Replace('\', '/') } | Sort-Object)
        $files.Count | Should -BeGreaterThan 10
        # NuGet's own parts of a package: _rels, [Content_Types].xml, package/services, the nuspec.
        $content = @($Entries | Where-Object { $_ -notmatch '^(_rels/|package/|\[Content_Types\]\.xml$|TalosImage\.nuspec$)' } | Sort-Object)
        $content | Should -Be $files
    }

    It 'carries the manifest''s tags once each into the package' {
        $tags = @($Nuspec.package.metadata.tags -split '\s+' | Where-Object { $_ })
        foreach ($tag in $Manifest.PrivateData.PSData.Tags) { $tags | Should -Contain $tag }
        @($tags | Group-Object | Where-Object Count -GT 1) | Should -BeNullOrEmpty
    }

    It 'is found in the repository as the prerelease' {
        $found = @(Find-PSResource -Name TalosImage -Repository $Repository -Prerelease)
        $found.Count | Should -Be 1
        "$($found[0].Version)" | Should -Be $Manifest.ModuleVersion
        $found[0].Prerelease | Should -Be $Prerelease
        # Without -Prerelease there is no release to find yet.
        @(Find-PSResource -Name TalosImage -Repository $Repository -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}

Describe 'Save-PSResource from the repository' {
    It 'saves the module under TalosImage/<ModuleVersion>' {
        Test-Path -LiteralPath $SavedManifest | Should -BeTrue
        foreach ($f in 'TalosImage.psm1', 'bin/TalosImage.Cmdlets.dll', 'en-US/TalosImage.Cmdlets.dll-Help.xml') {
            Test-Path -LiteralPath (Join-Path (Split-Path $SavedManifest) $f) | Should -BeTrue -Because "$f is saved"
        }
        (Get-FileHash (Join-Path (Split-Path $SavedManifest) 'bin/TalosImage.Cmdlets.dll')).Hash | Should -Be (Get-FileHash (Join-Path $ModuleDir 'bin/TalosImage.Cmdlets.dll')).Hash
    }

    It 'imports in a fresh pwsh and runs its cmdlets' {
        $empty = New-Item -ItemType Directory (Join-Path $Work 'empty-cache') | ForEach-Object FullName
        $r = Invoke-TalosChildPwsh -WorkingDirectory $Work -Variable @{ Saved = $SavedManifest; Empty = $empty } -Script @'
Import-Module $Saved
$v = Resolve-TalosVersion v1.11.5 -Offline -CacheDirectory $Empty -WarningAction SilentlyContinue
Save-Result ([ordered]@{
    ModulePath = (Get-Module TalosImage).Path
    Version    = "$((Get-Module TalosImage).Version)"
    Commands   = @(Get-Command -Module TalosImage | ForEach-Object Name | Sort-Object)
    Cmdlets    = (Get-Command Resolve-TalosVersion).ImplementingType.Assembly.Location
    Resolved   = $v.Version
    Type       = $v.GetType().FullName
    Cache      = @(Get-TalosCache -CacheDirectory $Empty).Count
})
'@
        $r.ExitCode | Should -Be 0 -Because $r.Text
        $r.Error | Should -BeNullOrEmpty
        $savedDir = Split-Path $SavedManifest
        $r.Result.ModulePath | Should -Be (Join-Path $savedDir 'TalosImage.psm1')
        $r.Result.Version | Should -Be $Manifest.ModuleVersion
        $r.Result.Commands | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
        $r.Result.Cmdlets | Should -Be (Join-Path $savedDir 'bin/TalosImage.Cmdlets.dll')
        $r.Result.Resolved | Should -Be 'v1.11.5'
        $r.Result.Type | Should -Be 'TalosImage.TalosVersion'
        $r.Result.Cache | Should -Be 0
    }
}

Describe 'The JSON Schemas of config.yaml and orders.yaml' {
    It 'ships <_> in schemas/, as committed, parsing as a draft 2020-12 schema, built and as saved' -ForEach @('talos-config.schema.json', 'talos-orders.schema.json') {
        $committed = Join-Path $PSScriptRoot "../../schemas/$_"
        foreach ($dir in $ModuleDir, (Split-Path $SavedManifest)) {
            $path = Join-Path $dir "schemas/$_"
            Test-Path -LiteralPath $path | Should -BeTrue -Because "$path is shipped"
            (Get-FileHash $path).Hash | Should -Be (Get-FileHash $committed).Hash
            $schema = Get-Content -Raw -LiteralPath $path | ConvertFrom-Json -AsHashtable
            $schema['$schema'] | Should -Be 'https://json-schema.org/draft/2020-12/schema'
            $schema['$id'] | Should -BeLike 'urn:talosimage:schema:*'
        }
    }

    It 'is where docs/CONFIGURATION.md says an installed module has it: (Get-Module TalosImage).ModuleBase/schemas' {
        $base = (Get-Module TalosImage).ModuleBase
        $base | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $base 'schemas/talos-orders.schema.json') | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $base 'schemas/talos-config.schema.json') | Should -BeTrue
    }
}

Describe 'The module manifest' {
    It 'passes Test-ModuleManifest, built and as saved from the package' {
        foreach ($path in $ModulePath, $SavedManifest) {
            $info = Test-ModuleManifest -Path $path -ErrorAction Stop
            $info.Name | Should -Be 'TalosImage'
            "$($info.Version)" | Should -Be $Manifest.ModuleVersion
            $info.PrivateData.PSData.Prerelease | Should -Be $Prerelease
            @($info.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
        }
    }

    It 'has no duplicate tag (compared as the Gallery does, ignoring case)' {
        $tags = @($Manifest.PrivateData.PSData.Tags)
        $tags.Count | Should -BeGreaterThan 0
        @($tags | Group-Object { $_.ToLowerInvariant() } | Where-Object Count -GT 1 | ForEach-Object Name) | Should -BeNullOrEmpty
    }
}
