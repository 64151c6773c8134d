using System;
using System.IO;

namespace TalosImage.Core;

/// <summary>
/// Why a path the user gave (cache_dir, --log / -LogPath) cannot be used, in words: "it is a folder, not a file",
/// "/x/y is a file, not a folder", "the file system is read-only", "permission denied", or what the OS said. The
/// file system is looked at first, since the exception of a failed create often names a symptom ("Could not find a
/// part of the path") rather than the cause.
/// </summary>
internal static class UnusablePath
{
    /// <summary>errno EROFS on Linux and the BSDs (.NET's IOException carries the raw errno as HResult on Unix).</summary>
    private const int Erofs = 30;

    /// <summary>The reason <paramref name="path"/> (a folder when <paramref name="wantFolder"/>, else a file) could not be used.</summary>
    public static string Reason(string path, Exception e, bool wantFolder)
    {
        try
        {
            if (!wantFolder && Directory.Exists(path))
            {
                return "it is a folder, not a file";
            }
            if (wantFolder && File.Exists(path))
            {
                return "it is a file, not a folder";
            }
            for (var a = Path.GetDirectoryName(path); !string.IsNullOrEmpty(a); a = Path.GetDirectoryName(a))
            {
                if (File.Exists(a))
                {
                    return $"{a} is a file, not a folder";
                }
                if (Directory.Exists(a))
                {
                    if (e is FileNotFoundException or DirectoryNotFoundException)
                    {
                        // The parent is there, yet creating in it says "not found": a virtual file system such as /proc.
                        return $"nothing can be created in {a} (a virtual file system?)";
                    }
                    break;
                }
            }
        }
        catch (Exception inspect) when (inspect is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
        }
        return e switch
        {
            UnauthorizedAccessException => "permission denied",
            IOException io when io.HResult == Erofs => "the file system is read-only",
            _ => WithoutPath(e.Message, path),
        };
    }

    /// <summary>
    /// True when a failed open of an existing lock file means another process holds its lock: a sharing or lock
    /// violation (Windows), EWOULDBLOCK from flock (.NET on Unix: 11 on Linux, 35 on macOS and the BSDs). Any other
    /// I/O error (a read-only file system, an I/O error) is not worth waiting for.
    /// </summary>
    public static bool IsHeldByAnother(IOException e) =>
        e.HResult is unchecked((int)0x80070020) or unchecked((int)0x80070021) or 11 or 35;

    /// <summary>.NET's "Read-only file system : '/x'" without the path the caller's sentence already names.</summary>
    private static string WithoutPath(string message, string path)
    {
        foreach (var suffix in new[] { $" : '{path}'", $": '{path}'", $" '{path}'" })
        {
            if (message.EndsWith(suffix, StringComparison.Ordinal))
            {
                return message.Substring(0, message.Length - suffix.Length);
            }
        }
        return message.TrimEnd('.');
    }
}
