using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// The one rule for what may reach ssh and rsync: host names, remote folders and the <c>ssh_opts</c> /
/// <c>rsync_opts</c> strings. The order loader (file:line:column messages) and <see cref="SshPublisher"/> (exceptions
/// with ErrorIds UnsafeHost, UnsafeRemotePath, UnsafeOption) both call it. Nothing here is ever run through a local
/// shell; remote commands are built only from validated paths, each single-quoted by <see cref="Quote"/>.
/// </summary>
public static class SshSafety
{
    private static readonly Regex HostPattern = new(
        @"^(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$", RegexOptions.CultureInvariant);

    private static readonly Regex JumpHostPattern = new(
        @"^(?:none|(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9_][A-Za-z0-9._-]*(?::[0-9]{1,5})?(?:,(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9_][A-Za-z0-9._-]*(?::[0-9]{1,5})?)*)$",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// An absolute path: any characters but NUL, line breaks and other control characters (C0, DEL, C1), which no
    /// quoting carries safely; spaces, quotes, <c>$</c>, <c>;</c> and non-ASCII letters are passed literally (rsync
    /// <c>--protect-args</c>, sftp paths, single-quoted remote commands).
    /// </summary>
    private static readonly Regex RemotePathPattern = new(@"^/[^\u0000-\u001f\u007f-\u009f]*\z", RegexOptions.CultureInvariant);

    /// <summary>Characters an rsync option may contain: rsync passes options on to the remote side.</summary>
    private static readonly Regex PlainRsyncToken = new(@"^[A-Za-z0-9._/+=,:@%-]+$", RegexOptions.CultureInvariant);

    private static readonly Regex PlainToken = new(@"^[A-Za-z0-9._/+=,:@%-]+$", RegexOptions.CultureInvariant);

    /// <summary>What a remote folder may hold, for messages.</summary>
    public const string RemotePathCharacters = "any characters but NUL, line breaks and other control characters";

    // ssh short options: flags that are fine for a file transfer, and options that take a value.
    private const string SshFlags = "46aACkKqTvxy";
    private const string SshValueOptions = "bBcilJmopPS";

    private static readonly HashSet<string> SshAllowedKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "AddKeysToAgent", "AddressFamily", "BatchMode", "BindAddress", "BindInterface", "CASignatureAlgorithms", "CertificateFile",
        "ChallengeResponseAuthentication", "CheckHostIP", "Ciphers", "Compression", "ConnectionAttempts", "ConnectTimeout",
        "ControlMaster", "ControlPath", "ControlPersist", "FingerprintHash", "ForwardAgent", "GlobalKnownHostsFile",
        "GSSAPIAuthentication", "GSSAPIDelegateCredentials", "HashKnownHosts", "HostbasedAcceptedAlgorithms", "HostbasedAuthentication",
        "HostKeyAlgorithms", "HostKeyAlias", "HostName", "IdentitiesOnly", "IdentityAgent", "IdentityFile", "IPQoS",
        "KbdInteractiveAuthentication", "KbdInteractiveDevices", "KexAlgorithms", "LogLevel", "LogVerbose", "MACs",
        "NoHostAuthenticationForLocalhost", "NumberOfPasswordPrompts", "PasswordAuthentication", "Port", "PreferredAuthentications",
        "ProxyJump", "PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes", "PubkeyAuthentication", "RekeyLimit", "RequiredRSASize",
        "RevokedHostKeys", "ServerAliveCountMax", "ServerAliveInterval", "StrictHostKeyChecking", "TCPKeepAlive", "UpdateHostKeys",
        "User", "UserKnownHostsFile", "VerifyHostKeyDNS", "VisualHostKey",
    };

    private static readonly HashSet<string> SshCommandKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "ProxyCommand", "LocalCommand", "PermitLocalCommand", "RemoteCommand", "KnownHostsCommand", "Match", "Include",
        "PKCS11Provider", "SecurityKeyProvider", "SessionType", "StdinNull", "ForkAfterAuthentication", "RequestTTY", "SendEnv",
        "SetEnv", "ProxyUseFdpass", "EscapeChar", "LocalForward", "RemoteForward", "DynamicForward", "Tunnel", "TunnelDevice",
    };

    // rsync long options (name without --) that run commands, change the transport or touch other files.
    private static readonly string[] RsyncDenied =
    {
        "rsh", "rsync-path", "remote-option", "remove-source-files", "remove-sent-files", "del", "old-args", "no-protect-args",
        "no-secluded-args", "no-s", "log-file", "write-batch", "only-write-batch", "read-batch", "daemon", "config", "server",
        "sender", "dry-run", "list-only", "files-from", "relative", "early-input", "temp-dir", "backup-dir", "partial-dir",
    };

    // rsync short options taking a value (the rest of the cluster or the next word), and short options refused.
    private const string RsyncValueOptions = "BTf@";
    private const string RsyncDeniedShort = "eMnRT";

    /// <summary>Null when <paramref name="host"/> is a safe <c>[user@]host</c>, else why not.</summary>
    public static string? HostProblem(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return "no host name given";
        }
        if (host!.Length > 320 || host.StartsWith("-", StringComparison.Ordinal) || !HostPattern.IsMatch(host))
        {
            return $"'{Printable(host)}' is not a host name: use [user@]name with letters, digits, '.', '_' and '-' (no spaces, ';', quotes or a leading '-')";
        }
        return null;
    }

    /// <summary>Null when <paramref name="path"/> is a safe absolute remote folder or file path, else why not.</summary>
    public static string? RemotePathProblem(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "no remote folder given";
        }
        if (path!.Length > 1024 || !RemotePathPattern.IsMatch(path) || path.Split('/').Any(part => part == ".."))
        {
            return $"'{Printable(path)}' is not a safe remote folder: use an absolute path (starting with '/') of {RemotePathCharacters}, without '..' segments";
        }
        return null;
    }

    /// <summary>The folder without trailing slashes (<c>/</c> stays <c>/</c>).</summary>
    public static string NormaliseRemoteDir(string path) => path.Length > 1 ? path.TrimEnd('/') is { Length: > 0 } t ? t : "/" : path;

    /// <summary>Throws ErrorId UnsafeHost unless <paramref name="host"/> is safe.</summary>
    public static string CheckHost(string? host) =>
        HostProblem(host) is { } problem ? throw new TalosException(TalosErrors.UnsafeHost, problem, host) : host!;

    /// <summary>Throws ErrorId UnsafeRemotePath unless <paramref name="path"/> is safe; returns it normalised.</summary>
    public static string CheckRemoteDir(string? path, string what) =>
        RemotePathProblem(path) is { } problem
            ? throw new TalosException(TalosErrors.UnsafeRemotePath, $"{what}: {problem}", path)
            : NormaliseRemoteDir(path!);

    /// <summary>
    /// Splits an option string as a POSIX shell would split words (spaces and tabs separate; single quotes keep text
    /// as is; double quotes keep text, with \ escaping \ " $ `; a backslash outside quotes escapes the next
    /// character), without expanding anything. Line breaks, control characters and unbalanced quotes are refused
    /// (ErrorId UnsafeOption).
    /// </summary>
    public static IReadOnlyList<string> SplitOptions(string? options, string what)
    {
        var words = new List<string>();
        if (options is null)
        {
            return words;
        }
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < options.Length; i++)
        {
            var c = options[i];
            if (c < 0x20 && c != '\t' || c == 0x7f)
            {
                throw Unsafe(what, options, "contains a line break or control character");
            }
            switch (c)
            {
                case ' ' or '\t':
                    if (inWord)
                    {
                        words.Add(word.ToString());
                        word.Clear();
                        inWord = false;
                    }
                    break;
                case '\'':
                    inWord = true;
                    var close = options.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        throw Unsafe(what, options, "has an unclosed single quote");
                    }
                    var quoted = options.Substring(i + 1, close - i - 1);
                    if (quoted.Any(ch => ch < 0x20 || ch == 0x7f))
                    {
                        throw Unsafe(what, options, "contains a line break or control character");
                    }
                    word.Append(quoted);
                    i = close;
                    break;
                case '"':
                    inWord = true;
                    i++;
                    for (; ; i++)
                    {
                        if (i >= options.Length)
                        {
                            throw Unsafe(what, options, "has an unclosed double quote");
                        }
                        var d = options[i];
                        if (d < 0x20 || d == 0x7f)
                        {
                            throw Unsafe(what, options, "contains a line break or control character");
                        }
                        if (d == '"')
                        {
                            break;
                        }
                        if (d == '\\' && i + 1 < options.Length && options[i + 1] is '\\' or '"' or '$' or '`')
                        {
                            i++;
                            d = options[i];
                        }
                        word.Append(d);
                    }
                    break;
                case '\\':
                    inWord = true;
                    if (i + 1 >= options.Length)
                    {
                        throw Unsafe(what, options, "ends with a backslash");
                    }
                    i++;
                    if (options[i] < 0x20 || options[i] == 0x7f)
                    {
                        throw Unsafe(what, options, "contains a line break or control character");
                    }
                    word.Append(options[i]);
                    break;
                default:
                    inWord = true;
                    word.Append(c);
                    break;
            }
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return words;
    }

    /// <summary>
    /// Splits and checks <c>ssh_opts</c>. Only options that shape a connection are accepted: flags
    /// <c>-4 -6 -a -A -C -k -K -q -T -v -x -y</c>, <c>-b -B -c -i -J -l -m -o -p -P -S</c> with a value, and <c>-o</c> keys
    /// from a fixed list (BatchMode, Port, IdentityFile, UserKnownHostsFile, StrictHostKeyChecking, ConnectTimeout,
    /// ControlPath, ProxyJump to plain host names, ...). Anything that runs a command (ProxyCommand, LocalCommand,
    /// PermitLocalCommand, RemoteCommand, KnownHostsCommand), loads code (PKCS11Provider, -I), forwards, reads another
    /// config (-F), or is a bare word (which ssh would take as the host or the remote command) fails with ErrorId UnsafeOption.
    /// </summary>
    public static IReadOnlyList<string> CheckSshOptions(string? options, string what = "ssh options")
    {
        var words = SplitOptions(options, what);
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (w.Length < 2 || w[0] != '-' || w == "--" || w.StartsWith("--", StringComparison.Ordinal))
            {
                throw Unsafe(what, options, w.Length > 0 && w[0] == '-'
                    ? $"'{Printable(w)}' is not an ssh option"
                    : $"'{Printable(w)}' is not an option: ssh would take a bare word as the host or as a command to run");
            }
            for (var j = 1; j < w.Length; j++)
            {
                var c = w[j];
                if (SshFlags.IndexOf(c) >= 0)
                {
                    continue;
                }
                if (SshValueOptions.IndexOf(c) < 0)
                {
                    throw Unsafe(what, options, c switch
                    {
                        'F' => "-F (another config file) is not accepted; put host settings in ~/.ssh/config, which ssh reads anyway",
                        'I' => "-I loads a PKCS#11 library and is not accepted",
                        'L' or 'R' or 'D' or 'W' or 'w' => $"-{c} (forwarding) is not accepted for a file transfer",
                        'N' or 'f' or 'n' or 's' or 't' or 'G' or 'M' or 'O' or 'Q' or 'V' or 'E' or 'e' or 'g' or 'X' or 'Y' =>
                            $"-{c} changes how ssh runs and is not accepted for a file transfer",
                        _ => $"-{c} is not an ssh option TalosImage passes on",
                    });
                }
                string value;
                if (j + 1 < w.Length)
                {
                    value = w.Substring(j + 1);
                }
                else if (i + 1 < words.Count)
                {
                    value = words[++i];
                }
                else
                {
                    throw Unsafe(what, options, $"-{c} needs a value");
                }
                CheckSshValue(c, value, what, options);
                break;
            }
        }
        return words;
    }

    private static void CheckSshValue(char option, string value, string what, string? options)
    {
        if (option == 'J')
        {
            CheckJumpHosts(value, what, options);
            return;
        }
        if (option != 'o')
        {
            return;
        }
        var m = Regex.Match(value, @"^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)?(.*)$", RegexOptions.Singleline);
        var key = m.Success ? m.Groups[1].Value : value;
        if (SshCommandKeys.Contains(key))
        {
            throw Unsafe(what, options, $"-o {key} is not accepted: it would run a command, load code, forward or change how ssh runs");
        }
        if (!SshAllowedKeys.Contains(key))
        {
            throw Unsafe(what, options, $"-o {Printable(key)} is not an ssh option TalosImage passes on; set it for the host in ~/.ssh/config instead");
        }
        if (string.Equals(key, "ProxyJump", StringComparison.OrdinalIgnoreCase))
        {
            CheckJumpHosts(m.Groups[2].Value.Trim(), what, options);
        }
    }

    private static void CheckJumpHosts(string value, string what, string? options)
    {
        if (!JumpHostPattern.IsMatch(value))
        {
            throw Unsafe(what, options, $"jump host '{Printable(value)}' must be [user@]host[:port][,...] with letters, digits, '.', '_' and '-'");
        }
    }

    /// <summary>
    /// Splits and checks <c>rsync_opts</c>. Every word must be an option made of plain characters
    /// (letters, digits and <c>. _ / + = , : @ % -</c>; long options with values as <c>--name=value</c>). Options that
    /// change the transport or what gets written or deleted fail with ErrorId UnsafeOption: <c>-e/--rsh</c>,
    /// <c>--rsync-path</c>, <c>-M/--remote-option</c>, <c>--remove-source-files</c>, <c>--del</c>/<c>--delete*</c>,
    /// <c>--old-args</c>/<c>--no-protect-args</c>, <c>-n/--dry-run</c>, <c>-R/--relative</c>, <c>--files-from</c>,
    /// <c>--log-file</c>, batch modes, <c>--daemon</c>, <c>--server</c>, <c>-T/--temp-dir</c>, <c>--backup-dir</c>,
    /// <c>--partial-dir</c>; so does a bare word (rsync would take it as another file to send).
    /// </summary>
    public static IReadOnlyList<string> CheckRsyncOptions(string? options, string what = "rsync options")
    {
        var words = SplitOptions(options, what);
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (w.Length < 2 || w[0] != '-' || w == "--")
            {
                throw Unsafe(what, options, $"'{Printable(w)}' is not an option: rsync would take a bare word as another file to send " +
                    "(write options with values as --name=value)");
            }
            if (!PlainRsyncToken.IsMatch(w))
            {
                throw Unsafe(what, options, $"'{Printable(w)}' contains characters rsync options never need (allowed: letters, digits and . _ / + = , : @ % -)");
            }
            if (w.StartsWith("--", StringComparison.Ordinal))
            {
                var name = w.Substring(2).Split('=')[0].ToLowerInvariant();
                if (name.StartsWith("delete", StringComparison.Ordinal) || RsyncDenied.Contains(name))
                {
                    throw Unsafe(what, options, $"--{name} is not accepted: TalosImage sets the transport, the remote rsync and the destination itself, and never deletes or moves source files");
                }
                continue;
            }
            for (var j = 1; j < w.Length; j++)
            {
                var c = w[j];
                if (RsyncDeniedShort.IndexOf(c) >= 0)
                {
                    throw Unsafe(what, options, c switch
                    {
                        'e' => "-e (the remote shell) is not accepted: TalosImage builds it from the ssh program and ssh options",
                        'M' => "-M (options for the remote rsync) is not accepted",
                        'n' => "-n (dry run) is not accepted: nothing would be published",
                        'R' => "-R (relative paths) is not accepted: it changes the destination",
                        _ => "-T (another temporary folder) is not accepted",
                    });
                }
                if (RsyncValueOptions.IndexOf(c) >= 0)
                {
                    if (j + 1 == w.Length)
                    {
                        if (i + 1 >= words.Count)
                        {
                            throw Unsafe(what, options, $"-{c} needs a value");
                        }
                        var value = words[++i];
                        if (!PlainToken.IsMatch(value))
                        {
                            throw Unsafe(what, options, $"'{Printable(value)}' contains characters rsync options never need");
                        }
                    }
                    break;
                }
            }
        }
        return words;
    }

    /// <summary>
    /// One argument for rsync's <c>-e</c> string, which rsync splits itself at spaces honouring single and double quotes
    /// (no backslash escapes, no shell).
    /// </summary>
    internal static string QuoteForRsyncShell(string argument, string what)
    {
        if (argument.Length > 0 && PlainToken.IsMatch(argument))
        {
            return argument;
        }
        if (argument.IndexOf('\'') < 0)
        {
            return "'" + argument + "'";
        }
        if (argument.IndexOf('"') < 0)
        {
            return "\"" + argument + "\"";
        }
        throw Unsafe(what, argument, "has both single and double quotes inside one word, which rsync's -e cannot carry");
    }

    /// <summary>
    /// <paramref name="value"/> single-quoted for a POSIX remote shell (<c>'</c> becomes <c>'"'"'</c>). Refuses empty
    /// values, line breaks and control characters (ErrorId UnsafeRemotePath).
    /// </summary>
    public static string Quote(string value)
    {
        if (string.IsNullOrEmpty(value) || value.Any(c => c < 0x20 || c == 0x7f))
        {
            throw new TalosException(TalosErrors.UnsafeRemotePath, $"'{Printable(value ?? "")}' cannot be passed to a remote shell.", value);
        }
        return "'" + value.Replace("'", "'\"'\"'") + "'";
    }

    /// <summary>The text with control and invisible characters shown as escapes, shortened when huge (for messages).</summary>
    public static string Printable(string s) => SafeText.ForMessage(s, 300);

    private static TalosException Unsafe(string what, string? options, string why) =>
        new(TalosErrors.UnsafeOption, $"{what} '{Printable(options ?? "")}': {why}.", options);
}
