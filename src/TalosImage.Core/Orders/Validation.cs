using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Orders;

/// <summary>One problem in an input file: where it is, which key, and what was expected.</summary>
public sealed record ValidationProblem(string File, int Line, int Column, string Key, string Message)
{
    /// <summary>The key path, printable (a key may hold any character) and of bounded length.</summary>
    public string Key { get; init; } = SafeText.ForMessage(Key, 300);

    /// <summary>
    /// The message, printable and of bounded length: it often quotes a value from the file, which may hold terminal
    /// escapes, line breaks, bidi overrides or megabytes.
    /// </summary>
    public string Message { get; init; } = SafeText.ForMessage(Message);

    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}:{Column}: {(Key.Length > 0 ? Key + ": " : "")}{Message}" : $"{File}: {(Key.Length > 0 ? Key + ": " : "")}{Message}";
}

/// <summary>Every problem found in one or more input files; thrown after the whole file was checked.</summary>
public sealed class TalosValidationException : TalosException
{
    public TalosValidationException(IReadOnlyList<ValidationProblem> problems)
        : base(TalosErrors.InvalidOrderFile, Format(problems), problems.FirstOrDefault()?.File)
    {
        Problems = problems;
    }

    public IReadOnlyList<ValidationProblem> Problems { get; }

    /// <summary>Problems shown in the message; all of them stay in <see cref="Problems"/>.</summary>
    public const int MaxShown = 100;

    private static string Format(IReadOnlyList<ValidationProblem> problems) =>
        problems.Count == 1
            ? problems[0].ToString()
            : $"{problems.Count} problems:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Take(MaxShown).Select(p => "  " + p)) +
              (problems.Count > MaxShown ? Environment.NewLine + $"  ... and {problems.Count - MaxShown} more (the first {MaxShown} are shown)" : "");
}

/// <summary>Edit distance, for "did you mean" hints on near-miss keys and names.</summary>
public static class NearMiss
{
    /// <summary>Longer strings are compared by length only: no key or name is that long, and the full table is quadratic.</summary>
    public const int MaxCompared = 256;

    /// <summary>
    /// Optimal string alignment distance (insertions, deletions, substitutions, adjacent swaps), ignoring case. Beyond
    /// <see cref="MaxCompared"/> characters the length difference (a lower bound) plus one is returned, so that a value of
    /// megabytes costs nothing.
    /// </summary>
    public static int Distance(string a, string b)
    {
        if (a.Length > MaxCompared || b.Length > MaxCompared)
        {
            return Math.Abs(a.Length - b.Length) + 1;
        }
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>The closest candidate when it is close enough to be a typo (normalising _ and - and case), else null.</summary>
    public static string? Suggest(string given, IEnumerable<string> candidates)
    {
        static string Norm(string s) => s.Replace("_", "").Replace("-", "").ToLowerInvariant();
        var best = candidates
            .Select(c => (c, d: Norm(c) == Norm(given) ? 0 : Distance(given, c)))
            .OrderBy(x => x.d)
            .FirstOrDefault();
        if (best.c is null)
        {
            return null;
        }
        var limit = Math.Max(1, Math.Min(3, best.c.Length / 3));
        return best.d <= limit ? best.c : null;
    }
}
