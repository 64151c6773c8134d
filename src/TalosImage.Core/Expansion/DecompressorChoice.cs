using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Which decoder expands xz and zstd, decided in one place for every host. Precedence, highest first:
/// the cmdlet parameter (<c>Expand-TalosImage -Decompressor</c>), the environment variable
/// <see cref="EnvironmentVariable"/>, config.yaml's <c>defaults.decompressor</c> (talos-order, Invoke-TalosOrder),
/// then <see cref="ExpansionBackend.Auto"/>. The environment wins over the file, as TALOS_FACTORY_URL does over
/// <c>defaults.factory_url</c>: one variable forces a decoder for a whole session or test run without editing
/// configs. An empty variable counts as unset. See docs/EXPANSION.md.
/// </summary>
public static class DecompressorChoice
{
    public const string EnvironmentVariable = "TALOSIMAGE_DECOMPRESSOR";

    /// <summary>The words config.yaml and the variable take (any case).</summary>
    public static readonly IReadOnlyList<string> Words = new[] { "auto", "native", "managed", "program" };

    /// <summary>A word of <see cref="Words"/> (any case, surrounding blanks ignored); false for anything else.</summary>
    public static bool TryParse(string? text, out ExpansionBackend backend)
    {
        backend = ExpansionBackend.Auto;
        var word = text?.Trim();
        if (string.IsNullOrEmpty(word) || !Words.Contains(word!, StringComparer.OrdinalIgnoreCase))
        {
            return false;
        }
        backend = (ExpansionBackend)Enum.Parse(typeof(ExpansionBackend), word!, ignoreCase: true);
        return true;
    }

    /// <summary>
    /// The variable's choice: null when unset or empty; a <see cref="TalosErrors.InvalidDecompressor"/> error when it
    /// names no decoder.
    /// </summary>
    public static ExpansionBackend? FromEnvironment(Func<string, string?>? environment = null)
    {
        var value = (environment ?? System.Environment.GetEnvironmentVariable)(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (!TryParse(value, out var backend))
        {
            throw new TalosException(TalosErrors.InvalidDecompressor, Problem(value!), EnvironmentVariable);
        }
        return backend;
    }

    /// <summary>What is wrong with a value of the variable, in the words the loader and the cmdlet both use.</summary>
    public static string Problem(string value) =>
        $"the environment variable {EnvironmentVariable} is '{Printable(value)}'; expected one of {string.Join(", ", Words)}";

    /// <summary>
    /// The decoder to use: <paramref name="parameter"/> when given, else the environment variable, else
    /// <paramref name="configured"/>, else Auto.
    /// </summary>
    public static ExpansionBackend Resolve(ExpansionBackend? parameter, ExpansionBackend? configured = null, Func<string, string?>? environment = null) =>
        parameter ?? FromEnvironment(environment) ?? configured ?? ExpansionBackend.Auto;

    private static string Printable(string value)
    {
        var cut = value.Length > 40 ? value.Substring(0, 40) + "..." : value;
        return new string(cut.Select(c => char.IsControl(c) ? '?' : c).ToArray());
    }
}
