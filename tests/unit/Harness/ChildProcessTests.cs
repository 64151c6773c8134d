using System.Diagnostics;
using System.Text;
using Xunit;

namespace TalosImage.Tests.Harness;

/// <summary>The tests' and benchmarks' program runner (tests/Shared/ChildProcess.cs), with /bin/sh as the child.</summary>
public sealed class ChildProcessTests
{
    private const int Mib4 = 4 << 20;

    /// <summary>64 rounds of 64 KiB to stdout then 64 KiB to stderr: 4 MiB each, interleaved, far beyond a pipe's buffer.</summary>
    private const string Interleaved =
        "i=0; while [ $i -lt 64 ]; do head -c 65536 /dev/zero | tr '\\0' o; head -c 65536 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done";

    private static void SkipWithoutSh() => Skip.IfNot(File.Exists("/bin/sh"), "no /bin/sh");

    [SkippableFact]
    public async Task A_child_writing_4_MiB_to_stdout_and_4_MiB_to_stderr_interleaved_completes_with_both_whole()
    {
        SkipWithoutSh();
        var r = await ChildProcess.RunAsync("/bin/sh", new[] { "-c", Interleaved }, new ChildOptions { Timeout = TimeSpan.FromSeconds(60) });

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(Mib4, r.Stdout.Length);
        Assert.Equal(Mib4, r.Stderr.Length);
        Assert.True(r.Stdout.All(c => c == 'o'), "stdout holds only stdout's bytes");
        Assert.True(r.Stderr.All(c => c == 'e'), "stderr holds only stderr's bytes");
        Assert.True(r.Duration > TimeSpan.Zero);
    }

    [SkippableFact]
    public void The_blocking_run_streams_the_same_child_to_a_file_and_keeps_stderr()
    {
        SkipWithoutSh();
        using var dir = new TempDir();
        var file = dir.File("out.bin");
        var r = ChildProcess.Run("/bin/sh", new[] { "-c", Interleaved }, new ChildOptions { StdoutFile = file, Timeout = TimeSpan.FromSeconds(60) });

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal(Mib4, new FileInfo(file).Length);
        Assert.Equal(Mib4, r.Stderr.Length);
    }

    /// <summary>The control: the same child read the old way (stderr to the end, then stdout) does block, so the tests above prove something.</summary>
    [SkippableFact]
    public void The_same_child_read_stderr_first_blocks_on_its_full_stdout_pipe()
    {
        SkipWithoutSh();
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Interleaved);
        using var p = Process.Start(start)!;
        try
        {
            var stderrFirst = Task.Run(() => p.StandardError.ReadToEnd());
            Assert.False(stderrFirst.Wait(TimeSpan.FromSeconds(3)), "reading stderr to its end first should block while stdout is full");
            Assert.False(p.HasExited);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
    }

    [SkippableFact]
    public async Task A_sleeping_child_is_killed_with_its_children_at_the_timeout_and_the_message_names_the_command()
    {
        SkipWithoutSh();
        using var child = ChildProcess.Start("/bin/sh", new[] { "-c", "sleep 300 & echo $!; wait", "talos test" });
        var grandchild = await PidFrom(child);
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<TimeoutException>(() => child.WaitAsync(TimeSpan.FromSeconds(1)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Contains("/bin/sh -c 'sleep 300 & echo $!; wait' 'talos test'", e.Message);
        Assert.Contains("did not finish in 1 s and was killed", e.Message);
        Assert.True(child.HasExited);
        Assert.True(await Gone(grandchild), $"sleep {grandchild} (the child's child) still runs");
    }

    [SkippableFact]
    public async Task Run_async_times_out_the_same_way()
    {
        SkipWithoutSh();
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            ChildProcess.RunAsync("/bin/sh", new[] { "-c", "echo started >&2; sleep 300" }, new ChildOptions { Timeout = TimeSpan.FromMilliseconds(500) }));
        Assert.Contains("/bin/sh -c 'echo started >&2; sleep 300' did not finish", e.Message);
        Assert.Contains("stderr so far: started", e.Message);
    }

    [SkippableFact]
    public async Task A_child_that_exits_but_leaves_a_process_holding_its_stdout_is_reported_as_such()
    {
        SkipWithoutSh();
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            ChildProcess.RunAsync("/bin/sh", new[] { "-c", "sleep 300 & echo $! >&2; exit 4" }, new ChildOptions { Timeout = TimeSpan.FromSeconds(2) }));
        Assert.Contains("exited with 4, but its output did not end in 2 s", e.Message);
        // The one it left behind: ended here, since nothing else would.
        var pid = int.Parse(e.Message[(e.Message.LastIndexOf(':') + 1)..].Trim());
        try
        {
            using var left = Process.GetProcessById(pid);
            left.Kill();
        }
        catch (ArgumentException)
        {
        }
    }

    [SkippableFact]
    public async Task Cancelling_kills_the_child_and_throws_cancellation()
    {
        SkipWithoutSh();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var child = ChildProcess.Start("/bin/sh", new[] { "-c", "sleep 300" });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => child.WaitAsync(TimeSpan.FromMinutes(1), stop.Token));
        Assert.True(child.HasExited);
    }

    [SkippableFact]
    public async Task Stdin_bytes_go_in_while_stdout_comes_out()
    {
        SkipWithoutSh();
        var input = new byte[Mib4];
        new Random(15).NextBytes(input);
        using var sink = new MemoryStream();
        var r = await ChildProcess.RunAsync("/bin/sh", new[] { "-c", "cat" }, new ChildOptions { StdinBytes = input, StdoutTo = sink, Timeout = TimeSpan.FromSeconds(60) });
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(input, sink.ToArray());
    }

    [SkippableFact]
    public async Task Stdin_from_a_file_and_closed_stdin_by_default()
    {
        SkipWithoutSh();
        using var dir = new TempDir();
        var file = dir.Write("in.txt", "from a file\n");
        var fromFile = await ChildProcess.RunAsync("/bin/sh", new[] { "-c", "cat" }, new ChildOptions { StdinFile = file });
        Assert.Equal("from a file\n", fromFile.Stdout);

        // No stdin given: the child reads end of file at once instead of waiting on the test's own stdin.
        var none = await ChildProcess.RunAsync("/bin/sh", new[] { "-c", "cat; echo done" }, new ChildOptions { Timeout = TimeSpan.FromSeconds(30) });
        Assert.Equal("done\n", none.Stdout);
    }

    [SkippableFact]
    public async Task Arguments_reach_the_child_as_they_are_with_its_working_directory_and_environment_changes()
    {
        SkipWithoutSh();
        using var dir = new TempDir();
        Environment.SetEnvironmentVariable("TALOS_CHILD_TEST_REMOVED", "inherited");
        try
        {
            var r = await ChildProcess.RunAsync("/bin/sh",
                new[] { "-c", "pwd; printf '%s|' \"$@\"; echo; echo \"add=$TALOS_CHILD_TEST_ADDED removed=${TALOS_CHILD_TEST_REMOVED-unset}\"; exit 3", "sh", "a b", "$HOME", "'q'", "" },
                new ChildOptions
                {
                    WorkingDirectory = dir.Path,
                    Environment = new Dictionary<string, string?> { ["TALOS_CHILD_TEST_ADDED"] = "x y", ["TALOS_CHILD_TEST_REMOVED"] = null },
                });
            var lines = r.Stdout.Split('\n');
            Assert.Equal(3, r.ExitCode);
            Assert.Equal(Path.GetFullPath(dir.Path).TrimEnd('/'), Path.GetFullPath(lines[0]).TrimEnd('/'));
            Assert.Equal("a b|$HOME|'q'||", lines[1]);
            Assert.Equal("add=x y removed=unset", lines[2]);
            var failed = Assert.Throws<InvalidOperationException>(() => r.EnsureSuccess());
            Assert.Contains("failed with exit code 3", failed.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TALOS_CHILD_TEST_REMOVED", null);
        }
    }

    [Fact]
    public void A_missing_program_fails_at_start()
    {
        Assert.ThrowsAny<System.ComponentModel.Win32Exception>(() => ChildProcess.Run("talosimage-no-such-program-" + Guid.NewGuid().ToString("N"), Array.Empty<string>()));
    }

    private static async Task<int> PidFrom(ChildProcess child)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var line = child.StdoutSoFar;
            if (line.EndsWith('\n'))
            {
                return int.Parse(line.Trim());
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("the child did not print its child's pid: " + child.StderrSoFar);
    }

    /// <summary>No such process any more, or only a zombie waiting for a parent (a container's init) to reap it.</summary>
    private static async Task<bool> Gone(int pid)
    {
        for (var i = 0; i < 100; i++)
        {
            var stat = "/proc/" + pid + "/stat";
            string? text = null;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            if (text is null)
            {
                return true;
            }
            var state = text[(text.LastIndexOf(')') + 2)..].Split(' ')[0];
            if (state is "Z" or "X")
            {
                return true;
            }
            await Task.Delay(50);
        }
        return false;
    }
}
