using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Text;

/// <summary>
/// The four files of a Hugging Face CLIP tokenizer folder (<c>vocab.json</c>, <c>merges.txt</c>,
/// <c>special_tokens_map.json</c>, <c>tokenizer_config.json</c>): writing them from OpenAI's merge list, and
/// reading them back with validation.
/// </summary>
public static class ClipTokenizerFiles
{
    public const string VocabFileName = "vocab.json";
    public const string MergesFileName = "merges.txt";
    public const string SpecialTokensMapFileName = "special_tokens_map.json";
    public const string TokenizerConfigFileName = "tokenizer_config.json";

    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep non-ASCII symbols readable, as HF does
    };

    /// <summary>
    /// Writes a complete tokenizer folder holding the standard 49408-entry CLIP vocabulary built from
    /// <paramref name="bpeGzPath"/>, padding with <paramref name="padToken"/> (<c>"&lt;|endoftext|&gt;"</c> for
    /// SD-1.x / SDXL <c>tokenizer/</c>, <c>"!"</c> for SD-2.x / sd-turbo / SDXL <c>tokenizer_2/</c>).
    /// </summary>
    public static void Write(string dir, string bpeGzPath, string padToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        ArgumentException.ThrowIfNullOrEmpty(bpeGzPath);
        ArgumentException.ThrowIfNullOrEmpty(padToken);
        var merges = ClipMerges.ReadGzip(bpeGzPath);
        var vocab = ClipMerges.BuildStandardVocab(merges);
        if (!vocab.TryGetValue(padToken, out int padId))
            throw new MixDQException(ErrorCodes.InvalidArgument, $"pad token '{padToken}' is not in the CLIP vocabulary", item: nameof(padToken));

        Directory.CreateDirectory(dir);
        WriteVocab(Path.Combine(dir, VocabFileName), vocab);
        WriteMerges(Path.Combine(dir, MergesFileName), merges);
        WriteJson(Path.Combine(dir, SpecialTokensMapFileName), SpecialTokensMap(padToken));
        WriteJson(Path.Combine(dir, TokenizerConfigFileName), TokenizerConfig(vocab, padToken, padId));
    }

    private static void WriteVocab(string path, Dictionary<string, int> vocab)
    {
        var sorted = new SortedDictionary<string, int>(vocab, StringComparer.Ordinal);
        File.WriteAllText(path, JsonSerializer.Serialize(sorted, WriteOptions) + "\n", new UTF8Encoding(false));
    }

    private static void WriteMerges(string path, List<(string First, string Second)> merges)
    {
        var sb = new StringBuilder(merges.Count * 10);
        sb.Append("#version: 0.2\n");
        foreach (var (first, second) in merges) sb.Append(first).Append(' ').Append(second).Append('\n');
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    private static JsonObject AddedTokenObject(string content) => new()
    {
        ["content"] = content,
        ["lstrip"] = false,
        ["normalized"] = true,
        ["rstrip"] = false,
        ["single_word"] = false,
    };

    private static JsonObject SpecialTokensMap(string padToken) => new()
    {
        ["bos_token"] = AddedTokenObject(ClipTokenizer.StartOfText),
        ["eos_token"] = AddedTokenObject(ClipTokenizer.EndOfText),
        ["pad_token"] = padToken == ClipTokenizer.EndOfText ? AddedTokenObject(padToken) : padToken,
        ["unk_token"] = AddedTokenObject(ClipTokenizer.EndOfText),
    };

    private static JsonObject TokenizerConfig(Dictionary<string, int> vocab, string padToken, int padId)
    {
        var added = new SortedDictionary<int, string>
        {
            [vocab[ClipTokenizer.StartOfText]] = ClipTokenizer.StartOfText,
            [vocab[ClipTokenizer.EndOfText]] = ClipTokenizer.EndOfText,
            [padId] = padToken,
        };
        var decoder = new JsonObject();
        foreach (var (id, content) in added)
        {
            var entry = AddedTokenObject(content);
            entry["special"] = true;
            decoder[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = entry;
        }
        return new JsonObject
        {
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = ClipTokenizer.StartOfText,
            ["clean_up_tokenization_spaces"] = true,
            ["do_lower_case"] = true,
            ["eos_token"] = ClipTokenizer.EndOfText,
            ["errors"] = "replace",
            ["model_max_length"] = ClipTokenizer.DefaultMaxLength,
            ["pad_token"] = padToken,
            ["tokenizer_class"] = "CLIPTokenizer",
            ["unk_token"] = ClipTokenizer.EndOfText,
        };
    }

    private static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(WriteOptions) + "\n", new UTF8Encoding(false));

    // ---------------------------------------------------------------- reading

    /// <summary>Reads and validates a tokenizer folder.</summary>
    internal static ClipTokenizerModel Read(string dir)
    {
        if (!Directory.Exists(dir))
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "tokenizer folder not found", dir);
        return Read(name => ReadFolderFile(Path.Combine(dir, name)), dir);
    }

    /// <summary>
    /// Reads and validates the tokenizer files that <paramref name="readFile"/> gives by file name (null when a
    /// file is absent); <paramref name="origin"/> is where they live, and errors name <c>origin/file</c>.
    /// </summary>
    internal static ClipTokenizerModel Read(Func<string, string?> readFile, string origin)
    {
        string vocabPath = Path.Combine(origin, VocabFileName);
        var vocab = ReadVocab(readFile(VocabFileName), vocabPath);
        string mergesPath = Path.Combine(origin, MergesFileName);
        string mergesText = readFile(MergesFileName)
            ?? throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "merges.txt is missing", mergesPath);
        var merges = ClipMerges.Parse(mergesText, mergesPath);
        CheckMergesAgainstVocab(merges, vocab, mergesPath);

        string configPath = Path.Combine(origin, TokenizerConfigFileName);
        string mapPath = Path.Combine(origin, SpecialTokensMapFileName);
        JsonObject? config = ParseOptionalJsonObject(readFile(TokenizerConfigFileName), configPath);
        JsonObject? map = ParseOptionalJsonObject(readFile(SpecialTokensMapFileName), mapPath);

        var special = new SpecialTokenReader(config, configPath, map, mapPath);
        string bos = special.Token("bos_token", ClipTokenizer.StartOfText);
        string eos = special.Token("eos_token", ClipTokenizer.EndOfText);
        string unk = special.Token("unk_token", ClipTokenizer.EndOfText);
        string pad = special.Token("pad_token", ClipTokenizer.EndOfText);
        int maxLength = ReadMaxLength(config, configPath);
        var added = ReadAddedTokens(config, configPath);

        foreach (var (field, token) in new[] { ("bos_token", bos), ("eos_token", eos), ("unk_token", unk), ("pad_token", pad) })
        {
            if (!vocab.ContainsKey(token) && !added.ContainsKey(token))
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                    $"{field} '{token}' is neither in vocab.json nor an added token", special.SourceOf(field), field);
        }
        foreach (string token in new[] { bos, eos, unk, pad })
        {
            if (!added.ContainsKey(token)) added[token] = vocab[token];
        }
        return new ClipTokenizerModel(vocab, merges, bos, eos, unk, pad, maxLength, added);
    }

    /// <summary>A file of a tokenizer folder as strict UTF-8 text, or null when it does not exist.</summary>
    private static string? ReadFolderFile(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return File.ReadAllText(path, new UTF8Encoding(false, true));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, $"cannot read {Path.GetFileName(path)}: {e.Message}", path, inner: e);
        }
    }

    private static Dictionary<string, int> ReadVocab(string? text, string path)
    {
        if (text is null)
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "vocab.json is missing", path);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, $"vocab.json is not valid JSON: {e.Message}", path, inner: e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "vocab.json must be a JSON object of token → id", path);
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                    throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                        $"the id of token '{entry.Name}' must be a non-negative integer", path, entry.Name);
                vocab[entry.Name] = id;
            }
            if (vocab.Count == 0)
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "vocab.json is empty", path);
            return vocab;
        }
    }

    /// <summary>Every merge must produce a vocabulary entry, or BPE would emit tokens the model cannot embed.</summary>
    private static void CheckMergesAgainstVocab(List<(string First, string Second)> merges, Dictionary<string, int> vocab, string path)
    {
        for (int i = 0; i < merges.Count; i++)
        {
            string joined = merges[i].First + merges[i].Second;
            if (!vocab.ContainsKey(joined))
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                    $"merge '{merges[i].First} {merges[i].Second}' produces '{joined}', which is not in vocab.json", path, $"line {i + 2}");
        }
    }

    private static JsonObject? ParseOptionalJsonObject(string? text, string path)
    {
        if (text is null) return null;
        try
        {
            return JsonNode.Parse(text) as JsonObject
                ?? throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "expected a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, $"not valid JSON: {e.Message}", path, inner: e);
        }
    }

    private static int ReadMaxLength(JsonObject? config, string path)
    {
        JsonNode? node = config?["model_max_length"];
        if (node is null) return ClipTokenizer.DefaultMaxLength;
        if (node is JsonValue value && value.TryGetValue(out double d) && d == Math.Floor(d) && d >= 2 && d <= ClipTokenizer.MaxSupportedLength)
            return (int)d;
        throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
            $"model_max_length must be an integer from 2 to {ClipTokenizer.MaxSupportedLength}, found {node.ToJsonString()}", path, "model_max_length");
    }

    /// <summary><c>added_tokens_decoder</c>: id → {content, …}; every entry splits prompts like a special token.</summary>
    private static Dictionary<string, int> ReadAddedTokens(JsonObject? config, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (config?["added_tokens_decoder"] is not JsonObject decoder) return added;
        foreach (var (key, node) in decoder)
        {
            string? content = node is JsonObject o && o["content"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)
                || string.IsNullOrEmpty(content))
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                    "added_tokens_decoder entries must map an integer id to an object with a non-empty 'content'", path, $"added_tokens_decoder.{key}");
            added[content] = id;
        }
        return added;
    }

    /// <summary>Special tokens: special_tokens_map.json wins over tokenizer_config.json (as in transformers).</summary>
    private sealed class SpecialTokenReader(JsonObject? config, string configPath, JsonObject? map, string mapPath)
    {
        public string Token(string field, string fallback) =>
            Read(map, mapPath, field) ?? Read(config, configPath, field) ?? fallback;

        public string? SourceOf(string field) =>
            map?[field] is not null ? mapPath : config?[field] is not null ? configPath : null;

        private static string? Read(JsonObject? json, string path, string field)
        {
            JsonNode? node = json?[field];
            if (node is null) return null;
            if (node is JsonValue value && value.TryGetValue(out string? s) && !string.IsNullOrEmpty(s)) return s;
            if (node is JsonObject obj && obj["content"] is JsonValue content && content.TryGetValue(out string? c) && !string.IsNullOrEmpty(c))
                return c;
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                $"{field} must be a non-empty string or an object with a 'content' string", path, field);
        }
    }
}
