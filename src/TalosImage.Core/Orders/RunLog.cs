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
    private readonly IEngineEvents _events;
    private readonly string? _path;

    public RunLog(string? path)
        : this(path, null)
    {
    }

    /// <param name="path">The log file (appended to); none when null or blank.</param>
    /// <param name="events">Where the one warning goes when a line cannot be written (a full disk): the run goes on without the log.</param>
    public RunLog(string? path, IEngineEvents? events)
    {
        _events = events ?? NullEngineEvents.Instance;
        if (string.IsNullOrWhiteSpace(path))
        {
            return;
        }
        var full = Path.GetFullPath(path);
        _path = full;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            _writer = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1), new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Before anything is done: a log that cannot be written is a bad --log / -LogPath (exit 2).
            throw new TalosException(TalosErrors.LogFileUnusable,
                $"Cannot write the log {full}: {UnusablePath.Reason(full, e, wantFolder: false)}.", full, e);
        }
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
            if (Failure is not null)
            {
                return;
            }
            try
            {
                _writer.WriteLine(sb.ToString());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A failure while running (the log's disk filled): said once, the run goes on, and its exit code is 1.
                Failure = $"Cannot write the log {_path}: {UnusablePath.Reason(_path!, e, wantFolder: false)}; the lines after this are missing.";
                _events.Warning(Failure);
            }
        }
    }

    /// <summary>Why the log stopped being written during the run; null while every line was written.</summary>
    public string? Failure { get; private set; }

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

    public void Dispose()
    {
        try
        {
            _writer?.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Every line was written unbuffered; nothing is lost here.
        }
    }
}
