using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core;

/// <summary>What a finished external program left behind.</summary>
internal sealed record ProcessOutcome(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Starts a program with an argument list (never a shell string): on .NET Core / .NET 5+ through
/// <c>ProcessStartInfo.ArgumentList</c>; on .NET Framework (Windows PowerShell 5.1) each argument is quoted with the
/// rules the Microsoft C runtime uses to split a command line back into argv. Standard input is empty, standard output
/// is reported chunk by chunk (split at CR and LF, as progress meters write it), standard error is kept (its last
/// 64 KiB). Cancellation kills the program and throws <see cref="OperationCanceledException"/>.
/// </summary>
internal static class ExternalProcess
{
    private const int StderrLimit = 64 * 1024;

    private static readonly PropertyInfo? ArgumentListProperty = typeof(ProcessStartInfo).GetProperty("ArgumentList");

    /// <exception cref="Win32Exception">The program could not be started (usually: not installed).</exception>
    public static async Task<ProcessOutcome> RunAsync(string program, IReadOnlyList<string> arguments, Action<string>? onOutputLine, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        // Stable, parseable messages from ssh and rsync (numbers, "Total bytes sent").
        start.EnvironmentVariables["LC_ALL"] = "C";
        SetArguments(start, arguments);

        ct.ThrowIfCancellationRequested();
        using var process = new Process { StartInfo = start };
        process.Start();
        process.StandardInput.Close();

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var outTask = PumpAsync(process.StandardOutput, stdout, onOutputLine, limit: null);
        var errTask = PumpAsync(process.StandardError, stderr, null, StderrLimit);
        using (ct.Register(() => TryKill(process)))
        {
            await Task.WhenAll(outTask, errTask).ConfigureAwait(false);
            await Task.Run(() => process.WaitForExit(), CancellationToken.None).ConfigureAwait(false);
        }
        ct.ThrowIfCancellationRequested();
        return new ProcessOutcome(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static void SetArguments(ProcessStartInfo start, IReadOnlyList<string> arguments)
    {
        if (ArgumentListProperty?.GetValue(start) is ICollection<string> list)
        {
            foreach (var a in arguments)
            {
                list.Add(a);
            }
            return;
        }
        start.Arguments = string.Join(" ", Array.ConvertAll(ToArray(arguments), QuoteForWindows));
    }

    private static string[] ToArray(IReadOnlyList<string> list)
    {
        var a = new string[list.Count];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = list[i];
        }
        return a;
    }

    /// <summary>Quotes one argument so that CommandLineToArgvW / the MSVC runtime give it back unchanged.</summary>
    internal static string QuoteForWindows(string argument)
    {
        if (argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '\t', '\n', '\v', '"' }) < 0)
        {
            return argument;
        }
        var sb = new StringBuilder("\"");
        var backslashes = 0;
        foreach (var c in argument)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }
            if (c == '"')
            {
                sb.Append('\\', backslashes * 2 + 1).Append('"');
            }
            else
            {
                sb.Append('\\', backslashes).Append(c);
            }
            backslashes = 0;
        }
        sb.Append('\\', backslashes * 2).Append('"');
        return sb.ToString();
    }

    private static async Task PumpAsync(System.IO.StreamReader reader, StringBuilder all, Action<string>? onLine, int? limit)
    {
        var buffer = new char[8192];
        var line = new StringBuilder();
        int n;
        while ((n = await reader.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
        {
            all.Append(buffer, 0, n);
            if (limit is { } max && all.Length > max * 2)
            {
                all.Remove(0, all.Length - max);
            }
            if (onLine is null)
            {
                continue;
            }
            for (var i = 0; i < n; i++)
            {
                var c = buffer[i];
                if (c is '\r' or '\n')
                {
                    if (line.Length > 0)
                    {
                        onLine(line.ToString());
                        line.Clear();
                    }
                }
                else
                {
                    line.Append(c);
                }
            }
        }
        if (onLine is not null && line.Length > 0)
        {
            onLine(line.ToString());
        }
        if (limit is { } cap && all.Length > cap)
        {
            all.Remove(0, all.Length - cap);
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }
}
