using System.Diagnostics;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Runs mount and umount for the tests that put a small tmpfs under a cache (FullDiskTests, EnvironmentTests): an
/// argument list, no shell; stdout and stderr read at once, so a chatty program cannot block on a full pipe.
/// </summary>
internal static class MountTool
{
    public static (int Code, string Stderr) Run(string program, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }
            using var p = Process.Start(start)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            stdout.GetAwaiter().GetResult();
            return (p.ExitCode, stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
