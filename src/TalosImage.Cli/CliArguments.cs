using System;
using System.Collections.Generic;
using System.Linq;
using TalosImage.Core;
using TalosImage.Core.Orders;

namespace TalosImage.Cli;

/// <summary>talos_order.py's flags and this tool's additions, parsed strictly: an unknown flag is a usage error (exit 2).</summary>
internal sealed class CliArguments
{
    public string? Config { get; private set; }
    public string? Orders { get; private set; }
    public bool DryRun { get; private set; }
    public bool PurgeCache { get; private set; }
    public bool Verify { get; private set; }
    public bool Offline { get; private set; }
    public bool Json { get; private set; }
    public bool Verbose { get; private set; }
    public bool Help { get; private set; }
    public bool ShowVersion { get; private set; }
    public string? LogPath { get; private set; }
    public List<string> OrderIds { get; } = new();

    private static readonly string[] Flags =
    {
        "--config", "--orders", "--dry-run", "--purge-cache", "--verify", "--order", "--json", "--verbose", "--log", "--offline", "--help", "--version",
    };

    public const string Usage =
        "usage: talos-order --config FILE --orders FILE [--dry-run] [--purge-cache] [--verify] [--order ID]... [--offline] [--json] [--log FILE] [--verbose]\n" +
        "\n" +
        "  --config FILE    defaults, cache, manifest and push settings (talos_order.py's config.yaml)\n" +
        "  --orders FILE    the orders (talos_order.py's orders.yaml)\n" +
        "  --dry-run        print the plan and the manifests that would be written; change nothing\n" +
        "  --purge-cache    remove the cached artifacts before the run (manifests and other files stay)\n" +
        "  --verify         re-hash cached artifacts; a corrupt one is downloaded again\n" +
        "  --order ID       only this order (repeatable)\n" +
        "  --offline        ask no server: exact versions unchecked, schematic IDs computed locally\n" +
        "  --json           print the order results (and with --dry-run the plan) as JSON on stdout\n" +
        "  --log FILE       append one line per stage and position to FILE\n" +
        "  --verbose        more detail on stderr, stack traces on internal errors\n" +
        "\n" +
        "exit codes: 0 every position succeeded, 1 a position or push failed, 2 bad input or usage\n";

    public static CliArguments Parse(string[] args)
    {
        var a = new CliArguments();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg.Substring(eq + 1);
                arg = arg.Substring(0, eq);
            }
            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }
                if (i + 1 >= args.Length || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                {
                    throw Error($"{arg} needs a value");
                }
                return args[++i];
            }
            void NoValue()
            {
                if (inline is not null)
                {
                    throw Error($"{arg} takes no value");
                }
            }
            switch (arg)
            {
                case "--config": a.Config = Value(); break;
                case "--orders": a.Orders = Value(); break;
                case "--order": a.OrderIds.Add(Value()); break;
                case "--log": a.LogPath = Value(); break;
                case "--dry-run": NoValue(); a.DryRun = true; break;
                case "--purge-cache": NoValue(); a.PurgeCache = true; break;
                case "--verify": NoValue(); a.Verify = true; break;
                case "--offline": NoValue(); a.Offline = true; break;
                case "--json": NoValue(); a.Json = true; break;
                case "--verbose": case "-v": NoValue(); a.Verbose = true; break;
                case "--help": case "-h": a.Help = true; break;
                case "--version": a.ShowVersion = true; break;
                default:
                    var hint = arg.StartsWith("-", StringComparison.Ordinal) ? NearMiss.Suggest(arg, Flags) : null;
                    throw Error(arg.StartsWith("-", StringComparison.Ordinal)
                        ? $"unknown option {arg}" + (hint is not null ? $"; did you mean {hint}?" : "")
                        : $"unexpected argument '{arg}'");
            }
        }
        if (!a.Help && !a.ShowVersion && (a.Config is null || a.Orders is null))
        {
            throw Error(a.Config is null ? "--config is required" : "--orders is required");
        }
        return a;
    }

    private static TalosException Error(string message) => new(TalosErrors.Usage, message);
}
