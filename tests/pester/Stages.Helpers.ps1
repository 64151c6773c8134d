# Helpers for the first-stage tests (Resolve-TalosVersion, New-TalosSchematic, Get-TalosExtension, Save-TalosImage,
# Get-TalosCache, Clear-TalosCache), dot-sourced in their BeforeAll after Start-TalosTestHost -Factory. They read
# $script:TestHost (the test host's description) and talk to its control endpoint.

# The fake factory's control log: requests (method, path, query), imageGets, schematicPosts.
function Get-FactoryLog {
    Invoke-TalosControl $script:TestHost GET /factory/log
}

# Clears the log, the delay and pending failures (created schematics stay).
function Reset-Factory {
    Invoke-TalosControl $script:TestHost POST /factory/reset | Out-Null
}

# The next $Count image GETs answer $Status.
function Set-FactoryFailure([int] $Status, [int] $Count = 1) {
    Invoke-TalosControl $script:TestHost POST "/factory/fail?status=$Status&count=$Count" | Out-Null
}

# The requests of the log whose path is $Path (GET unless -Method).
function Get-FactoryRequest([string] $Path, [string] $Method = 'GET') {
    @((Get-FactoryLog).requests | Where-Object { $_.method -eq $Method -and $_.path -eq $Path })
}

# What the test host says about an asset it serves: asset, size, sha256, rawSize, rawSha256.
function Get-FactoryImage([string] $Asset) {
    Get-TalosFactoryImage $script:TestHost $Asset
}

# The test host's versions in SemVer order, newest first, computed here with PowerShell's own [semver] (an oracle
# independent of the engine's TalosSemVersion).
function Get-FactoryVersionOrder([switch] $IncludePrerelease) {
    @($script:TestHost.factoryVersions |
        Where-Object { $IncludePrerelease -or -not ([semver] $_.TrimStart('v')).PreReleaseLabel } |
        Sort-Object { [semver] $_.TrimStart('v') } -Descending)
}

# The SHA-256 of a file, lower case, as the cache records it.
function Get-Sha256([string] $Path) {
    Get-TalosTestSha256 $Path
}

# The messages of the verbose records in $Records (a mixed stream from 4>&1).
function Get-VerboseMessage($Records) {
    @($Records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
}

# The whole help text of a cmdlet, as a user reads it (read once per file: Get-Help takes a while).
$script:HelpText = @{}
function Get-HelpText([string] $Command) {
    if (-not $script:HelpText.ContainsKey($Command)) { $script:HelpText[$Command] = Get-Help $Command -Full | Out-String -Width 200 }
    $script:HelpText[$Command]
}
