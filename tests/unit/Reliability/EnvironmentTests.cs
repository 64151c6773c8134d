using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Issue 14 item 15: an unusable environment is one clear sentence naming the path and the problem, never "internal
/// error". A cache_dir or --log that cannot be used at all is bad configuration (exit 2, nothing done); a log that stops
/// being writable during the run is a failure while running (exit 1, the run goes on, its manifest and summary are
/// written). Tests run as root, where a folder's mode does not stop writes, so the unusable places are real ones: a
/// path under a regular file, /proc, a read-only tmpfs (needs mount; those cases are skipped clearly without it),
/// /dev/full.
/// </summary>
public sealed class EnvironmentTests : IClassFixture<ResourceFactory>, IDisposable
{
    private readonly ResourceFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _readOnly;
    private readonly string? _noReadOnly;

    public EnvironmentTests(ResourceFactory images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
        File.WriteAllText(Path.Combine(_dir.Path, "a-file"), "a regular file");
        Directory.CreateDirectory(Path.Combine(_dir.Path, "a-folder"));
        File.WriteAllText(Path.Combine(_dir.Path, "orders.yaml"), """
            - orderid: ENV-1
              positions:
                - {name: iso, product: talos, version: v1.11.5, customization: {}}
            """);
        // A read-only file system holding a cache folder that has a lock file from an earlier run.
        _readOnly = Path.Combine(_dir.Path, "ro");
        Directory.CreateDirectory(_readOnly);
        var (code, err) = Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", _readOnly);
        if (code == 0)
        {
            Directory.CreateDirectory(Path.Combine(_readOnly, "cache"));
            File.WriteAllText(Path.Combine(_readOnly, "cache", ".lock"), "");
            (code, err) = Run("mount", "-o", "remount,ro", _readOnly);
        }
        _noReadOnly = code == 0 ? null : $"cannot mount a read-only tmpfs here (mount exit {code}: {err.Trim()})";
    }

    public void Dispose()
    {
        Run("umount", "-l", _readOnly);
        _dir.Dispose();
    }

    private static (int Code, string Stderr) Run(string program, params string[] args) => MountTool.Run(program, args);

    private string Config(string cacheDir) => _dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {cacheDir}
          lock_timeout: 2
        manifest:
          dir: {_dir.Path}/manifests
        """);

    private string P(string relative) => Path.Combine(_dir.Path, relative);

    /// <summary>(case, cache_dir, --log or null, what the message says, whether it needs the read-only mount). Paths are relative to the test folder unless rooted.</summary>
    public static TheoryData<string, string, string?, string, bool> Unusable => new()
    {
        { "cache_dir under a regular file", "a-file/cache", null, "a-file is a file, not a folder", false },
        { "cache_dir is a regular file", "a-file", null, "it is a file, not a folder", false },
        { "cache_dir in /proc", "/proc/self/talos-cache", null, "nothing can be created in /proc/self", false },
        { "cache_dir is /proc", "/proc", null, "its lock /proc/.lock cannot be opened", false },
        { "cache_dir on a read-only file system", "ro/cache-new", null, "the file system is read-only", true },
        { "cache_dir on a read-only file system with a lock file", "ro/cache", null, "the file system is read-only", true },
        { "--log is a directory", "cache", "a-folder", "it is a folder, not a file", false },
        { "--log under a regular file", "cache", "a-file/talos.log", "a-file is a file, not a folder", false },
        { "--log in /proc", "cache", "/proc/self/talos.log", "nothing can be created in /proc/self", false },
        { "--log on a read-only file system", "cache", "ro/talos.log", "the file system is read-only", true },
    };

    private string Full(string path) => Path.IsPathRooted(path) ? path : P(path);

    [SkippableTheory]
    [MemberData(nameof(Unusable))]
    public async Task An_unusable_cache_dir_or_log_is_one_clear_sentence_and_exit_2_through_talos_order(string name, string cacheDir, string? log, string says, bool readOnly)
    {
        Skip.If(readOnly && _noReadOnly is not null, _noReadOnly);
        var args = new List<string> { "--config", Config(Full(cacheDir)), "--orders", P("orders.yaml") };
        if (log is not null)
        {
            args.AddRange(new[] { "--log", Full(log) });
        }
        var r = await TalosOrderProcess.RunAsync(_dir.Path, new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = _images.Factory.BaseUrl }, args.ToArray());

        _output.WriteLine($"{name}: exit {r.ExitCode}: {r.Stderr.Trim()}");
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        var error = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains(Full(log ?? cacheDir), error);
        Assert.Contains(says, error);
        Assert.Equal(ExitCodes.BadInput, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.False(Directory.Exists(P("manifests")), "a refused run wrote a manifest");
    }

    [SkippableTheory]
    [MemberData(nameof(Unusable))]
    public async Task An_unusable_cache_dir_or_log_is_a_TalosException_with_exit_2_in_the_engine(string name, string cacheDir, string? log, string says, bool readOnly)
    {
        Skip.If(readOnly && _noReadOnly is not null, _noReadOnly);
        var runner = new OrderRunner(new RunOptions
        {
            ConfigPath = Config(Full(cacheDir)),
            OrdersPath = P("orders.yaml"),
            BaseDirectory = _dir.Path,
            LogPath = log is null ? null : Full(log),
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? _images.Factory.BaseUrl : null,
        }, NullEngineEvents.Instance);

        var e = await Record.ExceptionAsync(() => runner.RunAsync(CancellationToken.None));

        _output.WriteLine($"{name}: {e?.GetType().Name} {(e as TalosException)?.ErrorId}: {e?.Message}");
        var t = Assert.IsType<TalosException>(e);
        Assert.Equal(log is null ? "CacheDirectoryUnusable" : "LogFileUnusable", t.ErrorId);
        Assert.Contains(Full(log ?? cacheDir), t.Message);
        Assert.Contains(says, t.Message);
        Assert.Equal(ExitCodes.BadInput, ExitCodes.For(t));
    }

    [Fact]
    public async Task A_log_that_cannot_be_written_during_the_run_fails_the_run_with_exit_1_and_the_manifest_and_summary_are_written()
    {
        // /dev/full opens, and every write to it fails with ENOSPC: a log whose disk fills during the run.
        var r = await TalosOrderProcess.RunAsync(_dir.Path, new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = _images.Factory.BaseUrl },
            "--config", Config(P("cache")), "--orders", P("orders.yaml"), "--log", "/dev/full");

        _output.WriteLine($"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Contains("warning: Cannot write the log /dev/full: No space left on device", r.Stderr);
        Assert.Contains("ENV-1: Succeeded", r.Stdout);
        Assert.Equal(1, Audit.ManifestsAreComplete(P("manifests")));
        Assert.Equal(1, Audit.CacheHoldsOnlyCompleteFiles(P("cache")));
    }
}
