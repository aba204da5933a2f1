using System.Text.Json.Nodes;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Text;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Text;

public class ClipTokenizerFolderTests
{
    private static readonly string[] Prompts =
    [
        "a photo of a cat", "a corgi wearing a hat, 4k, highly detailed!", "the cat's toy isn't here, we'll see",
        "café crème brûlée", "日本の猫", "a cat!!", "wow! great!", "", string.Concat(Enumerable.Repeat("long ", 90)),
    ];

    [Theory]
    [InlineData("<|endoftext|>", 49407)]
    [InlineData("!", 0)]
    public void Written_folder_reads_back_to_the_same_ids_as_the_merge_list(string pad, int padId)
    {
        using var dir = RepoPaths.NewTempDir();
        ClipTokenizerFiles.Write(dir.Path, RepoPaths.ClipMerges, pad);
        var fromFolder = ClipTokenizer.FromFolder(dir.Path);
        var reference = pad == "!" ? ClipTokenizers.BangPad : ClipTokenizers.EndOfTextPad;

        Assert.Equal(padId, fromFolder.PadTokenId);
        Assert.Equal(pad, fromFolder.PadToken);
        Assert.Equal(49408, fromFolder.VocabularySize);
        Assert.Equal(77, fromFolder.MaxLength);
        foreach (string prompt in Prompts) Assert.Equal(reference.Encode(prompt).Ids, fromFolder.Encode(prompt).Ids);
    }

    [Fact]
    public void Files_given_in_memory_read_like_the_folder()
    {
        using var dir = RepoPaths.NewTempDir();
        ClipTokenizerFiles.Write(dir.Path, RepoPaths.ClipMerges, "!");
        var texts = Directory.GetFiles(dir.Path).ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
        var fromFiles = ClipTokenizer.FromFiles(name => texts.GetValueOrDefault(name), "artifact/tokenizer");
        var fromFolder = ClipTokenizer.FromFolder(dir.Path);

        Assert.Equal(fromFolder.PadTokenId, fromFiles.PadTokenId);
        foreach (string prompt in Prompts) Assert.Equal(fromFolder.Encode(prompt).Ids, fromFiles.Encode(prompt).Ids);

        texts.Remove("merges.txt");
        var e = Assert.Throws<MixDQException>(() => ClipTokenizer.FromFiles(name => texts.GetValueOrDefault(name), "artifact/tokenizer"));
        Assert.Equal(ErrorCodes.TokenizerFilesInvalid, e.Code);
        Assert.Equal(Path.Combine("artifact/tokenizer", "merges.txt"), e.File);
    }

    [Fact]
    public void Written_files_use_the_hugging_face_layout()
    {
        using var dir = RepoPaths.NewTempDir();
        ClipTokenizerFiles.Write(dir.Path, RepoPaths.ClipMerges, "!");
        string[] merges = File.ReadAllLines(dir.File("merges.txt"));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal("i n", merges[1]);
        Assert.Equal(48894 + 1, merges.Length);
        var vocab = JsonNode.Parse(File.ReadAllText(dir.File("vocab.json")))!.AsObject();
        Assert.Equal(49408, vocab.Count);
        Assert.Equal(320, (int)vocab["a</w>"]!);
        Assert.Equal(0, (int)vocab["!"]!);
        var map = JsonNode.Parse(File.ReadAllText(dir.File("special_tokens_map.json")))!.AsObject();
        Assert.Equal("!", (string)map["pad_token"]!);
        Assert.Equal("<|startoftext|>", (string)map["bos_token"]!["content"]!);
        var config = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer_config.json")))!.AsObject();
        Assert.Equal(77, (int)config["model_max_length"]!);
        Assert.Equal("!", (string)config["added_tokens_decoder"]!["0"]!["content"]!);
    }

    [Fact]
    public void Pad_token_as_object_with_content_and_config_fallback_are_honoured()
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("special_tokens_map.json"), """{"pad_token": {"content": "!", "lstrip": false}}""");
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"pad_token": "<|endoftext|>", "model_max_length": 8}""");
        var tok = ClipTokenizer.FromFolder(dir.Path);
        Assert.Equal(0, tok.PadTokenId); // special_tokens_map.json wins, as in transformers
        Assert.Equal(8, tok.MaxLength);
        File.Delete(dir.File("special_tokens_map.json"));
        Assert.Equal(TinyEos, ClipTokenizer.FromFolder(dir.Path).PadTokenId);
    }

    [Fact]
    public void Tiny_vocabulary_with_few_merges_tokenizes_consistently()
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"model_max_length": 6}""");
        var tok = ClipTokenizer.FromFolder(dir.Path);
        // "cat" → c a t</w> → (a, t</w>) rank 0 → c at</w> → (c, at</w>) rank 1 → cat</w>.
        // "ta" → t a</w>: no ranked pair, stays two symbols.
        Assert.Equal(["cat</w>", "t", "a</w>"], tok.Tokenize("cat ta"));
        Assert.Equal([TinyBos, TinyCat, 3, 4, TinyEos, TinyEos], tok.Encode("cat ta").Ids);
        var result = tok.Encode("cat cat cat cat cat");
        Assert.Equal([TinyBos, TinyCat, TinyCat, TinyCat, TinyCat, TinyEos], result.Ids);
        Assert.True(result.Truncated);
        // Symbols outside the tiny vocabulary map to the unknown token (<|endoftext|>).
        Assert.Equal([TinyBos, TinyEos, TinyEos, TinyEos, TinyEos, TinyEos], tok.Encode("z").Ids);
    }

    [Fact]
    public void Missing_folder_is_reported()
    {
        var e = Assert.Throws<MixDQException>(() => ClipTokenizer.FromFolder(Path.Combine(Path.GetTempPath(), "no-such-tokenizer-dir-mixdq")));
        Assert.Equal(ErrorCodes.TokenizerFilesInvalid, e.Code);
    }

    [Fact]
    public void Missing_vocab_json_names_the_file()
    {
        using var dir = TinyFolder();
        File.Delete(dir.File("vocab.json"));
        AssertInvalid(dir, "vocab.json", null);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{"a": "one"}""")]
    [InlineData("""{"a": -3}""")]
    [InlineData("{}")]
    public void Invalid_vocab_json_names_the_file(string content)
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("vocab.json"), content);
        AssertInvalid(dir, "vocab.json", null);
    }

    [Fact]
    public void Missing_merges_txt_names_the_file()
    {
        using var dir = TinyFolder();
        File.Delete(dir.File("merges.txt"));
        AssertInvalid(dir, "merges.txt", null);
    }

    [Theory]
    [InlineData("a t</w>\nc at</w>\n", "line 1")]
    [InlineData("#version: 0.2\na t</w>\nc at</w> x\n", "line 3")]
    [InlineData("#version: 0.2\nq q\n", "line 2")]
    public void Invalid_merges_txt_names_the_file_and_line(string content, string line)
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("merges.txt"), content);
        AssertInvalid(dir, "merges.txt", line);
    }

    [Fact]
    public void Pad_token_missing_from_vocab_names_the_field()
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("special_tokens_map.json"), """{"pad_token": "<pad>"}""");
        AssertInvalid(dir, "special_tokens_map.json", "pad_token");
    }

    [Theory]
    [InlineData("""{"model_max_length": 1e30}""", "model_max_length")]
    [InlineData("""{"model_max_length": "77"}""", "model_max_length")]
    [InlineData("""{"pad_token": 5}""", "pad_token")]
    [InlineData("""{"added_tokens_decoder": {"x": {"content": "!"}}}""", "added_tokens_decoder.x")]
    public void Invalid_tokenizer_config_names_the_field(string content, string field)
    {
        using var dir = TinyFolder();
        File.WriteAllText(dir.File("tokenizer_config.json"), content);
        AssertInvalid(dir, "tokenizer_config.json", field);
    }

    [Fact]
    public void Pad_token_outside_the_vocabulary_is_rejected_when_building_from_merges()
    {
        var e = Assert.Throws<MixDQException>(() => ClipTokenizer.FromBpeMerges(RepoPaths.ClipMerges, "<pad>"));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
    }

    [Fact]
    public void Unreadable_merge_list_is_reported_with_its_path()
    {
        using var dir = RepoPaths.NewTempDir();
        File.WriteAllText(dir.File("bpe.txt.gz"), "not gzip");
        var e = Assert.Throws<MixDQException>(() => ClipTokenizer.FromBpeMerges(dir.File("bpe.txt.gz")));
        Assert.Equal(ErrorCodes.TokenizerFilesInvalid, e.Code);
        Assert.Equal(dir.File("bpe.txt.gz"), e.File);
    }

    private const int TinyBos = 7;
    private const int TinyEos = 8;
    private const int TinyCat = 6;

    /// <summary>A hand-made folder: byte symbols a c t (+ &lt;/w&gt;), two merges, the two specials.</summary>
    private static TempDir TinyFolder()
    {
        var dir = RepoPaths.NewTempDir();
        File.WriteAllText(dir.File("vocab.json"), """
            {"!": 0, "a": 1, "c": 2, "t": 3, "a</w>": 4, "at</w>": 5, "cat</w>": 6,
             "<|startoftext|>": 7, "<|endoftext|>": 8, "t</w>": 9}
            """);
        File.WriteAllText(dir.File("merges.txt"), "#version: 0.2\na t</w>\nc at</w>\n");
        return dir;
    }

    private static void AssertInvalid(TempDir dir, string fileName, string? item)
    {
        var e = Assert.Throws<MixDQException>(() => ClipTokenizer.FromFolder(dir.Path));
        Assert.Equal(ErrorCodes.TokenizerFilesInvalid, e.Code);
        Assert.Equal(dir.File(fileName), e.File);
        if (item is not null) Assert.Equal(item, e.Item);
        Assert.Contains(fileName, e.ToDiagnosticLine(), StringComparison.Ordinal);
    }
}
