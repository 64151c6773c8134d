namespace TalosImage.Tests.Reliability;

/// <summary>
/// Runs mount and umount for the tests that put a small tmpfs under a cache (FullDiskTests, EnvironmentTests): an
/// argument list, no shell, through <see cref="ChildProcess"/> (stdout and stderr read at once).
/// </summary>
internal static class MountTool
{
    public static (int Code, string Stderr) Run(string program, params string[] args)
    {
        try
        {
            var r = ChildProcess.Run(program, args);
            return (r.ExitCode, r.Stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
