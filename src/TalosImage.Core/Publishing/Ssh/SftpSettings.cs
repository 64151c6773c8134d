using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>What a host key check does with an unknown host (a changed or revoked key is always refused).</summary>
public enum HostKeyPolicy
{
    /// <summary>OpenSSH's <c>StrictHostKeyChecking=yes</c> (and <c>ask</c>, which is yes without a terminal): refuse it.</summary>
    Strict,
    /// <summary><c>StrictHostKeyChecking=accept-new</c> (or <c>no</c>/<c>off</c>): append its key to the known_hosts file and go on.</summary>
    AcceptNew,
}

/// <summary>
/// The sftp transport's reading of a host and <c>ssh_opts</c>, with OpenSSH's meaning: user, host and port from
/// <c>[user@]host</c> and <c>-p</c>, <c>-l</c>, <c>-i</c>, <c>-o Port=</c>, <c>-o User=</c>, <c>-o IdentityFile=</c>,
/// <c>-o UserKnownHostsFile=</c>, <c>-o GlobalKnownHostsFile=</c>, <c>-o StrictHostKeyChecking=</c>,
/// <c>-o ConnectTimeout=</c> (the first value of a setting wins, as in ssh; <c>-l</c>/<c>-o User</c> win over
/// <c>user@</c>, as in ssh). <c>-o BatchMode</c>, <c>-o IdentitiesOnly</c> and the flags <c>-a -q -T -x -k</c> are accepted and change nothing (sftp never
/// prompts and uses no agent). Every other option is refused (ErrorId SftpOptionUnsupported), naming them all.
/// </summary>
public sealed record SftpSettings
{
    public string User { get; init; } = "";
    /// <summary>The host name or address (IPv6 without brackets).</summary>
    public string Host { get; init; } = "";
    public int Port { get; init; } = 22;
    /// <summary>Explicit identity files (already <c>~</c>-expanded); empty means the defaults.</summary>
    public IReadOnlyList<string> IdentityFiles { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> UserKnownHostsFiles { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> GlobalKnownHostsFiles { get; init; } = Array.Empty<string>();
    public HostKeyPolicy Policy { get; init; } = HostKeyPolicy.Strict;
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>The identity files OpenSSH would try without <c>-i</c>, in this order.</summary>
    public static IReadOnlyList<string> DefaultIdentityNames { get; } = new[] { "id_ed25519", "id_ecdsa", "id_rsa" };

    /// <summary>The name known_hosts lists this host under: <c>host</c> on port 22, else <c>[host]:port</c>.</summary>
    public string KnownHostsName => Port == 22 ? Host : $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>One string for the connection pool: the same settings share one connection.</summary>
    public string Key => string.Join("\u0001", new[] { User, Host, Port.ToString(CultureInfo.InvariantCulture), Policy.ToString(), ConnectTimeout?.ToString() ?? "" }
        .Concat(IdentityFiles).Concat(new[] { "|" }).Concat(UserKnownHostsFiles).Concat(new[] { "|" }).Concat(GlobalKnownHostsFiles));

    private static readonly HashSet<string> Ignored = new(StringComparer.OrdinalIgnoreCase) { "BatchMode", "IdentitiesOnly" };

    /// <summary>
    /// Reads <paramref name="host"/> (<c>[user@]host</c>, already checked by <see cref="SshSafety.CheckHost"/>) and the
    /// ssh option words (already checked by <see cref="SshSafety.CheckSshOptions"/>). Throws TalosException
    /// SftpOptionUnsupported for options the sftp transport cannot honour.
    /// </summary>
    public static SftpSettings From(string host, IReadOnlyList<string> options, string? home = null)
    {
        home ??= HomeFolder();
        string? user = null, port = null, strict = null, timeout = null, userKnown = null, globalKnown = null;
        var identities = new List<string>();
        var unsupported = new List<string>();
        for (var i = 0; i < options.Count; i++)
        {
            var w = options[i];
            for (var j = 1; j < w.Length; j++)
            {
                var c = w[j];
                if ("aqTxk".IndexOf(c) >= 0)
                {
                    // No agent forwarding, quiet, no tty, no X11, no GSSAPI delegation: what sftp does anyway.
                    continue;
                }
                if ("bBcimJlmopPS".IndexOf(c) < 0)
                {
                    // A flag: none changes what sftp does, and several (-A agent forwarding, -C, -4/-6, -v) cannot be honoured.
                    unsupported.Add("-" + c);
                    continue;
                }
                var value = j + 1 < w.Length ? w.Substring(j + 1) : options[++i];
                switch (c)
                {
                    case 'p':
                        port ??= value;
                        break;
                    case 'l':
                        user ??= value;
                        break;
                    case 'i':
                        identities.Add(value);
                        break;
                    case 'o':
                        var m = Regex.Match(value, @"^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)?(.*)$", RegexOptions.Singleline);
                        var key = m.Groups[1].Value;
                        var v = m.Groups[2].Value.Trim();
                        switch (key.ToLowerInvariant())
                        {
                            case "port": port ??= v; break;
                            case "user": user ??= v; break;
                            case "identityfile": identities.Add(v); break;
                            case "userknownhostsfile": userKnown ??= v; break;
                            case "globalknownhostsfile": globalKnown ??= v; break;
                            case "stricthostkeychecking": strict ??= v; break;
                            case "connecttimeout": timeout ??= v; break;
                            default:
                                if (!Ignored.Contains(key))
                                {
                                    unsupported.Add("-o " + key);
                                }
                                break;
                        }
                        break;
                    default:
                        unsupported.Add("-" + c);
                        break;
                }
                break;
            }
        }
        if (unsupported.Count > 0)
        {
            throw new TalosException(TalosErrors.SftpOptionUnsupported,
                $"ssh options for {host}: {string.Join(", ", unsupported.Distinct(StringComparer.Ordinal))} cannot be honoured by the sftp transport " +
                "(it takes the user, port, identity files, known_hosts files, StrictHostKeyChecking and ConnectTimeout). " +
                "Remove them, or use push.transport: rsync (the ssh program, which has them).", host);
        }

        var at = host.LastIndexOf('@');
        var name = (at < 0 ? host : host.Substring(at + 1)).Replace("[", "").Replace("]", "");
        user ??= at < 0 ? null : host.Substring(0, at);
        return new SftpSettings
        {
            User = user is { Length: > 0 } u ? u : Environment.UserName,
            Host = name,
            Port = port is null ? 22 : ParsePort(port, host),
            IdentityFiles = identities.Select(p => Expand(p, home)).ToList(),
            UserKnownHostsFiles = Files(userKnown, home) ?? new[] { Path.Combine(home, ".ssh", "known_hosts"), Path.Combine(home, ".ssh", "known_hosts2") },
            GlobalKnownHostsFiles = Files(globalKnown, home) ?? DefaultGlobalKnownHosts(),
            Policy = PolicyOf(strict, host),
            ConnectTimeout = timeout is null || timeout.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : TimeSpan.FromSeconds(ParseSeconds(timeout, host)),
        };
    }

    /// <summary>The identity files to try: the given ones, else those of <see cref="DefaultIdentityNames"/> that exist.</summary>
    public IReadOnlyList<string> IdentitiesToTry(string? home = null)
    {
        if (IdentityFiles.Count > 0)
        {
            return IdentityFiles;
        }
        home ??= HomeFolder();
        return DefaultIdentityNames.Select(n => Path.Combine(home, ".ssh", n)).Where(File.Exists).ToList();
    }

    /// <summary>/etc/ssh/ssh_known_hosts(2); on Windows also Win32-OpenSSH's %ProgramData%\ssh\ssh_known_hosts.</summary>
    private static IReadOnlyList<string> DefaultGlobalKnownHosts()
    {
        var files = new List<string> { "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2" };
        if (Path.DirectorySeparatorChar == '\\')
        {
            var data = Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData);
            if (data.Length > 0)
            {
                files.Add(Path.Combine(data, "ssh", "ssh_known_hosts"));
            }
        }
        return files;
    }

    private static IReadOnlyList<string>? Files(string? value, string home) =>
        value is null ? null : value.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)
            .Where(f => !f.Equals("none", StringComparison.OrdinalIgnoreCase)).Select(f => Expand(f, home)).ToList();

    private static HostKeyPolicy PolicyOf(string? value, string host) => (value ?? "yes").ToLowerInvariant() switch
    {
        "yes" or "ask" or "true" => HostKeyPolicy.Strict,
        "accept-new" or "no" or "off" or "false" => HostKeyPolicy.AcceptNew,
        _ => throw new TalosException(TalosErrors.SftpOptionUnsupported, $"ssh options for {host}: StrictHostKeyChecking={SshSafety.Printable(value!)} is not yes, ask, accept-new, no or off.", host),
    };

    private static int ParsePort(string value, string host) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536
            ? p
            : throw new TalosException(TalosErrors.SftpOptionUnsupported, $"ssh options for {host}: port '{SshSafety.Printable(value)}' is not a number from 1 to 65535.", host);

    private static int ParseSeconds(string value, string host) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s is > 0 and < 100000
            ? s
            : throw new TalosException(TalosErrors.SftpOptionUnsupported, $"ssh options for {host}: ConnectTimeout '{SshSafety.Printable(value)}' is not a number of seconds.", host);

    /// <summary><c>~</c> and <c>~/</c> as the home folder (ssh's own expansion of these options).</summary>
    internal static string Expand(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path.Substring(2)) : path;

    internal static string HomeFolder()
    {
        var home = Environment.GetEnvironmentVariable("HOME");
        return string.IsNullOrEmpty(home) ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) : home!;
    }
}
