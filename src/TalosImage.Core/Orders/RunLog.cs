using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace TalosImage.Core.Orders;

/// <summary>
/// Structured lines for scheduled runs (--log / -LogPath), appended in logfmt:
/// <c>time=... order=... position=... name=... stage=... outcome=... detail=...</c>. Every value goes through
/// <see cref="SafeText.Printable"/> first, the rule the console and messages use: secrets redacted, control, line
/// separator and format characters (ESC, BEL, NUL, NEL, U+2028 ...) as \xNN / \uXXXX; then logfmt quoting.
/// </summary>
public sealed class RunLog : IDisposable
{
    private readonly StreamWriter? _writer;
    private readonly object _lock = new();

    public RunLog(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    public void Write(string orderId, int? position, string? name, string stage, string outcome, string? detail = null)
    {
        if (_writer is null)
        {
            return;
        }
        var sb = new StringBuilder();
        sb.Append("time=").Append(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        sb.Append(" order=").Append(Value(orderId));
        if (position is { } p)
        {
            sb.Append(" position=").Append((p + 1).ToString(CultureInfo.InvariantCulture));
        }
        if (name is not null)
        {
            sb.Append(" name=").Append(Value(name));
        }
        sb.Append(" stage=").Append(stage).Append(" outcome=").Append(outcome);
        if (!string.IsNullOrEmpty(detail))
        {
            sb.Append(" detail=").Append(Value(detail!));
        }
        lock (_lock)
        {
            _writer.WriteLine(sb.ToString());
        }
    }

    /// <summary>
    /// A logfmt value: <see cref="SafeText.Printable"/>, then bare when it has no space, quote, '=' or backslash, else
    /// double-quoted with '"' and '\' escaped; one line always.
    /// </summary>
    internal static string Value(string s)
    {
        s = SafeText.Printable(s);
        if (s.Length > 0 && s.IndexOfAny(new[] { ' ', '"', '=', '\\', '\n', '\r', '\t' }) < 0)
        {
            return s;
        }
        return "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";
    }

    public void Dispose() => _writer?.Dispose();
}
