using System;
using System.IO;
using System.Text;

namespace TalosImage.Core;

/// <summary>
/// Writes files so that a reader never sees a half-written one: the content goes to a temporary file in the
/// same folder, is flushed to disk, and is then renamed over the final name.
/// </summary>
public static class AtomicFile
{
    /// <summary>The temporary name used beside <paramref name="path"/> while it is written.</summary>
    public static string TempPathFor(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");

    /// <param name="flushToDisk">Whether the content reaches the disk before the rename (fsync); false for notes that lose nothing when a crash drops them.</param>
    public static void WriteAllText(string path, string content, bool flushToDisk = true)
    {
        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(content);
        Write(path, s => s.Write(bytes, 0, bytes.Length), flushToDisk);
    }

    /// <param name="flushToDisk">Whether the content reaches the disk before the rename (fsync).</param>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = true)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = TempPathFor(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk);
            }
            Replace(temp, full);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/>, replacing it if present.</summary>
    public static void Replace(string source, string destination)
    {
        if (File.Exists(destination))
        {
            // File.Replace is atomic on every platform PowerShell runs on; File.Move(overwrite) is not in netstandard2.0.
            File.Replace(source, destination, destinationBackupFileName: null, ignoreMetadataErrors: true);
        }
        else
        {
            File.Move(source, destination);
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
