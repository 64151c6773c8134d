using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>What the known_hosts files say about a host's key.</summary>
internal enum HostKeyVerdict
{
    /// <summary>A line for this host names this key.</summary>
    Known,
    /// <summary>No line for this host names a key of this type.</summary>
    Unknown,
    /// <summary>A line for this host names another key of the same type: possibly a man-in-the-middle.</summary>
    Changed,
    /// <summary>An <c>@revoked</c> line names this key.</summary>
    Revoked,
}

/// <summary>
/// OpenSSH's known_hosts files, read as ssh reads them: <c>[@marker] patterns keytype base64 [comment]</c>, patterns
/// comma-separated with <c>*</c>, <c>?</c> and <c>!</c> negation, hashed <c>|1|salt|hash</c> entries
/// (HMAC-SHA1 of the name keyed with the salt), the name <c>host</c> for port 22 and <c>[host]:port</c> otherwise,
/// <c>@revoked</c> lines (any host) and <c>@cert-authority</c> lines (ignored: certificates are not used here).
/// Keys are compared as their wire blobs, so <c>rsa-sha2-512</c> matches an <c>ssh-rsa</c> line.
/// </summary>
internal static class KnownHosts
{
    /// <summary>One line that concerns a key: its file and line number, marker, type and blob.</summary>
    internal sealed record Entry(string File, int Line, string? Marker, string Patterns, string KeyType, byte[] Blob);

    public static IEnumerable<Entry> Read(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            string[] lines;
            try
            {
                if (!System.IO.File.Exists(file))
                {
                    continue;
                }
                lines = System.IO.File.ReadAllLines(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            for (var n = 0; n < lines.Length; n++)
            {
                var words = lines[n].Trim().Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0 || words[0].StartsWith("#", StringComparison.Ordinal))
                {
                    continue;
                }
                string? marker = null;
                var i = 0;
                if (words[0].StartsWith("@", StringComparison.Ordinal))
                {
                    marker = words[0].ToLowerInvariant();
                    i = 1;
                }
                if (words.Length < i + 3)
                {
                    continue;
                }
                byte[] blob;
                try
                {
                    blob = Convert.FromBase64String(words[i + 2]);
                }
                catch (FormatException)
                {
                    continue;
                }
                yield return new Entry(file, n + 1, marker, words[i], words[i + 1], blob);
            }
        }
    }

    /// <summary>The verdict on <paramref name="blob"/> for <paramref name="name"/> (<c>host</c> or <c>[host]:port</c>), and the line that decided it.</summary>
    public static (HostKeyVerdict Verdict, Entry? Line) Check(IEnumerable<string> files, string name, byte[] blob)
    {
        var entries = Read(files).ToList();
        var revoked = entries.FirstOrDefault(e => e.Marker == "@revoked" && e.Blob.SequenceEqual(blob));
        if (revoked is not null)
        {
            return (HostKeyVerdict.Revoked, revoked);
        }
        var type = TypeOf(blob);
        Entry? changed = null;
        foreach (var e in entries.Where(e => e.Marker is null && Matches(e.Patterns, name)))
        {
            if (e.Blob.SequenceEqual(blob))
            {
                return (HostKeyVerdict.Known, e);
            }
            if (changed is null && TypeOf(e.Blob) == type)
            {
                changed = e;
            }
        }
        return changed is null ? (HostKeyVerdict.Unknown, null) : (HostKeyVerdict.Changed, changed);
    }

    /// <summary>The key types (as in the blobs: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa) listed for <paramref name="name"/>.</summary>
    public static IReadOnlyList<string> KnownTypes(IEnumerable<string> files, string name) =>
        Read(files).Where(e => e.Marker is null && Matches(e.Patterns, name)).Select(e => TypeOf(e.Blob)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The key type a host key algorithm uses (rsa-sha2-256 and rsa-sha2-512 use ssh-rsa keys).</summary>
    public static string KeyTypeOfAlgorithm(string algorithm) => algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal) ? "ssh-rsa" : algorithm;

    /// <summary>The line that lists the key for the host: <c>name type base64</c>.</summary>
    public static string Line(string name, byte[] blob) => $"{name} {TypeOf(blob)} {Convert.ToBase64String(blob)}";

    /// <summary>OpenSSH's fingerprint: <c>SHA256:</c> and the unpadded base64 of the blob's SHA-256.</summary>
    public static string Fingerprint(byte[] blob)
    {
        using var sha = SHA256.Create();
        return "SHA256:" + Convert.ToBase64String(sha.ComputeHash(blob)).TrimEnd('=');
    }

    private static readonly object AppendLock = new();

    /// <summary>Appends the host's line to <paramref name="file"/> (creating it and its folder).</summary>
    public static void Append(string file, string line)
    {
        lock (AppendLock)
        {
            var dir = Path.GetDirectoryName(file);
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }
            var needsBreak = System.IO.File.Exists(file) && new FileInfo(file).Length > 0 && !EndsWithNewline(file);
            System.IO.File.AppendAllText(file, (needsBreak ? "\n" : "") + line + "\n", new UTF8Encoding(false));
        }
    }

    private static bool EndsWithNewline(string file)
    {
        using var s = System.IO.File.OpenRead(file);
        s.Seek(-1, SeekOrigin.End);
        return s.ReadByte() == '\n';
    }

    /// <summary>The key type named inside a wire blob (its first string).</summary>
    public static string TypeOf(byte[] blob)
    {
        if (blob.Length < 4)
        {
            return "";
        }
        var length = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        return length < 0 || length > blob.Length - 4 ? "" : Encoding.ASCII.GetString(blob, 4, length);
    }

    /// <summary>Whether a comma-separated pattern list matches the name (a negated match excludes it).</summary>
    public static bool Matches(string patterns, string name)
    {
        if (patterns.StartsWith("|1|", StringComparison.Ordinal))
        {
            return HashedMatches(patterns, name);
        }
        var matched = false;
        foreach (var raw in patterns.Split(','))
        {
            var negated = raw.StartsWith("!", StringComparison.Ordinal);
            var pattern = negated ? raw.Substring(1) : raw;
            if (!Glob(pattern, name))
            {
                continue;
            }
            if (negated)
            {
                return false;
            }
            matched = true;
        }
        return matched;
    }

    private static bool HashedMatches(string entry, string name)
    {
        var parts = entry.Split('|');
        if (parts.Length != 4)
        {
            return false;
        }
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var hash = Convert.FromBase64String(parts[3]);
            using var hmac = new HMACSHA1(salt);
            return hmac.ComputeHash(Encoding.UTF8.GetBytes(name)).SequenceEqual(hash);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A hashed entry for <paramref name="name"/> with <paramref name="salt"/> (for tests and for HashKnownHosts users).</summary>
    public static string Hash(string name, byte[] salt)
    {
        using var hmac = new HMACSHA1(salt);
        return "|1|" + Convert.ToBase64String(salt) + "|" + Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(name)));
    }

    private static bool Glob(string pattern, string name)
    {
        if (pattern.IndexOf('*') < 0 && pattern.IndexOf('?') < 0)
        {
            return string.Equals(pattern, name, StringComparison.OrdinalIgnoreCase);
        }
        var regex = "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$";
        return Regex.IsMatch(name, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    internal static string Where(Entry e) => $"{e.File}:{e.Line.ToString(CultureInfo.InvariantCulture)}";
}
