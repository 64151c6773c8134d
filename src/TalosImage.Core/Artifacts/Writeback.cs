using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// Starts the kernel's writeback of a written range early (Linux sync_file_range with SYNC_FILE_RANGE_WRITE), so that
/// the flush to disk at the end of a download has little left to wait for. Elsewhere, or when the call is missing,
/// it does nothing: the final flush still makes the file durable.
/// </summary>
internal static class Writeback
{
    private const uint SyncFileRangeWrite = 2;
    private static bool _unavailable = !RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || IntPtr.Size != 8;

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    public static void Start(FileStream file, long offset, long count)
    {
        if (_unavailable)
        {
            return;
        }
        try
        {
            SyncFileRange((int)file.SafeFileHandle.DangerousGetHandle(), offset, count, SyncFileRangeWrite);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }
}
