# The default views (TalosImage.Format.ps1xml): every output type's table fits an 80-column console and shows what
# recognises the object; its list shows every property. Objects are built by hand (the records' init-only setters
# take hashtable casts), so no cmdlet runs.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot TestHelpers.psm1)
    Import-TalosImageUnderTest

    # Plain text: the widths measured are the characters a console shows.
    $script:Rendering = $PSStyle.OutputRendering
    $PSStyle.OutputRendering = 'PlainText'

    $sid = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
    $sha = 'c8c1b4d5a7e0f3926b1d4e7a0c3f6b9d2e5a8c1f4b7d0e3a6c9f2b5d8e1a4c7f'
    $rawSha = '0f4e8d2c6b1a5f9e3d7c2b6a0f5e9d4c8b3a7f2e6d1c5b0a4f9e3d8c2b7a6f1e'
    $dir = "/home/user/.cache/talosimage/artifacts/$sid/v1.11.5"
    $script:SchematicId = $sid
    $script:ShortId = $sid.Substring(0, 12) + [char]0x2026
    # What the views write for 1.2: the decimal separator is the culture's.
    $script:Dec = [cultureinfo]::CurrentCulture.NumberFormat.NumberDecimalSeparator
    function script:Num([string] $text) { $text.Replace('.', $script:Dec) }

    $script:Objects = @{
        TalosVersion       = [TalosImage.TalosVersion]@{
            Version = 'v1.11.5'; Source = 'Factory'; Request = 'latest-in-minor v1.11'; IsPrerelease = $false; Minor = 'v1.11'
            FromCache = $false; PublishedAt = [DateTimeOffset]'2025-11-06T12:00:00Z'
        }
        TalosSchematic     = [TalosImage.TalosSchematic]@{
            SchematicId = $sid; Source = 'Factory'; FactoryUrl = 'https://factory.talos.dev'; Version = 'v1.11.5'
            Extensions = @('siderolabs/qemu-guest-agent', 'siderolabs/iscsi-tools'); KernelArgs = @('console=ttyS0,115200', 'net.ifnames=0')
            Overlay = $null; SecureBootCertificates = $false
            Yaml = "customization:`n  extraKernelArgs:`n    - console=ttyS0,115200`n    - net.ifnames=0`n  systemExtensions:`n    officialExtensions:`n      - siderolabs/qemu-guest-agent`n      - siderolabs/iscsi-tools`n"
        }
        TalosExtension     = [TalosImage.TalosExtension]@{
            # The longest official name.
            Name = 'siderolabs/nvidia-open-gpu-kernel-modules-production'
            Ref = 'ghcr.io/siderolabs/nvidia-open-gpu-kernel-modules-production:570.172.08-v1.11.5'
            Digest = "sha256:$sha"; Author = 'Sidero Labs'; Version = 'v1.11.5'
            Description = 'This system extension provides the NVIDIA open GPU kernel modules built against a specific Talos version.'
        }
        TalosOverlay       = [TalosImage.TalosOverlay]@{
            Name = 'rpi_generic'; Image = 'siderolabs/sbc-raspberrypi'; Ref = 'ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5'
            Digest = "sha256:$sha"; Version = 'v1.11.5'
        }
        TalosArtifact      = [TalosImage.TalosArtifact]@{
            Path = "$dir/nocloud-amd64-secureboot.raw.xz"; Url = "https://factory.talos.dev/image/$sid/v1.11.5/nocloud-amd64-secureboot.raw.xz"
            Sha256 = $sha; Size = 1288490188; SchematicId = $sid; Version = 'v1.11.5'; Platform = 'nocloud'; Architecture = 'amd64'
            Format = 'raw.xz'; SecureBoot = $true; Asset = 'nocloud-amd64-secureboot.raw.xz'
            InstallerImage = "factory.talos.dev/nocloud-installer-secureboot/${sid}:v1.11.5"; FromCache = $true; Kind = 'Downloaded'
            SourcePath = $null; DurationSeconds = 12.345; ExpandedSha256 = $rawSha
        }
        TalosPublishResult = [TalosImage.TalosPublishResult]@{
            Host = 'pve-01.example.lan'; Destination = 'local'; Status = 'Published'; BytesSent = 123456789; Duration = 4.2; Verified = $true
            Error = $null; ErrorId = $null; Transport = 'ProxmoxApi'; VolumeId = 'local:iso/nocloud-amd64-secureboot.iso'
            Path = "$dir/nocloud-amd64-secureboot.iso"; Sha256 = $sha; Size = 123456789; SchematicId = $sid; Version = 'v1.11.5'
            Asset = 'nocloud-amd64-secureboot.iso'; RemoteExpanded = $false
        }
        TalosOrderResult   = [TalosImage.TalosOrderResult]@{
            OrderId = 'EXAMPLE-0001'; Customer = 'Example Lab'; Status = 'PartiallyFailed'; Positions = 3; Succeeded = 2; Failed = 1
            Skipped = 0; Changed = $true; ManifestPath = '/var/lib/talosimage/manifests/EXAMPLE-0001.json'
            BytesDownloaded = 1412040000; BytesPushed = 987654321; Duration = 754.2; DryRun = $false
        }
        TalosVMTemplate    = [TalosImage.TalosVMTemplate]@{
            VmId = 123456789; Node = 'pve-01.example'; Name = 'talos-v1-11-5-nocloud-amd64-secureboot-376567988ad3'; Status = 'Created'
            Storage = 'local-lvm'; SourceVolumeId = 'local:import/talos-376567988ad3-v1.11.5-nocloud-amd64-secureboot.raw'; Version = 'v1.11.5'
            SchematicId = $sid; Sha256 = $rawSha; SecureBoot = $true; InstallerImage = "factory.talos.dev/nocloud-installer-secureboot/${sid}:v1.11.5"
            Family = "$sid/nocloud-amd64-secureboot"; Endpoint = 'https://pve-01.example.lan:8006'; Tags = 'talos;talosimage;v1.11.5'; Duration = 4.2
        }
        TalosCacheEntry    = [TalosImage.TalosCacheEntry]@{
            Path = "$dir/nocloud-amd64-secureboot.raw.xz"; SchematicId = $sid; Version = 'v1.11.5'; Asset = 'nocloud-amd64-secureboot.raw.xz'
            Platform = 'nocloud'; Architecture = 'amd64'; Format = 'raw.xz'; SecureBoot = $true; Size = 1288490188; Sha256 = $sha
            DownloadedAt = [DateTimeOffset]'2025-11-20T12:00:00Z'; Family = "$sid/nocloud-amd64-secureboot.raw.xz"; Kind = 'Downloaded'
            State = 'WouldRemove'
        }
        TalosPublishedImage = [TalosImage.TalosPublishedImage]@{
            Transport = 'ProxmoxApi'; Endpoint = 'https://pve-01.example.lan:8006'; Host = 'pve-01'; Storage = 'local'; Shared = $false
            Path = 'local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso'; Name = 'talos-376567988ad3-v1.11.5-nocloud-amd64.iso'; Version = 'v1.11.5'
            SchematicId = '376567988ad3'; Platform = 'nocloud'; Architecture = 'amd64'; SecureBoot = $false; Format = 'iso'
            Family = '376567988ad3/nocloud-amd64.iso'; Size = 1288490188; Sha256 = ''; UsedBy = @('pve-01/100 (VM talos-cp-1, ide2)'); State = 'InUse'
        }
    }

    function script:Lines([string] $text) { @($text -split '\r?\n' | Where-Object { $_.Trim() }) }
    function script:Table($Object, [int] $Width) { Lines ($Object | Format-Table | Out-String -Width $Width) }
    function script:List($Object, [int] $Width) { Lines ($Object | Format-List | Out-String -Width $Width) }
    function script:LocalDate([DateTimeOffset] $At, [string] $Format) { $At.ToLocalTime().ToString($Format, [cultureinfo]::InvariantCulture) }
}

AfterAll {
    $PSStyle.OutputRendering = $script:Rendering
}

Describe 'Default views' {
    BeforeDiscovery {
        # Columns: the table's header. Row: values its one row shows whole ({...}: built in BeforeAll, they depend on
        # the culture or the time zone, or are long). Cut: the last column, when its values are long enough to be cut
        # short at 120 columns. List: lines Format-List shows (at a width that does not wrap them).
        $cases = @(
            @{ Type = 'TalosVersion'; Columns = 'Version', 'Minor', 'Source', 'FromCache', 'Published', 'Request'
                Row = 'v1.11.5', 'v1.11', 'Factory', 'False', '{Published}', 'latest-in-minor v1.11'
                List = 'Version      : v1.11.5', 'PublishedAt  : {PublishedAt}', 'Request      : latest-in-minor v1.11' }
            @{ Type = 'TalosSchematic'; Columns = 'SchematicId', 'Source', 'Version', 'Extensions'
                Row = '{ShortId}', 'Factory', 'v1.11.5', 'qemu-guest-agent, iscsi-tools'
                List = 'SchematicId            : {SchematicId}', 'Extensions             : siderolabs/qemu-guest-agent', '                         siderolabs/iscsi-tools', 'KernelArgs             : console=ttyS0,115200', 'Yaml                   : customization:' }
            @{ Type = 'TalosExtension'; Columns = 'Name', 'Tag', 'Description'
                Row = 'siderolabs/nvidia-open-gpu-kernel-modules-production', '570.172.08-v1{Ellipsis}'; Cut = 'Description'
                List = 'Name        : siderolabs/nvidia-open-gpu-kernel-modules-production', 'Ref         : ghcr.io/siderolabs/nvidia-open-gpu-kernel-modules-production:570.172.08-v1.11.5' }
            @{ Type = 'TalosOverlay'; Columns = 'Name', 'Image', 'Tag'
                Row = 'rpi_generic', 'siderolabs/sbc-raspberrypi', 'v0.1.5'
                List = 'Name    : rpi_generic', 'Image   : siderolabs/sbc-raspberrypi', 'Ref     : ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5', 'Version : v1.11.5' }
            @{ Type = 'TalosArtifact'; Columns = 'Version', 'Kind', 'FromCache', 'Size', 'Asset'
                Row = 'v1.11.5', 'Downloaded', 'True', '{1.2 GiB}', 'nocloud-amd64-secureboot.raw.xz'
                List = 'Size            : {1.2 GiB} (1288490188 bytes)', 'SchematicId     : {SchematicId}', 'Path            : /home/user/.cache/talosimage/artifacts/{SchematicId}/v1.11.5/nocloud-amd64-secureboot.raw.xz', 'DurationSeconds : {12.345}' }
            @{ Type = 'TalosPublishResult'; Columns = 'Host', 'Status', 'Verified', 'Sent', 'Asset'
                Row = 'pve-01.example.lan', 'Published', 'True', '118 MiB', 'nocloud-amd64-secureboot.iso'
                List = 'BytesSent      : 118 MiB (123456789 bytes)', 'VolumeId       : local:iso/nocloud-amd64-secureboot.iso', 'Duration       : {4.2} s' }
            @{ Type = 'TalosOrderResult'; Columns = 'OrderId', 'Status', 'Succeeded', 'Failed', 'Changed', 'Customer'
                Row = 'EXAMPLE-0001', 'PartiallyFailed', ' 2 ', ' 1 ', 'True', 'Example Lab'
                List = 'BytesDownloaded : {1.3 GiB} (1412040000 bytes)', 'BytesPushed     : 942 MiB (987654321 bytes)', 'ManifestPath    : /var/lib/talosimage/manifests/EXAMPLE-0001.json' }
            @{ Type = 'TalosVMTemplate'; Columns = 'VmId', 'Node', 'Status', 'Version', 'Name'
                Row = '123456789', 'pve-01.example', 'Created', 'v1.11.5'; Cut = 'Name'
                List = 'VmId           : 123456789', 'SourceVolumeId : local:import/talos-376567988ad3-v1.11.5-nocloud-amd64-secureboot.raw', 'InstallerImage : factory.talos.dev/nocloud-installer-secureboot/{SchematicId}:v1.11.5', 'Duration       : {4.2} s' }
            @{ Type = 'TalosCacheEntry'; Columns = 'Version', 'State', 'Date', 'Size', 'Asset'
                Row = 'v1.11.5', 'WouldRemove', '{Date}', '{1.2 GiB}', 'nocloud-amd64-secureboot.raw.xz'
                List = 'Size         : {1.2 GiB} (1288490188 bytes)', 'SchematicId  : {SchematicId}', 'DownloadedAt : {DownloadedAt}', 'Family       : {SchematicId}/nocloud-amd64-secureboot.raw.xz' }
            @{ Type = 'TalosPublishedImage'; Columns = 'Version', 'State', 'Host', 'Size', 'Name'
                Row = 'v1.11.5', 'InUse', 'pve-01', '{1.2 GiB}'; Cut = 'Name'
                List = 'Size         : {1.2 GiB} (1288490188 bytes)', 'Path         : local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso', 'UsedBy       : pve-01/100 (VM talos-cp-1, ide2)' }
        )
    }

    Context '<Type>' -ForEach $cases {
        BeforeAll {
            $script:Object = $Objects[$Type]
            $values = @{
                '{ShortId}'      = $ShortId
                '{SchematicId}'  = $SchematicId
                '{Ellipsis}'     = [string][char]0x2026
                '{1.2 GiB}'      = Num '1.2 GiB'
                '{1.3 GiB}'      = Num '1.3 GiB'
                '{12.345}'       = Num '12.345'
                '{4.2}'          = Num '4.2'
                '{Published}'    = LocalDate ([DateTimeOffset]'2025-11-06T12:00:00Z') 'yyyy-MM-dd'
                '{PublishedAt}'  = LocalDate ([DateTimeOffset]'2025-11-06T12:00:00Z') 'yyyy-MM-dd HH:mm:ss zzz'
                '{Date}'         = LocalDate ([DateTimeOffset]'2025-11-20T12:00:00Z') 'yyyy-MM-dd'
                '{DownloadedAt}' = LocalDate ([DateTimeOffset]'2025-11-20T12:00:00Z') 'yyyy-MM-dd HH:mm:ss zzz'
            }
            function script:Expand([string] $text) {
                foreach ($k in $values.Keys) { $text = $text.Replace($k, $values[$k]) }
                $text
            }
            $script:RowValues = @($Row | ForEach-Object { Expand $_ })
            $script:ListValues = @($List | ForEach-Object { Expand $_ })
        }

        It 'is a <Type>' {
            $Object.GetType().FullName | Should -Be "TalosImage.$Type"
        }

        It 'fits <Width> columns with one header line, the expected columns and its key values whole' -ForEach @(
            @{ Width = 79 }, @{ Width = 80 }, @{ Width = 120 }
        ) {
            $lines = Table $Object $Width
            $lines.Count | Should -Be 3 -Because ($lines -join "`n")
            foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual $Width -Because "'$line' is wider than $Width" }
            # A label that does not fit its column wraps onto further header lines: then line 2 is not the dashes.
            $lines[1] | Should -Match '^[- ]+$' -Because ($lines -join "`n")
            -split $lines[0] | Should -Be $Columns
            foreach ($value in $RowValues) { $lines[2] | Should -BeLikeExactly "*$value*" }
            # Nothing else in the row is cut short.
            $row = $lines[2]
            if ($Cut) { $row = $row.Substring(0, $lines[0].IndexOf($Cut)) }
            foreach ($value in $RowValues) { $row = $row.Replace($value, '') }
            $row | Should -Not -Match ([char]0x2026) -Because "the row is '$($lines[2])'"
        }

        It 'uses the table for the default output' {
            ($Object | Out-String -Width 80) | Should -BeExactly ($Object | Format-Table | Out-String -Width 80)
            (Lines ($Object | Out-String -Width 80))[0] | Should -BeExactly (Table $Object 80)[0]
        }

        It 'lists every public property in Format-List, within 80 columns' {
            $lines = List $Object 80
            foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual 80 -Because "'$line' is wider than 80" }
            $labels = @($lines | Where-Object { $_ -match '^(\w+)\s+:' } | ForEach-Object { $Matches[1] })
            $properties = @($Object.GetType().GetProperties() | Where-Object { $_.GetMethod.IsPublic } | ForEach-Object Name)
            $labels | Sort-Object | Should -Be ($properties | Sort-Object)
        }

        It 'shows readable whole values in Format-List' {
            $lines = List $Object 250
            foreach ($value in $ListValues) { $lines | Should -Contain $value }
        }
    }
}

Describe 'Sizes in the tables' {
    It '<Bytes> bytes show as <Text>' -ForEach @(
        @{ Bytes = 0; Text = '0 B' }
        @{ Bytes = 999; Text = '999 B' }
        @{ Bytes = 1000; Text = '1.0 KiB' }
        @{ Bytes = 1536; Text = '1.5 KiB' }
        @{ Bytes = 10189; Text = '10 KiB' }
        @{ Bytes = 123456789; Text = '118 MiB' }
        @{ Bytes = 1072693248; Text = '1.0 GiB' }
        @{ Bytes = 1288490188; Text = '1.2 GiB' }
        @{ Bytes = 13194139533; Text = '12 GiB' }
        @{ Bytes = 1649267441664; Text = '1.5 TiB' }
    ) {
        $artifact = [TalosImage.TalosArtifact]@{ Version = 'v1.11.5'; Size = $Bytes; Asset = 'metal-amd64.iso' }
        $row = (Table $artifact 80)[2]
        $expected = Num $Text
        $expected.Length | Should -BeLessOrEqual 7
        # Size is right-aligned in its 7 columns, before Asset.
        $row | Should -BeLikeExactly ("* {0,7} metal-amd64.iso*" -f $expected)
        $list = (List $artifact 80) -match '^Size\s+:'
        $list | Should -BeExactly ($(if ($Bytes -lt 1000) { "Size            : $Bytes bytes" } else { "Size            : $expected ($Bytes bytes)" }))
    }
}
