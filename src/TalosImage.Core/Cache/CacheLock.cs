using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Cache;

/// <summary>
/// Exclusive use of a cache folder by one run. The lock is <c>&lt;cache_dir&gt;/.lock</c> held open with
/// FileShare.None (an OS lock: a killed process releases it); the holder writes its pid, host and start time into it
/// and into <c>.lock.owner</c>, which waiting processes can read (the locked file itself cannot be opened by them).
/// A lock file that still names a holder when it is acquired was left by a process that ended without releasing it:
/// it is taken over with a warning. Disposing releases the lock. A link or a non-regular file at either name is
/// refused (ErrorId CachePathRefused), never written through.
/// </summary>
public sealed class CacheLock : IDisposable
{
    public const string LockFileName = ".lock";
    public const string OwnerFileName = ".lock.owner";

    /// <summary>How long a run waits for another by default (config defaults.lock_timeout: 1800 s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private FileStream? _stream;
    private readonly string _ownerPath;

    private CacheLock(FileStream stream, string path, string ownerPath)
    {
        _stream = stream;
        Path = path;
        _ownerPath = ownerPath;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>
    /// Takes the lock on <paramref name="cacheDir"/> (creating the folder), waiting up to <paramref name="timeout"/>
    /// while another process holds it; then fails with ErrorId CacheLocked naming the holder.
    /// </summary>
    public static async Task<CacheLock> AcquireAsync(string cacheDir, TimeSpan timeout, IEngineEvents events, CancellationToken ct)
    {
        events ??= NullEngineEvents.Instance;
        var dir = System.IO.Path.GetFullPath(cacheDir);
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unusable(dir, e);
        }
        var path = System.IO.Path.Combine(dir, LockFileName);
        var ownerPath = System.IO.Path.Combine(dir, OwnerFileName);
        var clock = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            // A link planted at either name would have the holder write (and, on release, empty) whatever it points to.
            CacheFiles.RefuseUnlessFileOrAbsent(path);
            CacheFiles.RefuseUnlessFileOrAbsent(ownerPath);
            FileStream? stream = null;
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException e) when (File.Exists(path) && UnusablePath.IsHeldByAnother(e))
            {
                // Held by another process (sharing violation / flock): wait.
            }
            catch (UnauthorizedAccessException e)
            {
                throw new TalosException(TalosErrors.CacheLockDenied, $"Cannot open the cache lock {path}: {e.Message}", path, e);
            }
            catch (IOException e)
            {
                // Not another holder: a read-only file system, a folder named .lock, an I/O error. Waiting would not help.
                throw Unusable(dir, e, path);
            }

            if (stream is not null)
            {
                if (CacheFiles.Problem(path, expectDirectory: false) is not null)
                {
                    stream.Dispose(); // planted between the check and the open: nothing was written
                    CacheFiles.RefuseUnlessFileOrAbsent(path);
                }
                var previous = ReadAll(stream).Trim();
                if (previous.Length > 0)
                {
                    events.Warning($"Took over a stale cache lock {path}: {Describe(previous)} ended without releasing it.");
                }
                var owner = OwnerText();
                Overwrite(stream, owner);
                try
                {
                    // Who holds the lock, for messages: no fsync (10-200 ms here, at the start of every run), since a
                    // crash that loses it also ends the holder, and the next run takes over the lock anyway.
                    AtomicFile.WriteAllText(ownerPath, owner, flushToDisk: false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
                events.Verbose($"Cache lock {path} taken.");
                return new CacheLock(stream, path, ownerPath);
            }

            var holder = ReadOwner(ownerPath);
            if (clock.Elapsed >= timeout)
            {
                throw new TalosException(TalosErrors.CacheLocked,
                    $"The cache {dir} is in use by {holder}; gave up after waiting {Units.Duration(timeout)}. " +
                    "Wait for that run to end or raise the lock timeout.", path);
            }
            if (!told)
            {
                events.Warning($"The cache {dir} is in use by {holder}; waiting up to {Units.Duration(timeout)}.");
                told = true;
            }
            var left = timeout - clock.Elapsed;
            await Task.Delay(left < PollInterval ? (left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)) : PollInterval, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The cache folder cannot be used at all (bad configuration: cache_dir, -CacheDirectory): exit 2 in talos-order.</summary>
    private static TalosException Unusable(string dir, Exception e, string? lockPath = null) =>
        new(TalosErrors.CacheDirectoryUnusable,
            lockPath is null
                ? $"The cache folder {dir} cannot be used: {UnusablePath.Reason(dir, e, wantFolder: true)}."
                : $"The cache folder {dir} cannot be used: its lock {lockPath} cannot be opened: {UnusablePath.Reason(lockPath, e, wantFolder: false)}.",
            dir, e);

    /// <summary>Releases the lock: the lock file is emptied (never deleted, so two processes cannot lock two different files).</summary>
    public void Dispose()
    {
        var stream = Interlocked.Exchange(ref _stream, null);
        if (stream is null)
        {
            return;
        }
        AtomicFile.TryDelete(_ownerPath);
        try
        {
            stream.SetLength(0);
            stream.Flush();
        }
        catch (IOException)
        {
        }
        stream.Dispose();
    }

    private static string OwnerText()
    {
        using var self = Process.GetCurrentProcess();
        return string.Format(CultureInfo.InvariantCulture, "pid={0}\nhost={1}\nstarted={2:o}\ncommand={3}\n",
            self.Id, Environment.MachineName, DateTimeOffset.UtcNow, ToolInfo.Name);
    }

    private static string Describe(string ownerText)
    {
        string? pid = null, host = null, started = null;
        foreach (var line in ownerText.Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }
            var key = line.Substring(0, eq).Trim();
            var value = line.Substring(eq + 1).Trim();
            switch (key)
            {
                case "pid": pid = value; break;
                case "host": host = value; break;
                case "started": started = value; break;
            }
        }
        return pid is null ? "an unknown process" : $"process {pid} on {host ?? "an unknown host"}" + (started is null ? "" : $" (since {started})");
    }

    private static string ReadOwner(string ownerPath)
    {
        try
        {
            return File.Exists(ownerPath) && CacheFiles.Problem(ownerPath, expectDirectory: false) is null && new FileInfo(ownerPath).Length <= 64 * 1024
                ? Describe(File.ReadAllText(ownerPath))
                : "another process";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another process";
        }
    }

    private static string ReadAll(FileStream stream)
    {
        stream.Position = 0;
        var length = (int)Math.Min(stream.Length, 64 * 1024);
        var bytes = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = stream.Read(bytes, read, length - read);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return Encoding.UTF8.GetString(bytes, 0, read);
    }

    private static void Overwrite(FileStream stream, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        stream.SetLength(0);
        stream.Position = 0;
        stream.Write(bytes, 0, bytes.Length);
        stream.Flush();
    }
}
