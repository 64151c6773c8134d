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
