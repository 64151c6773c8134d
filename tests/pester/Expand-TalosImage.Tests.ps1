# Pester 5 tests of Expand-TalosImage (run by build.ps1 where pwsh and Pester are installed).
# Inputs are made with the real xz, zstd and gzip programs; the tests are skipped where they are missing.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest

    function New-TestImage([string] $Folder) {
        # 3 MiB: 256 KiB of random bytes, zeros, 64 KiB of text, zeros to the end
        $bytes = [byte[]]::new(3MB)
        $random = [System.Random]::new(42)
        $random.NextBytes($bytes)
        [System.Array]::Clear($bytes, 256KB, $bytes.Length - 256KB)
        $text = [System.Text.Encoding]::ASCII.GetBytes(('talos kernel initramfs ' * 3000))
        [System.Array]::Copy($text, 0, $bytes, 1MB, [Math]::Min($text.Length, 64KB))
        $path = Join-Path $Folder 'disk.raw'
        [System.IO.File]::WriteAllBytes($path, $bytes)
        $path
    }

    # xz writes <image>.xz beside the image (-k keeps it); no byte pipes through PowerShell.
    function New-XzFile([string] $Image, [string] $Name, [string[]] $Options = @('-0')) {
        & xz @Options -k -f $Image
        $target = Join-Path (Split-Path $Image) $Name
        Move-Item -LiteralPath "$Image.xz" -Destination $target -Force
        $target
    }

    function Get-Sha256([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }

    $script:HaveXz = [bool](Get-Command xz -ErrorAction SilentlyContinue)
    $script:HaveZstd = [bool](Get-Command zstd -ErrorAction SilentlyContinue)
}

Describe 'Expand-TalosImage' {
    BeforeEach {
        $script:Folder = New-TalosTestFolder
        $script:Image = New-TestImage $script:Folder
        $script:ImageSha = Get-Sha256 $script:Image
    }

    AfterEach {
        Remove-Item -LiteralPath $script:Folder -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'expands a raw.xz given by -Path beside it and emits a TalosArtifact' -Skip:(-not $script:HaveXz) {
        $xz = New-XzFile $script:Image 'nocloud-amd64.raw.xz' @('-0', '-T2', '--block-size=262144')
        $result = Expand-TalosImage -Path $xz
        $result | Should -BeOfType ([TalosImage.TalosArtifact])
        $result.Path | Should -Be (Join-Path $script:Folder 'nocloud-amd64.raw')
        $result.Sha256 | Should -Be $script:ImageSha
        $result.Size | Should -Be 3MB
        $result.Kind | Should -Be 'Expanded'
        $result.Format | Should -Be 'raw'
        $result.FromCache | Should -BeFalse
        Get-Sha256 $result.Path | Should -Be $script:ImageSha
        Test-Path -LiteralPath "$($result.Path).meta.json" | Should -BeTrue
        Test-Path -LiteralPath "$($result.Path).part" | Should -BeFalse
    }

    It 'skips a verified expansion on the second run and redoes it with -Force' -Skip:(-not $script:HaveZstd) {
        $zst = Join-Path $script:Folder 'metal-amd64.raw.zst'
        & zstd -q -3 $script:Image -o $zst
        (Expand-TalosImage -Path $zst).FromCache | Should -BeFalse
        (Expand-TalosImage -Path $zst).FromCache | Should -BeTrue
        (Expand-TalosImage -Path $zst -Force).FromCache | Should -BeFalse
    }

    It 'takes TalosArtifact objects from the pipeline and honours -Destination' {
        $gz = Join-Path $script:Folder 'digital-ocean-amd64.raw.gz'
        $in = [System.IO.File]::OpenRead($script:Image)
        $out = [System.IO.Compression.GZipStream]::new([System.IO.File]::Create($gz), [System.IO.Compression.CompressionMode]::Compress)
        $in.CopyTo($out); $out.Dispose(); $in.Dispose()
        $artifact = [TalosImage.TalosArtifact]@{ Path = $gz; Format = 'raw.gz'; Version = 'v1.11.5'; Platform = 'digital-ocean'; Architecture = 'amd64' }
        $dest = Join-Path $script:Folder 'out/do.raw'
        New-Item -ItemType Directory -Path (Split-Path $dest) | Out-Null
        $result = $artifact | Expand-TalosImage -Destination $dest
        $result.Path | Should -Be $dest
        $result.Version | Should -Be 'v1.11.5'
        $result.Platform | Should -Be 'digital-ocean'
        Get-Sha256 $dest | Should -Be $script:ImageSha
    }

    It 'binds files from Get-ChildItem by property name' -Skip:(-not $script:HaveXz) {
        New-XzFile $script:Image 'aws-amd64.raw.xz' | Out-Null
        $result = Get-ChildItem -LiteralPath $script:Folder -Filter '*.raw.xz' | Expand-TalosImage
        $result.Asset | Should -Be 'aws-amd64.raw'
    }

    It 'writes nothing under -WhatIf' -Skip:(-not $script:HaveXz) {
        $xz = New-XzFile $script:Image 'nocloud-amd64.raw.xz'
        Expand-TalosImage -Path $xz -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $script:Folder 'nocloud-amd64.raw') | Should -BeFalse
    }

    It 'fails with CorruptImage on a truncated file and leaves no file' -Skip:(-not $script:HaveXz) {
        $xz = New-XzFile $script:Image 'nocloud-amd64.raw.xz'
        $bytes = [System.IO.File]::ReadAllBytes($xz)
        [System.IO.File]::WriteAllBytes($xz, $bytes[0..($bytes.Length / 2)])
        { Expand-TalosImage -Path $xz -ErrorAction Stop } | Should -Throw -ErrorId 'CorruptImage*'
        Test-Path -LiteralPath (Join-Path $script:Folder 'nocloud-amd64.raw') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $script:Folder 'nocloud-amd64.raw.part') | Should -BeFalse
    }

    It 'refuses an uncompressed image with NotCompressed' {
        $iso = Join-Path $script:Folder 'metal-amd64.iso'
        Set-Content -LiteralPath $iso -Value 'not a disk'
        { Expand-TalosImage -Path $iso -ErrorAction Stop } | Should -Throw -ErrorId 'NotCompressed*'
    }
}
