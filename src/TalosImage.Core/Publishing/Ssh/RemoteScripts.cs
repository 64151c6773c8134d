using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// The exit codes of the remote scripts (<see cref="RemoteScripts"/>): what SshPublisher tells apart. 255 is ssh's own
/// (the connection failed); any other code is an unexpected failure of a remote command.
/// </summary>
internal enum RemoteExit
{
    Ok = 0,
    /// <summary>mkdir -p of the destination folder failed.</summary>
    MkdirFailed = 3,
    /// <summary>A file could not be read or stat'ed (hashing, size).</summary>
    ReadFailed = 4,
    /// <summary>The pushed temporary file's SHA-256 is not the local one (it is removed; the hash is printed).</summary>
    VerifyFailed = 5,
    /// <summary>Renaming the temporary file into place failed.</summary>
    RenameFailed = 6,
    /// <summary>The decompressor could not expand the pushed file.</summary>
    ExpandFailed = 7,
    /// <summary>The expanded image's SHA-256 is not the expected raw one.</summary>
    RawVerifyFailed = 8,
    /// <summary>ssh itself failed: no connection, authentication refused.</summary>
    SshFailed = 255,
}

/// <summary>The lines the remote scripts print (<c>MARKER [value]</c>) and SshPublisher reads back.</summary>
internal static class RemoteMarker
{
    /// <summary>Every marker starts with it; other output lines are not the protocol's.</summary>
    public const string Prefix = "talosimage-";
    /// <summary><c>talosimage-size N</c>: the final file exists with N bytes.</summary>
    public const string Size = Prefix + "size";
    /// <summary><c>talosimage-sha HEX</c>: the final file's (probe) or the pushed file's (finish, on a mismatch) SHA-256.</summary>
    public const string Sha = Prefix + "sha";
    /// <summary>The decompressor for a remote expansion is installed.</summary>
    public const string Have = Prefix + "have";
    /// <summary><c>talosimage-resume N</c>: a stale temporary file of N bytes was taken over, so rsync resumes.</summary>
    public const string Resume = Prefix + "resume";
    /// <summary>The final file already is what this push would put there; nothing replaced.</summary>
    public const string Identical = Prefix + "identical";
    /// <summary>Verified and renamed into place.</summary>
    public const string Ok = Prefix + "ok";
    /// <summary><c>talosimage-block INDEX HEX</c>: the SHA-256 of one block of a temporary file (sftp resume).</summary>
    public const string Block = Prefix + "block";
    /// <summary><c>talosimage-raw HEX</c>: the SHA-256 of the image expanded on the host.</summary>
    public const string Raw = Prefix + "raw";
    /// <summary><c>talosimage-file N</c>: the output of file N's probe in a batch follows (<see cref="RemoteScripts.ProbeBatch"/>).</summary>
    public const string File = Prefix + "file";
    /// <summary><c>talosimage-end N CODE</c>: file N's probe in a batch ended with exit code CODE.</summary>
    public const string End = Prefix + "end";

    /// <summary>The protocol's lines of a script's output: marker to value ("" for a bare marker).</summary>
    public static Dictionary<string, string> Parse(string stdout)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            var space = line.IndexOf(' ');
            map[space < 0 ? line : line.Substring(0, space)] = space < 0 ? "" : line.Substring(space + 1).Trim();
        }
        return map;
    }
}

/// <summary>
/// The two shell scripts one push runs on a host (a probe before the transfer, a finish after it), built only from
/// validated, single-quoted paths (<see cref="SshSafety.Quote"/>). They speak <see cref="RemoteExit"/> and
/// <see cref="RemoteMarker"/>.
/// </summary>
internal static class RemoteScripts
{
    private static string Exit(RemoteExit code) => "exit " + ((int)code).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>mkdir -p -- DIR</c>; for an existing final file its size and, when it may match, its SHA-256; for an expansion
    /// whether the decompressor exists. Exit 3: mkdir failed. Then the temporary files of our own naming for this
    /// destination that no push has touched for <paramref name="staleAge"/> (see <see cref="StaleTemporaries"/>): unless
    /// the final file is already <paramref name="want"/>, the largest is taken over as this push's temporary file, so
    /// rsync resumes an interrupted transfer; the others are removed.
    /// </summary>
    internal static string Probe(SshPublishPlan plan, long localSize, string? expectedRaw, string? want = null, TimeSpan? staleAge = null)
    {
        var d = SshSafety.Quote(plan.Dir);
        var f = SshSafety.Quote(plan.Final);
        var sb = new StringBuilder();
        // mkdir only when the folder is missing (a warm run's probes start no program they do not need).
        sb.Append("[ -d ").Append(d).Append(" ] || mkdir -p -- ").Append(d).Append(" || " + Exit(RemoteExit.MkdirFailed) + "; h=; now=; ");
        sb.Append("if [ -f ").Append(f).Append(" ]; then s=$(stat -c %s -- ").Append(f).Append(") || " + Exit(RemoteExit.ReadFailed) + "; echo \"" + RemoteMarker.Size + " $s\"; ");
        // The pushed sidecar's hash while the file is not newer than it; else hash the file and record it.
        var sc = SshSafety.Quote(plan.Sidecar);
        var hash = "h=; if [ -f " + sc + " ] && [ ! " + f + " -nt " + sc + " ]; then read -r h _ < " + sc + " || h=; fi; " +
                   "if [ ${#h} -ne 64 ]; then h=$(sha256sum < " + f + ") || " + Exit(RemoteExit.ReadFailed) + "; h=${h%% *}; " + Record("\"$h\"", plan) + "fi; " +
                   "echo \"" + RemoteMarker.Sha + " $h\"; ";
        if (!plan.Expand)
        {
            sb.Append("if [ \"$s\" = '").Append(localSize.ToString(CultureInfo.InvariantCulture)).Append("' ]; then ").Append(hash).Append("fi; ");
        }
        else if (expectedRaw is not null)
        {
            sb.Append(hash);
        }
        sb.Append("fi; ");
        if (plan.Expand)
        {
            sb.Append("if command -v ").Append(plan.Decompressor).Append(" >/dev/null 2>&1; then echo " + RemoteMarker.Have + "; fi; ");
        }
        var age = (long)Math.Max(0, Math.Ceiling((staleAge ?? new SshPublishOptions().StaleTemporaryAge).TotalSeconds));
        // Nothing is taken over when the final file is already what would be pushed (the push is skipped).
        var adopt = want is null ? "true" : "[ \"$h\" != '" + want + "' ]";
        sb.Append(StaleTemporaries(plan.TempFamily, age, adoptAs: plan.Temp, adoptWhen: adopt));
        if (plan.RawTempFamily is { } raw)
        {
            sb.Append(StaleTemporaries(raw, age, adoptAs: null, adoptWhen: null));
        }
        // The free space for the transfer, unless the file there is already the one wanted (the push is skipped):
        // the preflight then needs no round trip of its own (SshPublisher.PreflightAsync).
        if (want is not null)
        {
            sb.Append("if [ \"$h\" != '").Append(want).Append("' ]; then ").Append(LifecycleScripts.FreeSpace(plan.Dir)).Append("fi; ");
        }
        else
        {
            sb.Append(LifecycleScripts.FreeSpace(plan.Dir));
        }
        sb.Append(Exit(RemoteExit.Ok));
        return sb.ToString();
    }

    /// <summary>
    /// One command for the probes of several files on one host (<see cref="Probe"/> each, unchanged): each runs in its
    /// own subshell, so its <c>exit</c> ends only it, between <c>talosimage-file N</c> and <c>talosimage-end N CODE</c>;
    /// the probes run one after the other. Exit 0 unless the shell itself fails (ssh's 255: no connection).
    /// </summary>
    internal static string ProbeBatch(IReadOnlyList<string> probes)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < probes.Count; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            sb.Append("echo '" + RemoteMarker.File + " ").Append(n).Append("'; ( ").Append(probes[i]).Append(" ); echo \"" + RemoteMarker.End + " ").Append(n).Append(" $?\"; ");
        }
        sb.Append(Exit(RemoteExit.Ok));
        return sb.ToString();
    }

    /// <summary>
    /// The <see cref="ProbeBatch"/> output: file index to its probe's exit code and its lines. A file whose section
    /// is missing or unfinished (the connection dropped) is not in the map.
    /// </summary>
    internal static Dictionary<int, (int ExitCode, string Output)> ParseProbeBatch(string stdout)
    {
        var map = new Dictionary<int, (int, string)>();
        int? current = null;
        var lines = new StringBuilder();
        foreach (var raw in stdout.Split('\n'))
        {
            var words = raw.Trim().Split(' ');
            if (words.Length == 2 && words[0] == RemoteMarker.File && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            {
                current = start;
                lines.Clear();
                continue;
            }
            if (words.Length == 3 && words[0] == RemoteMarker.End && current is { } open &&
                int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var end) && end == open &&
                int.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                map[open] = (code, lines.ToString());
                current = null;
                continue;
            }
            if (current is not null)
            {
                lines.Append(raw).Append('\n');
            }
        }
        return map;
    }

    /// <summary>
    /// Shell code for the temporary files of one family: <c>&lt;prefix&gt;&lt;16 hex&gt;.talosimage-part</c> and the legacy
    /// name without a token, and nothing else. One whose status changed less than <paramref name="age"/> seconds ago may
    /// belong to a running push and is not touched. Of the stale ones the largest is renamed to
    /// <paramref name="adoptAs"/> (prints <c>talosimage-resume SIZE</c>) when <paramref name="adoptWhen"/> holds, the rest
    /// removed. A rename is atomic: of two pushes that see one stale file, one gets it and the other starts afresh; a
    /// file taken over has a new status time, so no other push removes it.
    /// </summary>
    private static string StaleTemporaries((string Prefix, string Legacy) family, long age, string? adoptAs, string? adoptWhen)
    {
        var prefix = SshSafety.Quote(family.Prefix);
        var legacy = SshSafety.Quote(family.Legacy);
        var sb = new StringBuilder();
        sb.Append("b=; bs=-1; for t in ").Append(prefix).Append("*'").Append(SshPublishPlan.PartSuffix).Append("' ").Append(legacy).Append("; do ");
        sb.Append("[ -f \"$t\" ] || continue; ");
        sb.Append("if [ \"$t\" != ").Append(legacy).Append(" ]; then m=${t#").Append(prefix).Append("}; m=${m%'").Append(SshPublishPlan.PartSuffix).Append("'}; ");
        sb.Append("case \"$m\" in *[!0-9a-f]*) continue;; esac; [ ${#m} -eq ").Append(SshPublishPlan.TokenLength.ToString(CultureInfo.InvariantCulture)).Append(" ] || continue; fi; ");
        // The clock is read once, and only when there is a candidate.
        sb.Append("[ -n \"$now\" ] || now=$(date +%s) || now=0; ");
        sb.Append("c=$(stat -c %Z -- \"$t\" 2>/dev/null) || continue; [ $((now - c)) -ge ").Append(age.ToString(CultureInfo.InvariantCulture)).Append(" ] || continue; ");
        if (adoptAs is null)
        {
            sb.Append("rm -f -- \"$t\"; done; ");
            return sb.ToString();
        }
        sb.Append("z=$(stat -c %s -- \"$t\" 2>/dev/null) || continue; ");
        sb.Append("if [ \"$z\" -gt \"$bs\" ]; then [ -z \"$b\" ] || rm -f -- \"$b\"; b=$t; bs=$z; else rm -f -- \"$t\"; fi; done; ");
        sb.Append("if [ -n \"$b\" ]; then if ").Append(adoptWhen ?? "true").Append("; then mv -- \"$b\" ").Append(SshSafety.Quote(adoptAs))
            .Append(" 2>/dev/null && echo \"" + RemoteMarker.Resume + " $bs\"; else rm -f -- \"$b\"; fi; fi; ");
        return sb.ToString();
    }

    /// <summary>
    /// Verify the pushed temporary file (exit 5 on a mismatch, removing it); expand it (exit 7) and verify the raw
    /// (exit 8) when asked; rename into place (exit 6); remove the compressed temporary file. When the final file
    /// turns out to be what this push would put there (another push, e.g. another host entry on the same shared folder,
    /// just put it there), this push's temporary files are removed and it prints <c>talosimage-identical</c> (exit 0)
    /// instead of replacing it or failing: before the rename when the final file's sidecar says so, and when this
    /// push's temporary file cannot be read or renamed (the final file is hashed then).
    /// </summary>
    internal static string Finish(SshPublishPlan plan, string sha, string? expectedRaw, long size)
    {
        var t = SshSafety.Quote(plan.Temp);
        var f = SshSafety.Quote(plan.Final);
        var sc = SshSafety.Quote(plan.Sidecar);
        var want = plan.Expand ? expectedRaw : sha;
        var temps = t + (plan.Expand ? " " + SshSafety.Quote(plan.RawTemp!) : "");
        var sb = new StringBuilder();
        // identical [full]: the final file is already the wanted content (trusting its sidecar while the file is not
        // newer than it; "full" hashes the file otherwise); then this push's temporaries go and it ends here.
        if (want is not null)
        {
            sb.Append("identical() { [ -f ").Append(f).Append(" ] || return 1; ");
            if (!plan.Expand)
            {
                sb.Append("[ \"$(stat -c %s -- ").Append(f).Append(" 2>/dev/null)\" = '").Append(size.ToString(CultureInfo.InvariantCulture)).Append("' ] || return 1; ");
            }
            sb.Append("g=; if [ -f ").Append(sc).Append(" ] && [ ! ").Append(f).Append(" -nt ").Append(sc).Append(" ]; then read -r g _ < ").Append(sc).Append(" || g=; fi; ");
            sb.Append("if [ ${#g} -ne 64 ]; then [ \"$1\" = full ] || return 1; g=$(sha256sum < ").Append(f).Append(") || return 1; g=${g%% *}; ");
            sb.Append("[ \"$g\" = '").Append(want).Append("' ] || return 1; ").Append(Record("'" + want + "'", plan)).Append("fi; ");
            sb.Append("[ \"$g\" = '").Append(want).Append("' ] || return 1; rm -f -- ").Append(temps).Append("; echo " + RemoteMarker.Identical + "; " + Exit(RemoteExit.Ok) + "; }; ");
        }
        else
        {
            sb.Append("identical() { return 1; }; ");
        }
        sb.Append("h=$(sha256sum < ").Append(t).Append(") || { identical full; " + Exit(RemoteExit.ReadFailed) + "; }; h=${h%% *}; ");
        sb.Append("if [ \"$h\" != '").Append(sha).Append("' ]; then rm -f -- ").Append(t).Append("; echo \"" + RemoteMarker.Sha + " $h\"; " + Exit(RemoteExit.VerifyFailed) + "; fi; ");
        if (!plan.Expand)
        {
            sb.Append("identical; mv -f -- ").Append(t).Append(' ').Append(f).Append(" || { identical full; " + Exit(RemoteExit.RenameFailed) + "; }; ")
                .Append(Record("'" + sha + "'", plan)).Append("echo " + RemoteMarker.Ok);
            return sb.ToString();
        }
        var r = SshSafety.Quote(plan.RawTemp!);
        var expand = plan.Decompressor switch
        {
            "xz" => "xz -dc -T0 -- ",
            "zstd" => "zstd -dcq -- ",
            _ => "gzip -dc -- ",
        };
        sb.Append("identical; ");
        sb.Append(expand).Append(t).Append(" > ").Append(r).Append(" || { rm -f -- ").Append(r).Append("; identical full; " + Exit(RemoteExit.ExpandFailed) + "; }; ");
        sb.Append("h=$(sha256sum < ").Append(r).Append(") || { identical full; " + Exit(RemoteExit.ReadFailed) + "; }; h=${h%% *}; echo \"" + RemoteMarker.Raw + " $h\"; ");
        if (expectedRaw is not null)
        {
            sb.Append("if [ \"$h\" != '").Append(expectedRaw).Append("' ]; then rm -f -- ").Append(r).Append("; " + Exit(RemoteExit.RawVerifyFailed) + "; fi; ");
        }
        sb.Append("identical; mv -f -- ").Append(r).Append(' ').Append(f).Append(" || { identical full; " + Exit(RemoteExit.RenameFailed) + "; }; rm -f -- ").Append(t).Append("; ")
            .Append(Record("\"$h\"", plan)).Append("echo " + RemoteMarker.Ok);
        return sb.ToString();
    }

    /// <summary>
    /// The SHA-256 of each of the first <paramref name="count"/> blocks of <paramref name="block"/> bytes of
    /// <paramref name="path"/>, one <c>talosimage-block INDEX HEX</c> line each (the sftp transport's resume check).
    /// </summary>
    internal static string BlockHashes(string path, long block, long count)
    {
        var p = SshSafety.Quote(path);
        var b = block.ToString(CultureInfo.InvariantCulture);
        return "i=0; while [ $i -lt " + count.ToString(CultureInfo.InvariantCulture) + " ]; do h=$(dd if=" + p + " bs=" + b + " skip=$i count=1 2>/dev/null | sha256sum) || " +
            Exit(RemoteExit.ReadFailed) + "; echo \"" + RemoteMarker.Block + " $i ${h%% *}\"; i=$((i + 1)); done; " + Exit(RemoteExit.Ok);
    }

    /// <summary>The <see cref="BlockHashes"/> lines: block index to hash.</summary>
    internal static Dictionary<long, string> ParseBlockHashes(string stdout)
    {
        var map = new Dictionary<long, string>();
        foreach (var line in stdout.Split('\n'))
        {
            var words = line.Trim().Split(' ');
            if (words.Length == 3 && words[0] == RemoteMarker.Block && long.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var i))
            {
                map[i] = words[2];
            }
        }
        return map;
    }

    /// <summary>Writes the sidecar <c>&lt;hex&gt;  &lt;name&gt;</c> after the final file; a failure to write it fails nothing.</summary>
    private static string Record(string hashExpression, SshPublishPlan plan) =>
        "printf '%s  %s\\n' " + hashExpression + " " + SshSafety.Quote(plan.FinalName) + " > " + SshSafety.Quote(plan.Sidecar) + " 2>/dev/null || true; ";
}
