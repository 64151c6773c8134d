using System.Security.Cryptography;
using System.Text;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;
using Xunit;

namespace TalosImage.Tests.Schematics;

/// <summary>
/// Overlay options in the canonical YAML (and so in the locally computed schematic ID) as the factory's Go yaml
/// writes its <c>Overlay.Options map[string]any</c> after decoding the posted YAML into it.
///
/// How the expected bytes were derived (no network here): the factory (siderolabs/image-factory
/// <c>pkg/schematic</c>) unmarshals the body into its struct and hashes <c>yaml.Marshal</c> of it (go.yaml.in/yaml/v4,
/// yaml.v3's encoder). For a map[string]any that encoder (1) sorts keys with its <c>keyList.Less</c>: at the first
/// differing code point two letters compare by code point (so <c>B</c> &lt; <c>a</c>), a non-letter goes before a letter
/// unless a digit came just before, two non-letters compare as numbers made of the digit runs starting there (so
/// <c>a_b</c> &lt; <c>a2</c> &lt; <c>a10</c>: '_' starts an empty run, 0); (2) writes keys and string values plain unless
/// they would read back as another type (<c>"1.5"</c>, <c>"yes"</c>, <c>"no"</c>, <c>""</c> are double-quoted);
/// (3) writes ints in decimal (the decoder read <c>0x3</c> as 3, <c>010</c> as octal 8, <c>-0x2</c> as -2) and floats
/// with <c>strconv.FormatFloat(f, 'g', -1, 64)</c> (1.0e6 -> <c>1e+06</c>, 1.50 -> <c>1.5</c>, 0.0001 stays,
/// 0.0000125 -> <c>1.25e-05</c>), nil as <c>null</c>; (4) indents 4 per level, a sequence 4 deeper than its key, a
/// mapping in a sequence with its first key after <c>- </c>. The IDs are the SHA-256 of those bytes (sha256sum).
/// </summary>
public class OverlayOptionsTests
{
    private const string Vector1Yaml =
        "overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\n    options:\n" +
        "        _x: \"1.5\"\n        b9: true\n        b10: 3\n        configTxtAppend: dtoverlay=vc4-kms-v3d\n        float: 1e+06\n" +
        "        list:\n            - a\n            - j: 2\n              k: v\n" +
        "        nested:\n            a: \"\"\n            z: null\n        oct: 8\n        \"yes\": \"no\"\n" +
        "customization: {}\n";
    private const string Vector1Id = "16e6ad6ba09cbc8b3b200fdadad69c31d2323cfc36836388c3e528de8e6f6cee";

    private const string Vector2Yaml =
        "overlay:\n    image: siderolabs/sbc-rockchip\n    name: rock5b\n    options:\n" +
        "        B: 123456789\n        a_b: 0.0001\n        a2: 1.5\n        a10: -2\n        ab: 1.25e-05\n" +
        "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n";
    private const string Vector2Id = "17463b5887ad94621af76888525221fbdf9503e79c92ffe47548bbad9a2ce622";

    private static string Sha256(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    [Fact]
    public void The_vectors_ids_are_the_sha256_of_their_bytes()
    {
        Assert.Equal(Vector1Id, Sha256(Vector1Yaml));
        Assert.Equal(Vector2Id, Sha256(Vector2Yaml));
    }

    [Fact]
    public void Options_read_from_an_order_are_typed_sorted_and_quoted_as_the_factory_writes_them()
    {
        // Written out of order, with the spellings the Go decoder normalises.
        var schematic = SchematicReader.Parse("schematic.yaml", """
            overlay:
              name: rpi_generic
              image: siderolabs/sbc-raspberrypi
              options:
                "yes": "no"
                oct: 010
                nested: {z: ~, a: ""}
                list: [a, {k: v, j: 2}]
                float: 1.0e6
                configTxtAppend: dtoverlay=vc4-kms-v3d
                b10: 0x3
                b9: True
                _x: '1.5'
            """);

        Assert.Equal(Vector1Yaml, schematic.ToCanonicalYaml());
        Assert.Equal(Vector1Id, schematic.ComputeId());
    }

    [Fact]
    public void Numbers_and_natural_key_order_follow_go_yaml()
    {
        var schematic = SchematicReader.Parse("schematic.yaml", """
            overlay:
              image: siderolabs/sbc-rockchip
              name: rock5b
              options:
                ab: 0.0000125
                a10: -0x2
                a2: 1.50
                a_b: 1e-4
                B: 123_456_789
            customization:
              systemExtensions:
                officialExtensions: [siderolabs/iscsi-tools]
            """);

        Assert.Equal(Vector2Yaml, schematic.ToCanonicalYaml());
        Assert.Equal(Vector2Id, schematic.ComputeId());
    }

    [Fact]
    public void The_reference_overlay_vector_still_matches()
    {
        var s = SchematicReader.Parse("schematic.yaml", "overlay: {image: siderolabs/sbc-raspberrypi, name: rpi_generic}\n");
        Assert.Equal("ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9", s.ComputeId());
    }

    [Theory]
    [InlineData(1e6, "1e+06")]
    [InlineData(123456.0, "123456")]
    [InlineData(1234567.0, "1.234567e+06")]
    [InlineData(1.5, "1.5")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(-2.5e-300, "-2.5e-300")]
    [InlineData(1e21, "1e+21")]
    [InlineData(0.1, "0.1")]
    [InlineData(100.0, "100")]
    [InlineData(double.PositiveInfinity, ".inf")]
    [InlineData(double.NegativeInfinity, "-.inf")]
    [InlineData(double.NaN, ".nan")]
    public void Floats_are_written_as_go_formats_them(double value, string expected)
    {
        Assert.Equal(expected, SchematicYaml.GoFloat(value));
    }

    [Theory]
    [InlineData("010", 8L)]
    [InlineData("0o17", 15L)]
    [InlineData("0b101", 5L)]
    [InlineData("-0x10", -16L)]
    [InlineData("1_000", 1000L)]
    public void Plain_integers_resolve_as_go_parses_them(string text, long expected)
    {
        Assert.Equal(expected, SchematicReader.ResolvePlain(text));
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("2024-01-02")]
    [InlineData("0x")]
    [InlineData("1.2.3")]
    public void Other_plain_scalars_stay_text(string text)
    {
        Assert.Equal(text, SchematicReader.ResolvePlain(text));
    }

    [Fact]
    public void Go_key_order_puts_non_letters_first_and_compares_digit_runs_as_numbers()
    {
        var keys = new[] { "ab", "a10", "B", "a2", "a_b", "1a", "1-", "a02", "a1" };
        var sorted = keys.OrderBy(k => k, SchematicYaml.GoKeyComparer.Instance).ToArray();
        // "1a" before "1-": after a digit a letter goes first; "a2" before "a02" (same value, the shorter run), both before "a10".
        Assert.Equal(new[] { "1a", "1-", "B", "a_b", "a1", "a2", "a02", "a10", "ab" }, sorted);
    }
}
