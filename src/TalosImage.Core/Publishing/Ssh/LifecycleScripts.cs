using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// The remote scripts of an image's life on an SSH host (issue 19), next to <see cref="RemoteScripts"/> and in the same
/// style: built only from validated, single-quoted paths, printing <c>talosimage-*</c> lines. Free space (POSIX
/// <c>df -Pk</c>), the SHA-256 of an existing file (its sidecar while the file is not newer, else hashed), which VM or
/// template configurations under /etc/pve reference a file, listing a folder's files with their sidecars, removing a
/// file with its sidecar.
/// </summary>
internal static class LifecycleScripts
{
    /// <summary><c>talosimage-avail BYTES</c>: free bytes of the folder's filesystem for an unprivileged writer.</summary>
    public const string Avail = RemoteMarker.Prefix + "avail";
    /// <summary><c>talosimage-user PATH</c>: a VM or template configuration that references the file.</summary>
    public const string User = RemoteMarker.Prefix + "user";
    /// <summary><c>talosimage-file SIZE MTIME NAME</c>: one file of a listed folder.</summary>
    public const string File = RemoteMarker.Prefix + "file";
    /// <summary><c>talosimage-sidecar HEX NAME</c>: the first word of a listed file's <c>.sha256</c> sidecar.</summary>
    public const string SidecarLine = RemoteMarker.Prefix + "sidecar";
    /// <summary><c>talosimage-removed NAME</c>.</summary>
    public const string Removed = RemoteMarker.Prefix + "removed";

    private static readonly Regex SafeName = new("^[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant);

    /// <summary>
    /// One round trip before a transfer: the free space of <paramref name="dir"/>; with <paramref name="hashFile"/> the
    /// file's own SHA-256 (<c>talosimage-sha</c>, hashed, not read from its sidecar); with <paramref name="usersOf"/> the configurations that reference that
    /// file name. Exit 0 whatever it finds (a missing df prints no avail line).
    /// </summary>
    internal static string Preflight(string dir, string? hashFile, string? usersOf, string pveDir)
    {
        var sb = new StringBuilder(FreeSpace(dir));
        if (hashFile is not null)
        {
            // The file itself, never its sidecar: a conflict is declared on what is there, not on a record of it.
            var f = SshSafety.Quote(hashFile);
            sb.Append("if [ -f ").Append(f).Append(" ]; then h=$(sha256sum < ").Append(f).Append(") || h=; h=${h%% *}; echo \"" + RemoteMarker.Sha + " $h\"; fi; ");
        }
        if (usersOf is not null)
        {
            sb.Append(Users(usersOf, pveDir));
        }
        sb.Append("exit 0");
        return sb.ToString();
    }

    /// <summary>
    /// Prints <c>talosimage-avail KIB</c>, the free space of <paramref name="dir"/>'s filesystem from POSIX <c>df -Pk</c>
    /// (KIB empty when df fails or is missing).
    /// </summary>
    internal static string FreeSpace(string dir) =>
        "a=$(df -Pk -- " + SshSafety.Quote(dir) + " 2>/dev/null) || a=; printf '%s\\n' \"$a\" | { read -r _; read -r _ _ _ av _; echo \"" + Avail + " $av\"; }; ";

    /// <summary>
    /// Prints <c>talosimage-user PATH</c> for each VM/template configuration (<c>&lt;pve&gt;/nodes/*/qemu-server/*.conf</c>,
    /// <c>&lt;pve&gt;/qemu-server/*.conf</c>; comment lines, where Proxmox keeps the description, skipped; snapshot
    /// sections count) that names <c>:iso/NAME</c> or <c>:import/NAME</c> as a whole item.
    /// </summary>
    internal static string Users(string fileName, string pveDir)
    {
        var pve = SshSafety.Quote(pveDir.TrimEnd('/').Length == 0 ? "/" : pveDir.TrimEnd('/'));
        var grep = SafeName.IsMatch(fileName)
            ? "grep -qE -- " + SshSafety.Quote(":(iso|import)/" + fileName.Replace(".", "[.]") + "(,|[[:space:]]|$)")
            : "grep -qF -- " + SshSafety.Quote("/" + fileName);
        return "for c in " + pve + "/nodes/*/qemu-server/*.conf " + pve + "/qemu-server/*.conf; do [ -f \"$c\" ] || continue; " +
               "if grep -v '^#' -- \"$c\" | " + grep + "; then echo \"" + User + " $c\"; fi; done; ";
    }

    /// <summary>
    /// Lists the regular files of <paramref name="dir"/> whose names start with <c>talos-</c> (size, mtime, name) and
    /// the first word of each one's sidecar. Nothing else of the folder is printed.
    /// </summary>
    internal static string List(string dir)
    {
        var d = SshSafety.Quote(dir.TrimEnd('/'));
        return "[ -d " + d + " ] || exit 0; for f in " + d + "/talos-*; do [ -f \"$f\" ] || continue; n=${f##*/}; case \"$n\" in *.sha256) continue;; esac; " +
               "s=$(stat -c '%s %Y' -- \"$f\" 2>/dev/null) || continue; echo \"" + File + " $s $n\"; " +
               "if [ -f \"$f.sha256\" ]; then read -r h _ < \"$f.sha256\" && echo \"" + SidecarLine + " $h $n\"; fi; done; exit 0";
    }

    /// <summary>Removes <paramref name="dir"/>/NAME and its sidecar for each name; prints <c>talosimage-removed NAME</c> for each one gone.</summary>
    internal static string Remove(string dir, IEnumerable<string> names)
    {
        var d = dir.TrimEnd('/');
        var sb = new StringBuilder();
        foreach (var name in names)
        {
            var f = SshSafety.Quote(d + "/" + name);
            sb.Append("rm -f -- ").Append(f).Append(' ').Append(SshSafety.Quote(d + "/" + name + ".sha256")).Append(" && [ ! -e ").Append(f).Append(" ] && echo ")
              .Append(SshSafety.Quote(Removed + " " + name)).Append("; ");
        }
        sb.Append("exit 0");
        return sb.ToString();
    }

    /// <summary>Every value of one marker, in order (<see cref="RemoteMarker.Parse"/> keeps only the last).</summary>
    internal static List<string> All(string stdout, string marker)
    {
        var values = new List<string>();
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith(marker + " ", StringComparison.Ordinal))
            {
                values.Add(line.Substring(marker.Length + 1).Trim());
            }
        }
        return values;
    }

    internal static long? Bytes(string? kibibytes) =>
        long.TryParse(kibibytes, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k * 1024 : null;
}
