using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace TalosImage.Core.Cache;

/// <summary>
/// The cache's own tree (<c>artifacts/</c> and everything in it, the lock and its owner file, side files) holds only
/// regular files and folders the tool made. Anything else found there (a symbolic link to a file or folder elsewhere,
/// a FIFO, a device, a socket, a folder where a file belongs) is refused with ErrorId CachePathRefused naming the path,
/// never followed, written through, read or removed: a run that follows a planted link writes wherever it points (with
/// a root cron job, any file on the host). New files (<c>.part</c>) are created exclusively
/// (<see cref="CreateNew"/>), which never follows a link. The cache folder itself may be a link (an operator's choice);
/// only what is below it is checked.
/// </summary>
public static class CacheFiles
{
    /// <summary>
    /// Refuses <paramref name="path"/> unless it is absent or a regular file (not a link).
    /// </summary>
    public static void RefuseUnlessFileOrAbsent(string path)
    {
        if (Problem(path, expectDirectory: false) is { } problem)
        {
            throw Refused(path, problem);
        }
    }

    /// <summary>
    /// Refuses every existing folder from below <paramref name="cacheDir"/> down to <paramref name="folder"/> that is a
    /// link or not a folder.
    /// </summary>
    public static void RefuseUnlessFolders(string cacheDir, string folder)
    {
        var root = Path.GetFullPath(cacheDir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var full = Path.GetFullPath(folder);
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return;
        }
        var relative = full.Substring(root.Length + 1).Split(new[] { Path.DirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
        var current = root;
        foreach (var segment in relative)
        {
            current = Path.Combine(current, segment);
            if (Problem(current, expectDirectory: true) is { } problem)
            {
                throw Refused(current, problem);
            }
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> as a new, empty file for reading and writing (FileMode.CreateNew: fails rather
    /// than follows anything at that name). A regular file left there (an earlier run's <c>.part</c>) is removed first;
    /// anything else is refused.
    /// </summary>
    public static FileStream CreateNew(string path)
    {
        RefuseUnlessFileOrAbsent(path);
        if (File.Exists(path))
        {
            File.Delete(path);
        }
        try
        {
            return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException) when (Problem(path, expectDirectory: false) is { } problem)
        {
            throw Refused(path, problem); // planted between the check and the create
        }
    }

    /// <summary>What is wrong with the entry at <paramref name="path"/> (null: absent, or of the expected type).</summary>
    public static string? Problem(string path, bool expectDirectory)
    {
        FileAttributes attributes;
        try
        {
            attributes = File.GetAttributes(path); // the link itself, not what it points to
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // unreadable attributes: the operation itself will fail and say why
        }
        if ((attributes & FileAttributes.ReparsePoint) != 0)
        {
            return "a symbolic link (or another reparse point)";
        }
        var isDirectory = (attributes & FileAttributes.Directory) != 0;
        if (expectDirectory)
        {
            return isDirectory ? null : "not a folder";
        }
        if (isDirectory)
        {
            return "a folder, not a file";
        }
        return UnixFileType(path) switch
        {
            0x1000 => "a FIFO (named pipe), not a regular file",
            0x2000 => "a character device, not a regular file",
            0x6000 => "a block device, not a regular file",
            0xC000 => "a socket, not a regular file",
            _ => null,
        };
    }

    private static TalosException Refused(string path, string problem) => new(TalosErrors.CachePathRefused,
        $"Refused {path}: it is {problem}. The cache holds only files TalosImage wrote, and nothing planted in it is followed; " +
        "remove it (and find out who put it there), then run again.", path);

    private static bool _noNative;

    /// <summary>
    /// The S_IFMT bits of lstat(2) on Unix (0 where unknown: Windows, or a runtime without System.Native), through the
    /// .NET runtime's own System.Native shim, whose status record starts with two 32-bit fields, flags and mode.
    /// </summary>
    private static int UnixFileType(string path)
    {
        if (_noNative || RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            return 0;
        }
        try
        {
            var name = Encoding.UTF8.GetBytes(path + "\0");
            var status = new byte[512];
            if (SystemNativeLStat(name, status) != 0)
            {
                return 0;
            }
            return BitConverter.ToInt32(status, 4) & 0xF000;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            _noNative = true;
            return 0;
        }
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat")]
    private static extern int SystemNativeLStat(byte[] path, [Out] byte[] status);
}
