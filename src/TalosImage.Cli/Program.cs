using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core;
using TalosImage.Core.Orders;

namespace TalosImage.Cli;

/// <summary>talos-order: Invoke-TalosOrder for people without PowerShell, with talos_order.py's flags.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CliArguments arguments;
        try
        {
            arguments = CliArguments.Parse(args);
        }
        catch (TalosException e)
        {
            Console.Error.WriteLine(SafeText.PrintableLines("error: " + e.Message));
            Console.Error.Write(CliArguments.Usage);
            return ExitCodes.BadInput;
        }
        if (arguments.Help)
        {
            Console.Out.Write(CliArguments.Usage);
            return ExitCodes.Success;
        }
        if (arguments.ShowVersion)
        {
            Console.Out.WriteLine($"talos-order {ToolInfo.Version}");
            return ExitCodes.Success;
        }

        var events = new ConsoleEvents(arguments.Verbose);
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            events.Warning("stopping: finishing nothing half-way; the next run resumes from what is complete");
            cancellation.Cancel();
        };

        var options = new RunOptions
        {
            ConfigPath = arguments.Config!,
            OrdersPath = arguments.Orders!,
            OrderIds = arguments.OrderIds,
            DryRun = arguments.DryRun,
            PurgeCache = arguments.PurgeCache,
            Verify = arguments.Verify,
            Offline = arguments.Offline,
            LogPath = arguments.LogPath,
            // No prompts: every push host's SSH handshake starts as the run starts, before planning.
            ConnectEarly = true,
        };
        try
        {
            var result = await new OrderRunner(options, events).RunAsync(cancellation.Token).ConfigureAwait(false);
            Print(result, arguments.Json);
            return result.ExitCode;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            events.Error("stopped");
            return ExitCodes.Failed;
        }
        catch (TalosException e)
        {
            events.Error(e.Message);
            if (arguments.Verbose)
            {
                Console.Error.WriteLine(SafeText.PrintableLines(e.ToString()));
            }
            return ExitCodes.For(e);
        }
        catch (Exception e)
        {
            events.Error("internal error: " + e.Message + (arguments.Verbose ? Environment.NewLine + e : " (run with --verbose for details)"));
            return ExitCodes.Failed;
        }
    }

    private static void Print(RunResult result, bool json)
    {
        if (json)
        {
            // JSON escapes control characters itself; the secrets rule applies to it as to every output.
            Console.Out.WriteLine(SafeText.Redact(JsonReport.Format(result)));
            return;
        }
        if (result.DryRun)
        {
            Console.Out.Write(SafeText.Redact(PlanReport.Format(result.Plan)));
            foreach (var m in result.Manifests)
            {
                Console.Out.WriteLine();
                Console.Out.WriteLine($"# manifest that would be written to {m.Path}");
                Console.Out.Write(SafeText.Redact(m.Yaml));
            }
            if (result.Removed.Count > 0)
            {
                Console.Out.WriteLine();
                Console.Out.WriteLine($"# cache files that would be removed ({Units.Bytes(result.Removed.Sum(r => r.Size))})");
                foreach (var r in result.Removed)
                {
                    Console.Out.WriteLine(r.Path);
                }
            }
            return;
        }
        Console.Out.Write(SafeText.Redact(RunReport.Summary(result)));
    }
}
