using System;
using TalosImage.Core;

namespace TalosImage.Cli;

/// <summary>
/// Engine events on stderr: warnings always, verbose with --verbose, a progress line only on a terminal. Every line
/// goes through <see cref="SafeText.PrintableLines"/> (secrets redacted, terminal controls escaped).
/// </summary>
internal sealed class ConsoleEvents : IEngineEvents
{
    private readonly bool _verbose;
    private readonly bool _progress;
    private readonly object _lock = new();
    private int _lastLength;

    public ConsoleEvents(bool verbose)
    {
        _verbose = verbose;
        _progress = !Console.IsErrorRedirected;
    }

    public void Progress(EngineProgress p)
    {
        if (!_progress)
        {
            return;
        }
        lock (_lock)
        {
            var text = p.Completed ? "" : SafeText.Printable($"{p.Activity}: {p.Status}");
            if (text.Length > 118)
            {
                text = text.Substring(0, 118);
            }
            Console.Error.Write("\r" + text.PadRight(_lastLength) + (p.Completed ? "\r" : ""));
            _lastLength = text.Length;
        }
    }

    public void Verbose(string message)
    {
        if (_verbose)
        {
            Line("verbose: " + message);
        }
    }

    public void Warning(string message) => Line("warning: " + message);

    public void Error(string message) => Line("error: " + message);

    private void Line(string message)
    {
        lock (_lock)
        {
            if (_progress && _lastLength > 0)
            {
                Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
                _lastLength = 0;
            }
            Console.Error.WriteLine(SafeText.PrintableLines(message));
        }
    }
}
