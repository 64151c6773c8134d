using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Decodes by running <c>xz -dc -T N</c> or <c>zstd -dc</c>: the compressed bytes go to its stdin (so progress is
/// still counted on input, and no path is ever put on a command line), its stdout fills the chunks. The
/// arguments are fixed words and the program is started directly (UseShellExecute = false), never through a shell.
/// A non-zero exit status is reported with the program's stderr.
/// </summary>
internal sealed class ProgramDecoder : IDecoder
{
    private readonly string _program;
    private readonly string _arguments;

    public ProgramDecoder(string program, string arguments)
    {
        _program = program;
        _arguments = arguments;
    }

    public string Description => $"{_program} {_arguments}";

    /// <summary>The full path of <paramref name="name"/> (name.exe on Windows) on PATH, or null.</summary>
    public static string? FindOnPath(string name)
    {
        var windows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        var file = windows ? name + ".exe" : name;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries).Select(d => d.Trim('"')))
        {
            try
            {
                var candidate = Path.Combine(dir, file);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            catch (ArgumentException)
            {
                // a malformed PATH entry
            }
        }
        return null;
    }

    public void Decode(Stream input, ChunkPipeline output)
    {
        var start = new ProcessStartInfo(_program, _arguments)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DecoderFailedException($"could not start {_program}: {e.Message}");
        }
        var stderr = process.StandardError.ReadToEndAsync();
        var feeder = Task.Run(() => Feed(input, process.StandardInput.BaseStream));
        try
        {
            StreamChunks.Copy(process.StandardOutput.BaseStream, output);
        }
        catch
        {
            TryKill(process);
            throw;
        }
        finally
        {
            try
            {
                feeder.GetAwaiter().GetResult();
            }
            catch (IOException)
            {
                // the program stopped reading (it failed): its exit status and stderr say why
            }
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            var text = stderr.GetAwaiter().GetResult().Trim();
            throw new CorruptDataException($"{Path.GetFileName(_program)} exited with status {process.ExitCode}: {(text.Length > 0 ? text : "no message")}");
        }
    }

    private static void Feed(Stream input, Stream stdin)
    {
        try
        {
            var buffer = new byte[1 << 20];
            int n;
            while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                stdin.Write(buffer, 0, n);
            }
        }
        finally
        {
            try
            {
                stdin.Dispose();
            }
            catch (IOException)
            {
            }
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
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
