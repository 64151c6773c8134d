# Helpers of Module.Tests.ps1, Package.Tests.ps1, Stop.Tests.ps1 and Completion.Tests.ps1 (dot-source it in BeforeAll,
# after importing TestHelpers.psm1).

# Starts $Script in a FRESH pwsh child process (-NoProfile -NonInteractive), as a user's new session: nothing of this
# session (its modules, its load contexts) reaches it. The script starts with $ErrorActionPreference = 'Stop', the
# variables of -Variable (strings, as single-quoted literals), $ModulePath (the built TalosImage.psd1) and a function
# Save-Result: what it passes is written as JSON to a file and comes back as .Result of Receive-TalosChildPwsh.
# Several children may run at once; Receive-TalosChildPwsh waits for one (killed after -TimeoutSeconds).
function Start-TalosChildPwsh {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Variable = @{},
        [string] $WorkingDirectory,
        [hashtable] $Environment = @{},
        [int] $TimeoutSeconds = 120
    )
    $resultPath = Join-Path ([System.IO.Path]::GetTempPath()) ("talosimage-child-" + [guid]::NewGuid().ToString('N') + '.json')
    $literal = { param($s) "'" + ($s -replace "'", "''") + "'" }
    $prelude = @(
        '$ErrorActionPreference = ''Stop'''
        '$ProgressPreference = ''SilentlyContinue'''
        '$PSStyle.OutputRendering = ''PlainText'''
        '$ModulePath = ' + (& $literal (Get-TalosImageUnderTestPath))
        '$ResultPath = ' + (& $literal $resultPath)
        'function Save-Result($Value) { ConvertTo-Json -InputObject $Value -Depth 6 | Set-Content -LiteralPath $ResultPath }'
    )
    foreach ($name in $Variable.Keys) { $prelude += '$' + $name + ' = ' + (& $literal ([string]$Variable[$name])) }
    $text = ($prelude -join "`n") + "`n" + $Script
    $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($text))

    $pwsh = @(Get-PwshCommand)
    $start = [System.Diagnostics.ProcessStartInfo]::new($pwsh[0])
    foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', $encoded)) {
        $start.ArgumentList.Add($a)
    }
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.WorkingDirectory = if ($WorkingDirectory) { $WorkingDirectory } else { [System.IO.Path]::GetTempPath() }
    foreach ($name in $Environment.Keys) { $start.Environment[$name] = $Environment[$name] }
    $process = [System.Diagnostics.Process]::Start($start)
    $process.StandardInput.Close()
    [pscustomobject]@{
        Process    = $process
        Stdout     = $process.StandardOutput.ReadToEndAsync()
        Stderr     = $process.StandardError.ReadToEndAsync()
        ResultPath = $resultPath
        Timeout    = $TimeoutSeconds
        Received   = $null
    }
}

# Waits for a child of Start-TalosChildPwsh: ExitCode, Output, Error, Result (what it passed to Save-Result), Text
# (all of it, for -Because). Receiving twice gives the same answer.
function Receive-TalosChildPwsh {
    param([Parameter(Mandatory, ValueFromPipeline)] $Child)
    process {
        if ($Child.Received) { return $Child.Received }
        $process = $Child.Process
        try {
            if (-not $process.WaitForExit($Child.Timeout * 1000)) {
                $process.Kill($true)
                $process.WaitForExit(10000) | Out-Null
                throw "The child pwsh did not end in $($Child.Timeout) s (killed). Its output: $($Child.Stdout.Result) $($Child.Stderr.Result)"
            }
            $process.WaitForExit()
            $result = if (Test-Path -LiteralPath $Child.ResultPath) { Get-Content -Raw -LiteralPath $Child.ResultPath | ConvertFrom-Json } else { $null }
            $Child.Received = [pscustomobject]@{
                ExitCode = $process.ExitCode
                Output   = $Child.Stdout.Result
                Error    = $Child.Stderr.Result
                Result   = $result
                Text     = "exit code $($process.ExitCode); stdout: $($Child.Stdout.Result.Trim()); stderr: $($Child.Stderr.Result.Trim())"
            }
            $Child.Received
        }
        finally {
            Remove-Item -LiteralPath $Child.ResultPath -Force -ErrorAction SilentlyContinue
        }
    }
}

# Ends a child that is still running (a test that failed before it received it): nothing is left behind.
function Stop-TalosChildPwsh {
    param([Parameter(ValueFromPipeline)] $Child)
    process {
        if ($null -eq $Child) { return }
        if (-not $Child.Process.HasExited) {
            $Child.Process.Kill($true)
            $Child.Process.WaitForExit(10000) | Out-Null
        }
        $Child.Process.Dispose()
        Remove-Item -LiteralPath $Child.ResultPath -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-TalosChildPwsh {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Variable = @{},
        [string] $WorkingDirectory,
        [hashtable] $Environment = @{},
        [int] $TimeoutSeconds = 120
    )
    $child = Start-TalosChildPwsh @PSBoundParameters
    try { Receive-TalosChildPwsh $child } finally { Stop-TalosChildPwsh $child }
}

# A PowerShell host for a runspace of this process that records what is written to it (What if: lines, warnings) and
# answers -Confirm questions with the choice labelled Answer ('Yes', 'No', 'No to All' ...), or, with Answer 'Stop',
# throws PipelineStoppedException at the prompt as a console does on Ctrl+C. 'Yes|No' answers the first question Yes
# and every later one No (the last answer of the list stays).
if (-not ('TalosImageTests.RecordingHost' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace TalosImageTests
{
    public sealed class RecordingHost : PSHost
    {
        private readonly Guid _id = Guid.NewGuid();
        private readonly RecordingUI _ui;

        public RecordingHost(string answer) { _ui = new RecordingUI(answer); }

        public RecordingUI Recorder { get { return _ui; } }
        public override PSHostUserInterface UI { get { return _ui; } }
        public override string Name { get { return "TalosImageTests.RecordingHost"; } }
        public override Version Version { get { return new Version(1, 0); } }
        public override Guid InstanceId { get { return _id; } }
        public override CultureInfo CurrentCulture { get { return CultureInfo.InvariantCulture; } }
        public override CultureInfo CurrentUICulture { get { return CultureInfo.InvariantCulture; } }
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { throw new NotSupportedException(); }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    public sealed class RecordingUI : PSHostUserInterface
    {
        private readonly ConcurrentQueue<string> _lines = new ConcurrentQueue<string>();
        private readonly ConcurrentQueue<string> _prompts = new ConcurrentQueue<string>();

        private readonly Queue<string> _next;

        public RecordingUI(string answer)
        {
            _next = new Queue<string>(answer.Split('|'));
            Answer = _next.Dequeue();
        }

        public string Answer { get; set; }
        public string[] Lines { get { return _lines.ToArray(); } }
        public string[] Prompts { get { return _prompts.ToArray(); } }

        public override PSHostRawUserInterface RawUI { get { return null; } }

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            _prompts.Enqueue(caption + ": " + message);
            var answer = Answer;
            if (_next.Count > 0) { Answer = _next.Dequeue(); }
            if (answer == "Stop") { throw new PipelineStoppedException(); }
            for (int i = 0; i < choices.Count; i++)
            {
                if (choices[i].Label.Replace("&", "") == answer) { return i; }
            }
            throw new InvalidOperationException("The prompt has no choice '" + answer + "'.");
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
        {
            _prompts.Enqueue(caption + ": " + message);
            throw new PSInvalidOperationException("RecordingHost answers no field prompt.");
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName)
        {
            throw new PSInvalidOperationException("RecordingHost answers no credential prompt.");
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
        {
            throw new PSInvalidOperationException("RecordingHost answers no credential prompt.");
        }

        public override string ReadLine() { throw new PSInvalidOperationException("RecordingHost reads no line."); }
        public override SecureString ReadLineAsSecureString() { throw new PSInvalidOperationException("RecordingHost reads no line."); }
        public override void Write(string value) { _lines.Enqueue(value); }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { _lines.Enqueue(value); }
        public override void WriteLine(string value) { _lines.Enqueue(value); }
        public override void WriteErrorLine(string value) { _lines.Enqueue("ERROR: " + value); }
        public override void WriteDebugLine(string message) { _lines.Enqueue("DEBUG: " + message); }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { _lines.Enqueue("VERBOSE: " + message); }
        public override void WriteWarningLine(string message) { _lines.Enqueue("WARNING: " + message); }
    }
}
'@
}

# Runs $Script in a new runspace of this process (optionally with a RecordingHost), with the built module imported
# there, and waits at most $TimeoutSeconds: a command that hangs is stopped and reported (.TimedOut), never left
# hanging the suite. $Parameters go to the script's param() block.
function Invoke-TalosInRunspace {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Parameters = @{},
        [int] $TimeoutSeconds = 30,
        [System.Management.Automation.Host.PSHost] $PSHost
    )
    $runspace = if ($PSHost) { [runspacefactory]::CreateRunspace($PSHost) } else { [runspacefactory]::CreateRunspace() }
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    try {
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', (Get-TalosImageUnderTestPath)).AddParameter('ErrorAction', 'Stop').AddStatement()
        $null = $ps.AddScript($Script).AddParameters($Parameters)
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $noInput = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $noInput.Complete()
        $async = $ps.BeginInvoke($noInput, $output)
        $done = $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($TimeoutSeconds))
        $clock.Stop()
        if (-not $done) {
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(10)) | Out-Null
        }
        $exception = $null
        try { $ps.EndInvoke($async) | Out-Null } catch { $exception = $_.Exception.GetBaseException() }
        [pscustomobject]@{
            Output    = @($output)
            Errors    = @($ps.Streams.Error)
            Warnings  = @($ps.Streams.Warning)
            Exception = $exception
            TimedOut  = -not $done
            State     = $ps.InvocationStateInfo.State
            Seconds   = $clock.Elapsed.TotalSeconds
        }
    }
    finally {
        $ps.Dispose()
        $runspace.Dispose()
    }
}

# Waits until the fake factory's log shows $Count image GETs (polls every 100 ms); false after $TimeoutSeconds.
function Wait-TalosImageGet {
    param([Parameter(Mandatory)] $TestHost, [int] $Count = 1, [int] $TimeoutSeconds = 20)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ((Invoke-TalosControl $TestHost GET /factory/log).imageGets -ge $Count) { return $true }
        Start-Sleep -Milliseconds 100
    }
    $false
}

# True when this process can take <cache>/.lock exclusively right now (nobody holds the cache lock).
function Test-TalosCacheLockFree {
    param([Parameter(Mandatory)] [string] $CacheDirectory)
    $path = Join-Path $CacheDirectory '.lock'
    if (-not (Test-Path -LiteralPath $path)) { return $true }
    try {
        $stream = [System.IO.FileStream]::new($path, 'Open', 'ReadWrite', 'None')
        $stream.Dispose()
        $true
    } catch [System.IO.IOException] {
        $false
    } catch [System.Management.Automation.MethodInvocationException] {
        $false
    }
}
