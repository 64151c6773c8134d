# Helpers of the later-stage tests (Expand, Publish, Export-TalosManifest, Invoke-TalosOrder, Pipeline): dot-source it
# in BeforeAll after importing TestHelpers.psm1 (Invoke-TalosControl, Get-TalosFactoryImage and Get-TalosTestSha256
# are there).

# Runs $Command with a transcript (kept in $Folder) and returns its output, the error records it wrote to its output
# (redirect them with 2>&1 inside $Command: an -ErrorVariable set there would belong to the script block's own scope)
# and the transcript's text (the host's lines: "What if: ...", and every stream the command does not capture).
function Invoke-TalosTranscribed {
    param([Parameter(Mandatory)] [string] $Folder, [Parameter(Mandatory)] [scriptblock] $Command)
    $log = Join-Path $Folder ('transcript-' + [guid]::NewGuid().ToString('N') + '.txt')
    Start-Transcript -LiteralPath $log | Out-Null
    try {
        $all = @(& $Command)
    } finally {
        Stop-Transcript | Out-Null
    }
    [pscustomobject]@{
        Output = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
        Errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        Text = (Get-Content -Raw -LiteralPath $log)
        TranscriptPath = $log
    }
}

# An ssh on PATH that logs each invocation and then runs the real ssh: New-TalosSshWrapper makes it in a new folder
# under $Parent and returns that folder (put it first on PATH); Get-TalosSshCall returns the logged invocations, each as
# its array of arguments (one file per invocation, invocations run in parallel; arguments separated by \037).
function New-TalosSshWrapper([Parameter(Mandatory)] [string] $Parent) {
    $dir = Join-Path $Parent ('ssh-wrapper-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
    $log = Join-Path $dir 'log'
    New-Item -ItemType Directory -Path $log -Force | Out-Null
    $real = (Get-Command ssh -CommandType Application | Select-Object -First 1).Source
    $wrapper = @'
#!/bin/sh
f=$(mktemp 'LOG/ssh.XXXXXXXX') || exit 97
for a in "$@"; do printf '%s\037' "$a"; done > "$f"
exec 'REAL' "$@"
'@
    Set-Content -LiteralPath (Join-Path $dir 'ssh') -Value ($wrapper.Replace('LOG', $log).Replace('REAL', $real)) -NoNewline
    chmod +x (Join-Path $dir 'ssh')
    $dir
}

function Get-TalosSshCall([Parameter(Mandatory)] [string] $Wrapper) {
    @(Get-ChildItem -LiteralPath (Join-Path $Wrapper 'log') -File | ForEach-Object { , ((Get-Content -Raw -LiteralPath $_.FullName).TrimEnd([char]0x1f) -split [char]0x1f) })
}

# Every file under $Path (hidden ones too), as paths relative to it, sorted.
function Get-TalosTreeListing([string] $Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return @() }
    $root = (Resolve-Path -LiteralPath $Path).ProviderPath.TrimEnd('/') + '/'
    @(Get-ChildItem -LiteralPath $Path -Recurse -Force -File | ForEach-Object { $_.FullName.Substring($root.Length) } | Sort-Object)
}

# A free TCP port on 127.0.0.1 that nothing listens on (taken from the OS, then released).
function Get-TalosClosedPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# A small reader for the YAML the engine writes (manifests): block mappings and sequences (including YamlDotNet's
# sequences at their key's indentation), {} and [], plain, single- and double-quoted scalars, folded continuation
# lines. Mappings become ordered hashtables, sequences arrays; true/false become booleans, integers Int64, null $null.
function ConvertFrom-TalosYaml {
    param([Parameter(Mandatory, ValueFromPipeline)] [AllowEmptyString()] [string] $Text)
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($line in ($Text -replace "`r", '') -split "`n") {
        $trimmed = $line.Trim()
        if ($trimmed -eq '' -or $trimmed.StartsWith('#') -or $trimmed -eq '---' -or $trimmed -eq '...') { continue }
        $lines.Add($line.TrimEnd())
    }
    $state = @{ Lines = $lines; At = 0 }

    function Get-Indent([string] $line) { $line.Length - $line.TrimStart(' ').Length }

    function Read-Scalar([string] $value, [int] $parentIndent) {
        # Continuation lines of a folded scalar are indented deeper than their key.
        while ($state.At -lt $state.Lines.Count -and (Get-Indent $state.Lines[$state.At]) -gt $parentIndent) {
            $value = ($value + ' ' + $state.Lines[$state.At].Trim()).Trim()
            $state.At++
        }
        $v = $value.Trim()
        if ($v -eq '{}') { return [ordered]@{} }
        if ($v -eq '[]') { return , @() }
        if ($v -eq 'null' -or $v -eq '~' -or $v -eq '') { return $null }
        if ($v -eq 'true') { return $true }
        if ($v -eq 'false') { return $false }
        if ($v -match '^-?\d+$') { return [long] $v }
        if ($v.StartsWith('"') -and $v.EndsWith('"') -and $v.Length -ge 2) {
            $inner = $v.Substring(1, $v.Length - 2) -replace '\\ ', ' '
            return [regex]::Unescape(($inner -replace '\\/', '/'))
        }
        if ($v.StartsWith("'") -and $v.EndsWith("'") -and $v.Length -ge 2) { return $v.Substring(1, $v.Length - 2).Replace("''", "'") }
        $v
    }

    function Read-Node([int] $indent) {
        $line = $state.Lines[$state.At]
        if ($line.Substring($indent) -match '^(- |-$)') { return , (Read-Sequence $indent) }
        Read-Mapping $indent
    }

    function Read-Mapping([int] $indent) {
        $map = [ordered]@{}
        while ($state.At -lt $state.Lines.Count) {
            $line = $state.Lines[$state.At]
            $at = Get-Indent $line
            if ($at -ne $indent -or $line.Substring($indent) -match '^(- |-$)') { break }
            if ($line.Substring($indent) -notmatch '^("(?:[^"\\]|\\.)*"|[^:]+):(?: (.*))?$') { throw "YAML line $($state.At + 1) is not 'key: value': $line" }
            $key = $Matches[1].Trim('"')
            $value = $Matches[2]
            $state.At++
            if ($null -ne $value -and $value.Trim() -ne '') {
                $map[$key] = Read-Scalar $value $indent
            } elseif ($state.At -lt $state.Lines.Count -and (Get-Indent $state.Lines[$state.At]) -gt $indent) {
                $map[$key] = Read-Node (Get-Indent $state.Lines[$state.At])
            } elseif ($state.At -lt $state.Lines.Count -and (Get-Indent $state.Lines[$state.At]) -eq $indent -and $state.Lines[$state.At].Substring($indent) -match '^(- |-$)') {
                $map[$key] = Read-Sequence $indent
            } else {
                $map[$key] = $null
            }
        }
        $map
    }

    function Read-Sequence([int] $indent) {
        $items = [System.Collections.Generic.List[object]]::new()
        while ($state.At -lt $state.Lines.Count) {
            $line = $state.Lines[$state.At]
            if ((Get-Indent $line) -ne $indent -or $line.Substring($indent) -notmatch '^(- |-$)') { break }
            $rest = if ($line.Length -gt $indent + 2) { $line.Substring($indent + 2) } else { '' }
            if ($rest -match '^("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.-]+):(?: |$)') {
                # "- key: value": a mapping whose keys are indented by two more.
                $state.Lines[$state.At] = (' ' * ($indent + 2)) + $rest
                $items.Add((Read-Mapping ($indent + 2)))
            } else {
                $state.At++
                $items.Add((Read-Scalar $rest ($indent)))
            }
        }
        , $items.ToArray()
    }

    if ($lines.Count -eq 0) { return $null }
    Read-Node (Get-Indent $lines[0])
}
