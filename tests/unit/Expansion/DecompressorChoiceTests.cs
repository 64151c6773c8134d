using TalosImage.Core;
using TalosImage.Core.Expansion;
using Xunit;

namespace TalosImage.Tests.Expansion;

/// <summary>The decoder choice: words, and the precedence parameter > TALOSIMAGE_DECOMPRESSOR > config > auto.</summary>
public sealed class DecompressorChoiceTests
{
    private static Func<string, string?> Env(string? value) =>
        name => name == DecompressorChoice.EnvironmentVariable ? value : null;

    [Theory]
    [InlineData("auto", ExpansionBackend.Auto)]
    [InlineData("native", ExpansionBackend.Native)]
    [InlineData("Managed", ExpansionBackend.Managed)]
    [InlineData(" PROGRAM ", ExpansionBackend.Program)]
    public void Words_in_any_case_name_a_decoder(string word, ExpansionBackend expected)
    {
        Assert.True(DecompressorChoice.TryParse(word, out var backend));
        Assert.Equal(expected, backend);
    }

    [Theory]
    [InlineData("")]
    [InlineData("sharpcompress")]
    [InlineData("2")]
    [InlineData(null)]
    public void Other_words_name_none(string? word)
    {
        Assert.False(DecompressorChoice.TryParse(word, out _));
    }

    [Fact]
    public void The_parameter_wins_then_the_environment_then_the_config_then_auto()
    {
        Assert.Equal(ExpansionBackend.Program, DecompressorChoice.Resolve(ExpansionBackend.Program, ExpansionBackend.Native, Env("managed")));
        Assert.Equal(ExpansionBackend.Managed, DecompressorChoice.Resolve(null, ExpansionBackend.Native, Env("managed")));
        Assert.Equal(ExpansionBackend.Native, DecompressorChoice.Resolve(null, ExpansionBackend.Native, Env(null)));
        Assert.Equal(ExpansionBackend.Native, DecompressorChoice.Resolve(null, ExpansionBackend.Native, Env("  ")));
        Assert.Equal(ExpansionBackend.Auto, DecompressorChoice.Resolve(null, null, Env(null)));
    }

    [Fact]
    public void A_bad_variable_is_an_error_that_names_it_unless_the_parameter_decides()
    {
        var e = Assert.Throws<TalosException>(() => DecompressorChoice.Resolve(null, null, Env("fast")));
        Assert.Equal("InvalidDecompressor", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("TALOSIMAGE_DECOMPRESSOR", e.Message);
        Assert.Contains("'fast'", e.Message);
        Assert.Contains("auto, native, managed, program", e.Message);
        Assert.Equal(ExpansionBackend.Managed, DecompressorChoice.Resolve(ExpansionBackend.Managed, null, Env("fast")));
    }
}

/// <summary>defaults.decompressor in config.yaml and TALOSIMAGE_DECOMPRESSOR in the orders loader.</summary>
public sealed class DecompressorConfigTests
{
    private static TalosImage.Core.Orders.TalosConfig Load(TempDir dir, string config, string? variable)
    {
        var c = dir.Write("config.yaml", config);
        var o = dir.Write("orders.yaml", "- orderid: A\n");
        return TalosImage.Core.Orders.OrderLoader.Load(c, o, name => name == DecompressorChoice.EnvironmentVariable ? variable : null).Config;
    }

    [Fact]
    public void Auto_by_default_the_config_key_else_and_the_variable_wins_over_it()
    {
        using var dir = new TempDir();
        Assert.Equal("auto", Load(dir, "defaults: {}\n", null).Decompressor);
        Assert.Equal("managed", Load(dir, "defaults:\n  decompressor: managed\n", null).Decompressor);
        Assert.Equal("program", Load(dir, "defaults:\n  decompressor: managed\n", "Program").Decompressor);
        Assert.Equal("native", Load(dir, "defaults: {}\n", "native").Decompressor);
        Assert.Equal("managed", Load(dir, "defaults:\n  decompressor: managed\n", "").Decompressor);
    }

    [Fact]
    public void Other_values_are_load_errors_that_name_the_key_or_the_variable()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<TalosImage.Core.Orders.TalosValidationException>(() => Load(dir, "defaults:\n  decompressor: sharpcompress\n", null));
        var problem = Assert.Single(e.Problems);
        Assert.Contains("decompressor", problem.Key);
        e = Assert.Throws<TalosImage.Core.Orders.TalosValidationException>(() => Load(dir, "defaults: {}\n", "fast"));
        problem = Assert.Single(e.Problems);
        Assert.Equal(DecompressorChoice.EnvironmentVariable, problem.Key);
        Assert.Contains("'fast'", problem.Message);
    }
}
