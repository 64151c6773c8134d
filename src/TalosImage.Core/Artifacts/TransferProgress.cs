using System;
using System.Diagnostics;
using System.Globalization;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// Progress of one transfer (download or hash) as <see cref="EngineProgress"/>: bytes, rate, ETA and percent, at most
/// about four reports a second.
/// </summary>
internal sealed class TransferProgress
{
    private static readonly long Interval = Stopwatch.Frequency / 4;

    private readonly IEngineEvents _events;
    private readonly int _activityId;
    private readonly string _activity;
    private readonly Stopwatch _clock = new();
    private string _status = "";
    private long _lastReport = long.MinValue;
    private long _startBytes;
    private bool _started;

    public TransferProgress(IEngineEvents events, int activityId, string activity)
    {
        _events = events;
        _activityId = activityId;
        _activity = activity;
    }

    public void Start(string status)
    {
        _status = status;
        _started = true;
        _clock.Restart();
        _startBytes = -1;
        _lastReport = long.MinValue;
        _events.Progress(new EngineProgress { ActivityId = _activityId, Activity = _activity, Status = status });
    }

    public void Status(string status)
    {
        _status = status;
        _startBytes = -1;
        _clock.Restart();
    }

    public void Report(long done, long? total)
    {
        var now = _clock.ElapsedTicks;
        if (_startBytes < 0)
        {
            _startBytes = done;
        }
        if (now - _lastReport < Interval && (total is null || done < total))
        {
            return;
        }
        _lastReport = now;
        var seconds = _clock.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? (done - _startBytes) / seconds : 0;
        var percent = total is > 0 ? (int)Math.Min(100, done * 100 / total.Value) : -1;
        var eta = total is { } t && rate > 0 ? (int)Math.Ceiling((t - done) / rate) : -1;
        var text = string.Format(CultureInfo.InvariantCulture, "{0}: {1}{2}, {3}/s{4}", _status, Units.Bytes(done),
            total is { } all ? " of " + Units.Bytes(all) : "", Units.Bytes((long)rate), eta >= 0 ? ", " + Units.Duration(TimeSpan.FromSeconds(eta)) + " left" : "");
        _events.Progress(new EngineProgress
        {
            ActivityId = _activityId,
            Activity = _activity,
            Status = text,
            PercentComplete = percent,
            SecondsRemaining = eta,
            BytesDone = done,
            BytesTotal = total,
        });
    }

    public void Complete()
    {
        if (!_started)
        {
            return;
        }
        _started = false;
        _events.Progress(new EngineProgress { ActivityId = _activityId, Activity = _activity, Status = "Done", PercentComplete = 100, Completed = true });
    }
}
