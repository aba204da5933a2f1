using MixDQ.Runtime.Text;

namespace MixDQ.Runtime.Tests.Text;

/// <summary>NFC and the BasicTokenizer clean-up; expected strings come from Python 3.11's unicodedata.</summary>
public class UnicodeNormalizationTests
{
    [Theory]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("\u212b", "\u00c5")] // Angstrom sign: singleton decomposition
    [InlineData("\u2126", "\u03a9")] // Ohm sign
    [InlineData("\u1100\u1161\u11a8", "\uac01")] // Hangul L V T
    [InlineData("\uac00\u11a8", "\uac01")] // Hangul LV + T
    [InlineData("\u0958", "\u0915\u093c")] // composition exclusion stays decomposed
    [InlineData("a\u0323\u0302", "\u1ead")]
    [InlineData("a\u0302\u0323", "\u1ead")] // canonical reordering before composition
    [InlineData("\u1e0b\u0323", "\u1e0d\u0307")]
    [InlineData("\u0344", "\u0308\u0301")] // non-starter decomposition
    [InlineData("q\u0307\u0323", "q\u0323\u0307")]
    [InlineData("A\u030a\u0301", "\u01fa")]
    [InlineData("\u00c5\u0301x", "\u01fax")]
    [InlineData("\u0301a", "\u0301a")] // a leading mark blocks nothing after a starter but composes with none
    [InlineData("\U0001d15e", "\U0001d157\U0001d165")] // excluded astral composite
    [InlineData("plain ascii", "plain ascii")]
    public void Nfc_matches_python(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNfc.Normalize(input));
    }

    [Fact]
    public void Every_primary_composite_recomposes_from_its_decomposition()
    {
        var data = UnicodeNfcData.DecompositionCodePoints;
        foreach (int composite in UnicodeNfcData.PrimaryComposites)
        {
            int i = data.BinarySearch(composite);
            string pair = char.ConvertFromUtf32(UnicodeNfcData.DecompositionFirst[i]) + char.ConvertFromUtf32(UnicodeNfcData.DecompositionSecond[i]);
            Assert.Equal(char.ConvertFromUtf32(composite), UnicodeNfc.Normalize(pair));
        }
    }

    [Theory]
    [InlineData("  Hello\tWORLD\n", "hello world")]
    [InlineData("a\u0000b\u200bc\u000cd\u00a0e", "abcd e")]
    [InlineData("日本の猫", "日 本 の 猫")]
    [InlineData("ΟΔΟΣ ΣΑΣ", "οδος σας")]
    [InlineData("İ", "i\u0307")]
    [InlineData("Cafe\u0301", "caf\u00e9")]
    [InlineData("x\u2028y", "x y")]
    public void Basic_clean_up_matches_transformers(string input, string expected)
    {
        Assert.Equal(expected, ClipTextNormalizer.Normalize(input));
    }

    [Theory]
    [InlineData("it's a dog's life", new[] { "it", "'s", "a", "dog", "'s", "life" })]
    [InlineData("don't 'll'd", new[] { "don", "'t", "'ll", "'d" })]
    [InlineData("abc123!?x", new[] { "abc", "1", "2", "3", "!?", "x" })]
    [InlineData("a<|endoftext|>b", new[] { "a", "<|endoftext|>", "b" })]
    [InlineData("!<|endoftext|>", new[] { "!<|", "endoftext", "|>" })]
    public void Pre_tokenizer_follows_the_clip_pattern(string input, string[] expected)
    {
        Assert.Equal(expected, ClipPreTokenizer.Split(input));
    }

    [Fact]
    public void Byte_encoder_maps_bytes_like_bytes_to_unicode()
    {
        Assert.Equal("!", ClipByteEncoder.Encode("!"));
        Assert.Equal("\u0120", ClipByteEncoder.Encode(" ")); // space (byte 32) is the 33rd non-printable byte → U+0120
        Assert.Equal("\u0100", ClipByteEncoder.Encode("\u0000"));
        Assert.Equal("Ã©", ClipByteEncoder.Encode("é")); // C3 A9
        Assert.Equal(256, ClipByteEncoder.SymbolsInVocabOrder.Distinct().Count());
        Assert.Equal('!', ClipByteEncoder.SymbolsInVocabOrder[0]);
    }
}
