using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.Core;

/// <summary>
/// Makes text from input files safe to show in a message: characters a terminal or an editor would act on or hide
/// (controls, C1, line separators, bidi overrides, zero-width and other format characters, lone surrogates) become
/// visible escapes, and a value of megabytes is shortened, so a hostile value can neither forge or hide output lines
/// nor turn one error into megabytes. It is also where secrets are removed, before anything is cut: every secret the
/// process has read (GitHub and Proxmox tokens, <see cref="AddSecret"/>) becomes <c>***</c> wherever it appears whole,
/// and so does any fragment of 8 or more of its characters at either end of a text or of a cut (where an earlier cut,
/// a bounded read or a server may have split it); the user name and password of a URL (<c>https://user:pw@host</c>)
/// become <c>***@</c>. Every output uses it: messages and exceptions (<see cref="TalosException"/>), the console, the
/// run log, manifests and JSON.
/// </summary>
public static class SafeText
{
    /// <summary>Shortest fragment of a secret that is redacted at the edge of a text or a cut.</summary>
    public const int MinSecretFragment = 8;

    /// <summary>What replaces a secret or a fragment of one.</summary>
    public const string Mask = "***";

    private static readonly object SecretsLock = new();
    private static string[] _secrets = Array.Empty<string>();

    private static readonly Regex UrlUserInfo = new(@"(?<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?<userinfo>[^/?#@\s'""<>]*)@",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// Remembers <paramref name="secret"/> (a token the process has read) for <see cref="Redact"/>, for the process'
    /// lifetime. Values shorter than <see cref="MinSecretFragment"/> are not remembered (no real token is that short,
    /// and masking them everywhere would garble other text); their owners scrub them themselves.
    /// </summary>
    public static void AddSecret(string? secret)
    {
        var s = secret?.Trim();
        if (s is null || s.Length < MinSecretFragment)
        {
            return;
        }
        lock (SecretsLock)
        {
            if (Array.IndexOf(_secrets, s) >= 0)
            {
                return;
            }
            var next = new string[_secrets.Length + 1];
            _secrets.CopyTo(next, 0);
            next[next.Length - 1] = s;
            // Longest first, so a secret that contains another is masked whole.
            Array.Sort(next, (a, b) => b.Length.CompareTo(a.Length));
            _secrets = next;
        }
    }

    /// <summary>
    /// <paramref name="s"/> with every known secret (and <paramref name="extra"/>) masked wherever it appears whole,
    /// any fragment of 8+ characters of one masked at the start and at the end (the text may be a piece cut from a
    /// longer one), and the user info of every URL masked. No escaping, no cut: see <see cref="Printable"/>,
    /// <see cref="ForMessage"/>, <see cref="Excerpt"/>.
    /// </summary>
    public static string Redact(string? s, params string?[] extra)
    {
        if (string.IsNullOrEmpty(s))
        {
            return s ?? "";
        }
        var text = s!;
        foreach (var e in extra)
        {
            if (!string.IsNullOrEmpty(e) && text.IndexOf(e!, StringComparison.Ordinal) >= 0)
            {
                text = text.Replace(e!, Mask);
            }
        }
        var secrets = _secrets;
        foreach (var secret in secrets)
        {
            if (text.IndexOf(secret, StringComparison.Ordinal) >= 0)
            {
                text = text.Replace(secret, Mask);
            }
        }
        text = MaskEdges(text, secrets, extra);
        if (text.IndexOf("://", StringComparison.Ordinal) >= 0)
        {
            text = UrlUserInfo.Replace(text, m => m.Groups["userinfo"].Length == 0 ? m.Value : m.Groups["scheme"].Value + Mask + "@");
        }
        return text;
    }

    /// <summary>
    /// Text from a server or a program for a message: <see cref="Redact"/>, then <see cref="Printable"/>, trimmed, then
    /// cut to <paramref name="max"/> characters keeping the start ("..." marks the cut), so a cut never splits a secret.
    /// </summary>
    public static string Excerpt(string? s, int max, params string?[] extra)
    {
        var p = Printable(Redact(s, extra)).Trim();
        if (p.Length <= max)
        {
            return p;
        }
        return Redact(Cut(p, 0, max), extra) + "...";
    }

    /// <summary>Longest message line kept whole; longer ones keep their start and end (where hints such as "did you mean" are).</summary>
    public const int MaxMessageLength = 1000;

    /// <summary>
    /// The text <see cref="Redact">redacted</see>, with invisible and control characters as \xNN or \uXXXX; everything
    /// else unchanged.
    /// </summary>
    public static string Printable(string? s)
    {
        if (s is null)
        {
            return "";
        }
        s = Redact(s);
        StringBuilder? sb = null;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
            if (pair)
            {
                sb?.Append(c).Append(s[i + 1]);
                i++;
                continue;
            }
            if (!NeedsEscape(c))
            {
                sb?.Append(c);
                continue;
            }
            sb ??= new StringBuilder(s.Length + 16).Append(s, 0, i);
            sb.Append(c < 0x80 ? "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture) : "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        return sb?.ToString() ?? s;
    }

    /// <summary>
    /// <see cref="Printable"/> (so redacted first), then cut to <paramref name="max"/> characters keeping the start and
    /// the end; the pieces are redacted again at their cut edges.
    /// </summary>
    public static string ForMessage(string? s, int max = MaxMessageLength)
    {
        var p = Printable(s);
        if (p.Length <= max)
        {
            return p;
        }
        var tail = max / 4;
        var head = max - tail;
        var start = Cut(p, 0, head);
        var end = Cut(p, p.Length - tail, tail);
        return Redact(start) + $" ... ({p.Length - start.Length - end.Length} characters left out) ... " + Redact(end);
    }

    /// <summary>
    /// <see cref="Printable"/> line by line: a text of several lines (an engine message that lists problems) keeps its
    /// line breaks (CRLF and CR become LF); everything else a terminal would act on is escaped.
    /// </summary>
    public static string PrintableLines(string? s)
    {
        if (s is null)
        {
            return "";
        }
        var lines = Redact(s).Replace("\r\n", "\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = Printable(lines[i]);
        }
        return string.Join("\n", lines);
    }

    /// <summary><paramref name="length"/> characters from <paramref name="start"/>, never splitting a surrogate pair.</summary>
    private static string Cut(string s, int start, int length)
    {
        if (start > 0 && start < s.Length && char.IsLowSurrogate(s[start]) && char.IsHighSurrogate(s[start - 1]))
        {
            start++;
            length--;
        }
        var end = Math.Min(s.Length, start + Math.Max(0, length));
        if (end > start && end < s.Length && char.IsHighSurrogate(s[end - 1]) && char.IsLowSurrogate(s[end]))
        {
            end--;
        }
        return s.Substring(start, end - start);
    }

    /// <summary>Masks the longest fragment (8+ characters) of any secret that the text starts with, and the one it ends with.</summary>
    private static string MaskEdges(string text, string[] secrets, string?[] extra)
    {
        if (text.Length < MinSecretFragment || (secrets.Length == 0 && extra.Length == 0))
        {
            return text;
        }
        int head = 0, tail = 0;
        foreach (var secret in Candidates(secrets, extra))
        {
            head = Math.Max(head, LongestAtStart(text, secret));
            tail = Math.Max(tail, LongestAtEnd(text, secret));
        }
        if (head < MinSecretFragment)
        {
            head = 0;
        }
        if (tail < MinSecretFragment)
        {
            tail = 0;
        }
        if (head == 0 && tail == 0)
        {
            return text;
        }
        if (head + tail >= text.Length)
        {
            return Mask;
        }
        return (head > 0 ? Mask : "") + text.Substring(head, text.Length - head - tail) + (tail > 0 ? Mask : "");
    }

    private static IEnumerable<string> Candidates(string[] secrets, string?[] extra)
    {
        foreach (var s in secrets)
        {
            yield return s;
        }
        foreach (var e in extra)
        {
            if (e is { Length: >= MinSecretFragment })
            {
                yield return e;
            }
        }
    }

    /// <summary>Length of the longest prefix of <paramref name="text"/> that occurs in <paramref name="secret"/>.</summary>
    private static int LongestAtStart(string text, string secret)
    {
        var best = 0;
        for (var j = secret.IndexOf(text[0]); j >= 0; j = j + 1 < secret.Length ? secret.IndexOf(text[0], j + 1) : -1)
        {
            var n = 0;
            while (j + n < secret.Length && n < text.Length && secret[j + n] == text[n])
            {
                n++;
            }
            best = Math.Max(best, n);
        }
        return best;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that occurs in <paramref name="secret"/>.</summary>
    private static int LongestAtEnd(string text, string secret)
    {
        var last = text[text.Length - 1];
        var best = 0;
        for (var j = secret.LastIndexOf(last); j >= 0; j = j > 0 ? secret.LastIndexOf(last, j - 1) : -1)
        {
            var n = 0;
            while (j - n >= 0 && n < text.Length && secret[j - n] == text[text.Length - 1 - n])
            {
                n++;
            }
            best = Math.Max(best, n);
        }
        return best;
    }

    private static bool NeedsEscape(char c) =>
        char.IsSurrogate(c) // a lone half of a pair
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
