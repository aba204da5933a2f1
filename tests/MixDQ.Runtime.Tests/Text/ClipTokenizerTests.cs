using MixDQ.Runtime.Text;

namespace MixDQ.Runtime.Tests.Text;

/// <summary>
/// Ids against the real CLIP merges. Expected ids were derived with a line-by-line Python port of transformers'
/// slow <c>CLIPTokenizer</c> (no-ftfy path, Python 3.11 <c>regex</c> + <c>unicodedata</c>) over the same
/// <c>bpe_simple_vocab_16e6.txt.gz</c>; the anchor ids (a=320, photo=1125, of=539, cat=2368, "!"=0, "!</w>"=256,
/// BOS 49406, EOS 49407) are the well-known ones of HF's vocab.json.
/// </summary>
public class ClipTokenizerTests
{
    private const int Bos = 49406;
    private const int Eos = 49407;

    [Fact]
    public void Standard_vocabulary_has_clip_size_and_special_ids()
    {
        var tok = ClipTokenizers.EndOfTextPad;
        Assert.Equal(49408, tok.VocabularySize);
        Assert.Equal(Bos, tok.BosTokenId);
        Assert.Equal(Eos, tok.EosTokenId);
        Assert.Equal(Eos, tok.UnknownTokenId);
        Assert.Equal(Eos, tok.PadTokenId);
        Assert.Equal(0, ClipTokenizers.BangPad.PadTokenId);
        Assert.Equal(77, tok.MaxLength);
    }

    [Fact]
    public void A_photo_of_a_cat_gives_the_reference_ids_and_padding()
    {
        var result = ClipTokenizers.EndOfTextPad.Encode("a photo of a cat");
        Assert.Equal(77, result.Ids.Length);
        Assert.Equal([Bos, 320, 1125, 539, 320, 2368, Eos], result.Ids[..7]);
        Assert.All(result.Ids[7..], id => Assert.Equal(Eos, id));
        Assert.Equal(7, result.TokenCount);
        Assert.Equal(6, result.EosIndex);
        Assert.False(result.Truncated);
        Assert.Equal(["a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>"], ClipTokenizers.EndOfTextPad.Tokenize("a photo of a cat"));
    }

    [Fact]
    public void Pad_token_bang_pads_with_zero_after_eos()
    {
        var result = ClipTokenizers.BangPad.Encode("a photo of a cat");
        Assert.Equal([Bos, 320, 1125, 539, 320, 2368, Eos], result.Ids[..7]);
        Assert.All(result.Ids[7..], id => Assert.Equal(0, id));
    }

    public static TheoryData<string, int[]> ReferencePrompts => new()
    {
        { "A Photo Of A CAT", [320, 1125, 539, 320, 2368] },
        { "a corgi wearing a hat, 4k, highly detailed!", [320, 31320, 3309, 320, 3801, 267, 275, 330, 267, 5302, 12609, 256] },
        { "the cat's toy isn't here, we'll see", [518, 2368, 568, 5988, 2923, 713, 763, 267, 649, 1342, 862] },
        { "  multiple   spaces\tand\nnewlines  ", [6470, 9006, 537, 1218, 3418] },
        { "café crème brûlée", [15304, 1075, 12138, 614, 711, 127, 119, 75, 13489] },
        // The same words with decomposed accents: NFC makes them identical to the line above.
        { "cafe\u0301 cre\u0300me bru\u0302le\u0301e", [15304, 1075, 12138, 614, 711, 127, 119, 75, 13489] },
        // Python lowercases a word-final Σ to ς and İ to "i" + U+0307.
        { "ΟΔΟΣ İstanbul", [138, 123, 138, 112, 138, 123, 139, 480, 328, 16384, 11231] },
        { "日本の猫", [37156, 19277, 361, 4813, 362, 163, 234, 360] },
        // Letters outside the BMP (U+1D400) join the surrounding letter run, as in Python's regex.
        { "emoji 🐱 and a𝐀𝐁b letters", [16327, 22979, 537, 64, 15889, 222, 15889, 223, 321, 9181] },
        { "price: $3.50 + 20%", [2827, 281, 259, 274, 269, 276, 271, 266, 273, 271, 260] },
        // NUL, zero-width space and form feed are dropped, NBSP becomes a space.
        { "a\u0000b\u200bc\u000cd\u00a0e", [596, 4480, 324] },
        { "Straße ǅemal Ǆ", [1894, 127, 253, 324, 131, 228, 908, 566, 131, 484] },
        { "a cat!!", [320, 2368, 748] },
        { "wow! great!", [2781, 256, 830, 256] },
        // Special tokens inside a prompt: exact ones split out, others found by the pattern after lowercasing.
        { "x <|endoftext|> y <|STARTOFTEXT|>", [343, Eos, 344, Bos] },
    };

    [Theory]
    [MemberData(nameof(ReferencePrompts))]
    public void Prompts_match_reference_ids(string prompt, int[] content)
    {
        var result = ClipTokenizers.EndOfTextPad.Encode(prompt);
        Assert.Equal([Bos, .. content, Eos], result.Ids[..(content.Length + 2)]);
        Assert.Equal(content.Length + 2, result.TokenCount);
        Assert.All(result.Ids[(content.Length + 2)..], id => Assert.Equal(Eos, id));
    }

    [Fact]
    public void Bang_pad_token_splits_every_exclamation_mark_like_diffusers_4153()
    {
        var tok = ClipTokenizers.BangPad;
        Assert.Equal([Bos, 320, 2368, 0, 0, Eos, 0], tok.Encode("a cat!!").Ids[..7]);
        Assert.Equal([Bos, 2781, 0, 830, 0, Eos, 0], tok.Encode("wow! great!").Ids[..7]);
        // With the <|endoftext|> pad, BPE merges "!!" into one token instead.
        Assert.Equal([Bos, 320, 2368, 748, Eos], ClipTokenizers.EndOfTextPad.Encode("a cat!!").Ids[..5]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void Empty_prompt_is_bos_eos_and_padding(string prompt)
    {
        var result = ClipTokenizers.BangPad.Encode(prompt);
        Assert.Equal(Bos, result.Ids[0]);
        Assert.Equal(Eos, result.Ids[1]);
        Assert.All(result.Ids[2..], id => Assert.Equal(0, id));
        Assert.Equal(2, result.TokenCount);
        Assert.False(result.Truncated);
    }

    [Fact]
    public void Long_prompt_is_truncated_to_75_content_tokens()
    {
        var result = ClipTokenizers.EndOfTextPad.Encode(string.Concat(Enumerable.Repeat("a ", 100)) + "cat");
        Assert.Equal(77, result.Ids.Length);
        Assert.Equal(Bos, result.Ids[0]);
        Assert.All(result.Ids[1..76], id => Assert.Equal(320, id));
        Assert.Equal(Eos, result.Ids[76]);
        Assert.True(result.Truncated);
        Assert.Equal(77, result.TokenCount);
        Assert.Equal(103, result.UntruncatedTokenCount);
    }

    [Fact]
    public void Prompt_of_exactly_75_tokens_is_not_truncated()
    {
        var result = ClipTokenizers.BangPad.Encode(string.Concat(Enumerable.Repeat("one two three ", 25)));
        Assert.False(result.Truncated);
        Assert.Equal(77, result.TokenCount);
        Assert.Equal([Bos, 637, 1237, 2097, 637], result.Ids[..5]);
        Assert.Equal([2097, Eos], result.Ids[75..]);
    }

    [Fact]
    public void Encoding_is_repeatable_and_thread_safe()
    {
        var tok = ClipTokenizers.EndOfTextPad;
        var expected = tok.Encode("a corgi wearing a hat, 4k, highly detailed!").Ids;
        var results = new int[16][];
        Parallel.For(0, results.Length, i => results[i] = tok.Encode("a corgi wearing a hat, 4k, highly detailed!").Ids);
        Assert.All(results, ids => Assert.Equal(expected, ids));
    }
}
