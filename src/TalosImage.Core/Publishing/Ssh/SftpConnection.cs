using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// The SSH connections of one run, one per host and settings (<see cref="SftpSettings.Key"/>): every file a run sends
/// to a host goes over the same connection (its sftp channel and its exec channels). A connection that failed is
/// remembered for the run, so the host's other files fail at once with the same message; one that dropped is opened
/// again. Dispose closes them all.
/// </summary>
public sealed class SftpConnectionPool : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<SftpConnection>>> _connections = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>How many connections were opened (for tests: one per host and run).</summary>
    public int Opened => _opened;
    private int _opened;

    internal async Task<SftpConnection> GetAsync(SftpSettings settings, SftpCredentials credentials, IEngineEvents events, TimeSpan connectTimeout, CancellationToken ct)
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(SftpConnectionPool));
        }
        for (var attempt = 0; ; attempt++)
        {
            var lazy = _connections.GetOrAdd(settings.Key, _ => new Lazy<Task<SftpConnection>>(() =>
            {
                Interlocked.Increment(ref _opened);
                return SftpConnection.OpenAsync(settings, credentials, events, connectTimeout, CancellationToken.None);
            }));
            var connection = await WaitAsync(lazy.Value, ct).ConfigureAwait(false);
            if (connection.IsConnected || attempt > 0)
            {
                return connection;
            }
            // It dropped since the last file: open it again (once).
            _connections.TryRemove(settings.Key, out _);
            connection.Dispose();
            events.Verbose($"{settings.Host}: the SSH connection closed; connecting again.");
        }
    }

    private static async Task<T> WaitAsync<T>(Task<T> task, CancellationToken ct)
    {
        if (!ct.CanBeCanceled || task.IsCompleted)
        {
            return await task.ConfigureAwait(false);
        }
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ct.Register(() => cancelled.TrySetResult(true)))
        {
            if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
            {
                ct.ThrowIfCancellationRequested();
            }
        }
        return await task.ConfigureAwait(false);
    }

    /// <summary>How many remote commands the open connections ran (for tests: one probe command per host in a warm run).</summary>
    internal int CommandsRun =>
        _connections.Values.Where(l => l.IsValueCreated && l.Value.Status == TaskStatus.RanToCompletion).Sum(l => l.Value.Result.Commands);

    /// <summary>Whether every open connection runs its remote commands on itself (no second connection; for tests).</summary>
    internal bool AllExecOnSameConnection =>
        _connections.Values.Where(l => l.IsValueCreated && l.Value.Status == TaskStatus.RanToCompletion).All(l => l.Value.Result.SharesOneConnection);

    public void Dispose()
    {
        _disposed = true;
        foreach (var lazy in _connections.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.Status == TaskStatus.RanToCompletion)
            {
                lazy.Value.Result.Dispose();
            }
        }
        _connections.Clear();
    }
}

/// <summary>Where a key's passphrase comes from: a SecureString, else an environment variable; never printed.</summary>
public sealed record SftpCredentials
{
    /// <summary>The environment variable read when no passphrase is given.</summary>
    public const string PassphraseVariable = "TALOSIMAGE_SSH_PASSPHRASE";

    public SecureString? Passphrase { get; init; }

    /// <summary>Reads the environment (null: the process environment).</summary>
    public Func<string, string?>? Environment { get; init; }

    internal string? Resolve()
    {
        if (Passphrase is { Length: > 0 } secure)
        {
            var ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try
            {
                return Marshal.PtrToStringUni(ptr);
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }
        var value = (Environment ?? System.Environment.GetEnvironmentVariable)(PassphraseVariable);
        return string.IsNullOrEmpty(value) ? null : value;
    }
}

/// <summary>
/// One SSH connection (SSH.NET) to one host: the host key checked against known_hosts like OpenSSH, public-key
/// authentication, an sftp channel for the files and exec channels on the same connection for the remote scripts.
/// </summary>
internal sealed class SftpConnection : IDisposable
{
    private readonly SftpClient _sftp;
    private readonly SftpSettings _settings;
    private readonly object _session;
    private SshClient? _fallback;

    private SftpConnection(SftpClient sftp, SftpSettings settings, object session)
    {
        _sftp = sftp;
        _settings = settings;
        _session = session;
    }

    public bool IsConnected => _sftp.IsConnected;

    private int _commands;

    /// <summary>How many remote commands ran on this connection.</summary>
    public int Commands => _commands;

    public SftpClient Sftp => _sftp;

    /// <summary>
    /// Connects and authenticates. Throws TalosException: SshHostKeyUnknown / SshHostKeyChanged (the key was refused
    /// before authentication, so nothing was written), SshKeyUnreadable, SshConnectionFailed (unreachable, refused,
    /// timed out, permission denied).
    /// </summary>
    public static async Task<SftpConnection> OpenAsync(SftpSettings s, SftpCredentials credentials, IEngineEvents events, TimeSpan connectTimeout, CancellationToken ct)
    {
        var keys = LoadKeys(s, credentials, events);
        var info = new ConnectionInfo(s.Host, s.Port, s.User, new PrivateKeyAuthenticationMethod(s.User, keys.ToArray()))
        {
            Timeout = s.ConnectTimeout ?? connectTimeout,
            Encoding = new UTF8Encoding(false),
        };
        var files = s.UserKnownHostsFiles.Concat(s.GlobalKnownHostsFiles).ToList();
        PreferKnownTypes(info, KnownHosts.KnownTypes(files, s.KnownHostsName));
        TalosException? refused = null;
        var client = new SftpClient(info);
        client.HostKeyReceived += (_, e) =>
        {
            refused = CheckHostKey(s, files, e.HostKey, events);
            e.CanTrust = refused is null;
        };
        try
        {
            await client.ConnectAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            client.Dispose();
            if (refused is not null)
            {
                throw refused;
            }
            throw new TalosException(TalosErrors.SshConnectionFailed, $"sftp to {s.User}@{s.Host} port {s.Port}: {Describe(e)}", s.Host, e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        // The connection's session, to open exec channels on it; null when SSH.NET's internals differ (then a second connection).
        var session = typeof(BaseClient).GetProperty("Session", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(client);
        events.Verbose($"{s.Host}: connected over SSH (SSH.NET, port {s.Port}, user {s.User}, host key {info.CurrentHostKeyAlgorithm}).");
        return new SftpConnection(client, s, session!);
    }

    private static string Describe(Exception e) => e switch
    {
        SshAuthenticationException => $"Permission denied ({e.Message.TrimEnd('.')}): the host accepted none of the keys offered",
        SocketException se => $"cannot connect: {se.Message} ({se.SocketErrorCode})",
        SshOperationTimeoutException => $"timed out: {e.Message}",
        _ => e.Message,
    };

    /// <summary>
    /// The host key verdict: null when the key is known (or newly accepted with accept-new, which appends its line to
    /// the first UserKnownHostsFile), else the exception that explains the refusal.
    /// </summary>
    internal static TalosException? CheckHostKey(SftpSettings s, IReadOnlyList<string> files, byte[] blob, IEngineEvents events)
    {
        var name = s.KnownHostsName;
        var fingerprint = KnownHosts.Fingerprint(blob);
        var line = KnownHosts.Line(name, blob);
        var (verdict, entry) = KnownHosts.Check(files, name, blob);
        switch (verdict)
        {
            case HostKeyVerdict.Known:
                return null;
            case HostKeyVerdict.Revoked:
                return new TalosException(TalosErrors.SshHostKeyChanged,
                    $"{name} offers the host key {fingerprint}, which {KnownHosts.Where(entry!)} marks @revoked; the connection is refused and nothing was written.", s.Host);
            case HostKeyVerdict.Changed:
                return new TalosException(TalosErrors.SshHostKeyChanged,
                    $"The host key of {name} has changed: it offers {KnownHosts.TypeOf(blob)} {fingerprint}, but {KnownHosts.Where(entry!)} lists another " +
                    $"{KnownHosts.TypeOf(entry!.Blob)} key ({KnownHosts.Fingerprint(entry.Blob)}). Someone may be intercepting the connection, or the host " +
                    "was reinstalled. The connection is refused and nothing was written; if the change is expected, replace that line with: " + line, s.Host);
        }
        var userFile = s.UserKnownHostsFiles.FirstOrDefault();
        if (s.Policy == HostKeyPolicy.AcceptNew && userFile is not null)
        {
            KnownHosts.Append(userFile, line);
            events.Warning($"Permanently added {name} ({KnownHosts.TypeOf(blob)} {fingerprint}) to {userFile} (StrictHostKeyChecking=accept-new).");
            return null;
        }
        return new TalosException(TalosErrors.SshHostKeyUnknown,
            $"{name} is not a known host: its {KnownHosts.TypeOf(blob)} key {fingerprint} is in none of " +
            $"{string.Join(", ", files)}. The connection is refused and nothing was written. Check the fingerprint on the host " +
            $"(ssh-keygen -lf /etc/ssh/ssh_host_{HostKeyFileStem(blob)}_key.pub) and add this line to {userFile ?? "~/.ssh/known_hosts"}: {line} " +
            "(or let the first connection add it: -o StrictHostKeyChecking=accept-new).", s.Host);
    }

    private static string HostKeyFileStem(byte[] blob)
    {
        var type = KnownHosts.TypeOf(blob);
        return type == "ssh-rsa" ? "rsa" : type.StartsWith("ecdsa", StringComparison.Ordinal) ? "ecdsa" : type.Replace("ssh-", "");
    }

    /// <summary>Moves the host key algorithms whose key type known_hosts lists for the host first (OpenSSH does the same).</summary>
    private static void PreferKnownTypes(ConnectionInfo info, IReadOnlyList<string> known)
    {
        if (known.Count == 0)
        {
            return;
        }
        var all = info.HostKeyAlgorithms.ToList();
        var preferred = all.Where(a => known.Contains(KnownHosts.KeyTypeOfAlgorithm(a.Key))).ToList();
        if (preferred.Count == 0)
        {
            return;
        }
        info.HostKeyAlgorithms.Clear();
        foreach (var a in preferred.Concat(all.Except(preferred)))
        {
            info.HostKeyAlgorithms.Add(a.Key, a.Value);
        }
    }

    private static List<IPrivateKeySource> LoadKeys(SftpSettings s, SftpCredentials credentials, IEngineEvents events)
    {
        var keys = new List<IPrivateKeySource>();
        var explicitKeys = s.IdentityFiles.Count > 0;
        string? passphrase = null;
        var passphraseRead = false;
        foreach (var path in s.IdentitiesToTry())
        {
            if (!File.Exists(path))
            {
                // ssh warns and goes on with the other keys.
                events.Warning($"{s.Host}: identity file {path} does not exist; not offered.");
                continue;
            }
            try
            {
                keys.Add(new PrivateKeyFile(path));
                continue;
            }
            catch (SshPassPhraseNullOrEmptyException)
            {
            }
            catch (Exception e) when (e is SshException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or FormatException)
            {
                throw new TalosException(TalosErrors.SshKeyUnreadable, $"{s.Host}: identity file {path} cannot be read as a private key: {e.Message}", path, e);
            }
            if (!passphraseRead)
            {
                passphrase = credentials.Resolve();
                passphraseRead = true;
            }
            if (passphrase is null)
            {
                if (explicitKeys)
                {
                    throw new TalosException(TalosErrors.SshKeyUnreadable,
                        $"{s.Host}: identity file {path} is protected by a passphrase; give it with -KeyPassphrase or the environment variable {SftpCredentials.PassphraseVariable}.", path);
                }
                events.Verbose($"{s.Host}: {path} is protected by a passphrase and none was given; not offered.");
                continue;
            }
            try
            {
                keys.Add(new PrivateKeyFile(path, passphrase));
            }
            catch (Exception e) when (e is SshException or ArgumentException or FormatException or System.Security.Cryptography.CryptographicException or InvalidOperationException)
            {
                // Never the passphrase itself in the message.
                throw new TalosException(TalosErrors.SshKeyUnreadable, $"{s.Host}: identity file {path} cannot be decrypted with the passphrase given (wrong passphrase?).", path, e);
            }
        }
        if (keys.Count == 0)
        {
            throw new TalosException(TalosErrors.SshKeyUnreadable,
                $"{s.Host}: no private key to offer: give one with -i (ssh_opts) or put it in ~/.ssh/{string.Join(", ~/.ssh/", SftpSettings.DefaultIdentityNames)}.", s.Host);
        }
        return keys;
    }

    private static readonly ConstructorInfo? CommandOnSession = typeof(SshCommand)
        .GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic)
        .FirstOrDefault(c => c.GetParameters() is { Length: 3 } p && p[1].ParameterType == typeof(string) && p[2].ParameterType == typeof(Encoding));

    /// <summary>Whether exec channels run on the sftp connection itself (else on a second connection with the same, already checked, host key).</summary>
    public bool SharesOneConnection => CommandOnSession is not null && _session is not null;

    /// <summary>Runs one command line on the host's login shell, as ssh does; exit code -1 when it ended without one (a signal).</summary>
    public async Task<ProcessOutcome> RunAsync(string command, CancellationToken ct)
    {
        Interlocked.Increment(ref _commands);
        SshCommand cmd;
        if (SharesOneConnection)
        {
            cmd = (SshCommand)CommandOnSession!.Invoke(new[] { _session, command, (object)new UTF8Encoding(false) });
        }
        else
        {
            cmd = Fallback().CreateCommand(command);
        }
        using (cmd)
        {
            try
            {
                await cmd.ExecuteAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SshException or SocketException or ObjectDisposedException && !ct.IsCancellationRequested)
            {
                return new ProcessOutcome((int)RemoteExit.SshFailed, "", e.Message);
            }
            return new ProcessOutcome(cmd.ExitStatus ?? -1, cmd.Result, cmd.Error);
        }
    }

    private SshClient Fallback()
    {
        lock (_sftp)
        {
            if (_fallback is { IsConnected: true })
            {
                return _fallback;
            }
            var pinned = _sftp.ConnectionInfo;
            byte[]? seen = null;
            var client = new SshClient(pinned);
            client.HostKeyReceived += (_, e) =>
            {
                seen ??= e.HostKey;
                e.CanTrust = KnownHosts.Check(_settings.UserKnownHostsFiles.Concat(_settings.GlobalKnownHostsFiles), _settings.KnownHostsName, e.HostKey).Verdict == HostKeyVerdict.Known;
            };
            client.Connect();
            _fallback = client;
            return client;
        }
    }

    public void Dispose()
    {
        _fallback?.Dispose();
        _sftp.Dispose();
    }
}
