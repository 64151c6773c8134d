using System.Reflection;

namespace TalosImage.Bench;

/// <summary>
/// talos-bench NAME [args]: runs the benchmark class TalosImage.Bench.&lt;Name&gt;Bench, which has
/// <c>public static Task&lt;int&gt; RunAsync(string[] args)</c> and prints its figures and ratios against the
/// reference tools. Benchmarks are not tests: they run by hand (bench/README.md) and their figures go into
/// docs/PERFORMANCE.md with the command that produced them.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var benches = typeof(Program).Assembly.GetTypes()
            .Where(t => t.Name.EndsWith("Bench", StringComparison.Ordinal) && t.GetMethod("RunAsync", BindingFlags.Public | BindingFlags.Static) is not null)
            .ToDictionary(t => t.Name[..^"Bench".Length].ToLowerInvariant(), t => t);
        if (args.Length == 0 || !benches.TryGetValue(args[0].ToLowerInvariant(), out var type))
        {
            Console.Error.WriteLine("usage: talos-bench " + (benches.Count == 0 ? "NAME" : string.Join("|", benches.Keys.OrderBy(k => k))) + " [args]");
            return 2;
        }
        var run = type.GetMethod("RunAsync", BindingFlags.Public | BindingFlags.Static)!;
        return await (Task<int>)run.Invoke(null, new object[] { args[1..] })!;
    }
}
