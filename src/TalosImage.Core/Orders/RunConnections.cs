using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Publishing.Ssh;

namespace TalosImage.Core.Orders;

/// <summary>
/// The SSH connections of one order run: one OpenSSH master per host (rsync transport, <see cref="SshRun"/>) or one
/// SSH.NET connection per host (sftp, <see cref="SftpConnectionPool"/>), shared by every check and transfer to that
/// host and closed when the run ends. <see cref="Open"/> starts a host's connection ahead of its pushes, without
/// waiting for it, so that the handshake overlaps the run's local stages; a connection that fails is remembered and
/// reported by the host's first push (<see cref="SshPublisher.ConnectAheadAsync"/>).
/// </summary>
internal sealed class RunConnections : IDisposable
{
    private readonly SshPublisher _connector;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _opening = new();
    private readonly ConcurrentDictionary<(string, SshTransport), byte> _opened = new();

    public RunConnections(IEngineEvents events)
    {
        _connector = new SshPublisher(events, new SshPublishOptions { Connections = Pool, Run = Run });
    }

    public SshRun Run { get; } = new();

    public SftpConnectionPool Pool { get; } = new();

    /// <summary>How many hosts' connections were started (for tests).</summary>
    internal int Opened => _opened.Count;

    /// <summary>Starts <paramref name="target"/>'s connection unless this run started it already (one per host and transport: the run's ssh options are the same for every host).</summary>
    public void Open(SshTarget target)
    {
        if (_opened.TryAdd((target.Host, target.Transport), 0))
        {
            lock (_opening)
            {
                _opening.Add(_connector.ConnectAheadAsync(target, _stop.Token));
            }
        }
    }

    /// <summary>The SSH target of a push host, with config.yaml's defaults for what the host does not set.</summary>
    public static SshTarget TargetOf(PushHost host, TalosConfig config) => new()
    {
        Host = host.Host,
        IsoDir = host.IsoDir ?? config.ProxmoxDefaultIsoDir,
        ImportDir = host.ImportDir ?? config.ProxmoxDefaultImportDir,
        SshOptions = config.Push.SshOpts,
        RsyncOptions = config.Push.RsyncOpts,
        Transport = SshTransports.Parse(host.Transport ?? config.Push.Transport),
    };

    /// <summary>The SSH push host of every push of the given orders' positions with push enabled (a host once per position that pushes to it; <see cref="Open"/> starts each once).</summary>
    public static IEnumerable<SshTarget> TargetsOf(IEnumerable<Order> orders, TalosConfig config) =>
        orders.SelectMany(o => o.Positions)
            .Where(p => p.Push.Enabled)
            .SelectMany(p => p.Push.Hosts)
            .Select(h => TargetOf(h, config));

    /// <summary>Ends the connections still being opened, then closes every connection of the run.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        Task[] opening;
        lock (_opening)
        {
            opening = _opening.ToArray();
        }
        Task.WaitAll(opening);
        _stop.Dispose();
        Run.Dispose();
        Pool.Dispose();
    }
}
