using System.Globalization;
using System.Text;

namespace TalosImage.Core;

/// <summary>
/// Makes text from input files safe to show in a message: characters a terminal or an editor would act on or hide
/// (controls, C1, line separators, bidi overrides, zero-width and other format characters, lone surrogates) become
/// visible escapes, and a value of megabytes is shortened, so a hostile value can neither forge or hide output lines
/// nor turn one error into megabytes.
/// </summary>
public static class SafeText
{
    /// <summary>Longest message line kept whole; longer ones keep their start and end (where hints such as "did you mean" are).</summary>
    public const int MaxMessageLength = 1000;

    /// <summary>The text with invisible and control characters as \xNN or \uXXXX; everything else unchanged.</summary>
    public static string Printable(string? s)
    {
        if (s is null)
        {
            return "";
        }
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

    /// <summary><see cref="Printable"/>, then cut to <paramref name="max"/> characters keeping the start and the end.</summary>
    public static string ForMessage(string? s, int max = MaxMessageLength)
    {
        var p = Printable(s);
        if (p.Length <= max)
        {
            return p;
        }
        var tail = max / 4;
        var head = max - tail;
        return p.Substring(0, head) + $" ... ({p.Length - head - tail} characters left out) ... " + p.Substring(p.Length - tail);
    }

    private static bool NeedsEscape(char c) =>
        char.IsSurrogate(c) // a lone half of a pair
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
