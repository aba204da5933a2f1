using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer, reproducing the ids of transformers' slow <c>CLIPTokenizer</c> as diffusers
/// calls it (<c>padding="max_length", max_length=77, truncation=True</c>) on the path without <c>ftfy</c>:
/// split on added/special tokens → BERT-style clean-up, NFC, lowercase → CLIP's pre-tokenising pattern →
/// bytes-to-unicode → BPE with merge ranks → vocabulary ids (unknown → unk) → at most 75 content ids between
/// BOS and EOS → padded with the folder's pad token. Thread-safe; BPE results are cached per word.
/// </summary>
public sealed class ClipTokenizer
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>CLIP's context length (the text encoders have 77 positions).</summary>
    public const int DefaultMaxLength = 77;

    /// <summary>The largest <c>model_max_length</c> accepted from a folder.</summary>
    public const int MaxSupportedLength = 4096;

    private readonly IReadOnlyDictionary<string, int> _vocab;
    private readonly IReadOnlyDictionary<string, int> _addedTokens;
    private readonly AddedTokenSplitter _splitter;
    private readonly ClipBpe _bpe;

    private ClipTokenizer(ClipTokenizerModel model)
    {
        _vocab = model.Vocab;
        _addedTokens = model.AddedTokens;
        _splitter = new AddedTokenSplitter(model.AddedTokens.Keys);
        _bpe = new ClipBpe(model.Merges);
        MaxLength = model.MaxLength;
        PadToken = model.PadToken;
        BosTokenId = IdOf(model.BosToken);
        EosTokenId = IdOf(model.EosToken);
        UnknownTokenId = IdOf(model.UnkToken);
        PadTokenId = IdOf(model.PadToken);
    }

    /// <summary>Length of every <see cref="TokenizedPrompt.Ids"/> (77 for CLIP).</summary>
    public int MaxLength { get; }

    /// <summary>The padding token's text: <c>"&lt;|endoftext|&gt;"</c> or <c>"!"</c> for the turbo models.</summary>
    public string PadToken { get; }

    public int PadTokenId { get; }

    public int BosTokenId { get; }

    public int EosTokenId { get; }

    public int UnknownTokenId { get; }

    /// <summary>Entries in the vocabulary (49408 for CLIP).</summary>
    public int VocabularySize => _vocab.Count;

    /// <summary>Loads a Hugging Face tokenizer folder (<c>vocab.json</c>, <c>merges.txt</c> and optionally
    /// <c>special_tokens_map.json</c> / <c>tokenizer_config.json</c>).</summary>
    /// <exception cref="MixDQException"><c>MIXDQ040</c> naming the file at fault.</exception>
    public static ClipTokenizer FromFolder(string tokenizerDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerDir);
        return new ClipTokenizer(ClipTokenizerFiles.Read(tokenizerDir));
    }

    /// <summary>
    /// Builds a tokenizer from the contents of its files (<c>vocab.json</c>, <c>merges.txt</c> and optionally
    /// <c>special_tokens_map.json</c> / <c>tokenizer_config.json</c>), e.g. texts embedded in a compiled model.
    /// </summary>
    /// <param name="readFile">The text of a file by name, or null when the file is absent.</param>
    /// <param name="origin">Where the files live; errors name <c>origin/file</c>.</param>
    /// <exception cref="MixDQException"><c>MIXDQ040</c> naming the file at fault.</exception>
    public static ClipTokenizer FromFiles(Func<string, string?> readFile, string origin)
    {
        ArgumentNullException.ThrowIfNull(readFile);
        ArgumentException.ThrowIfNullOrEmpty(origin);
        return new ClipTokenizer(ClipTokenizerFiles.Read(readFile, origin));
    }

    /// <summary>The standard CLIP tokenizer built from OpenAI's <c>bpe_simple_vocab_16e6.txt.gz</c>.</summary>
    public static ClipTokenizer FromBpeMerges(string bpeGzPath, string padToken = EndOfText)
    {
        ArgumentException.ThrowIfNullOrEmpty(bpeGzPath);
        ArgumentException.ThrowIfNullOrEmpty(padToken);
        var merges = ClipMerges.ReadGzip(bpeGzPath);
        var vocab = ClipMerges.BuildStandardVocab(merges);
        if (!vocab.ContainsKey(padToken))
            throw new MixDQException(ErrorCodes.InvalidArgument, $"pad token '{padToken}' is not in the CLIP vocabulary", item: nameof(padToken));
        var added = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [StartOfText] = vocab[StartOfText],
            [EndOfText] = vocab[EndOfText],
            [padToken] = vocab[padToken],
        };
        return new ClipTokenizer(new ClipTokenizerModel(vocab, merges, StartOfText, EndOfText, EndOfText, padToken, DefaultMaxLength, added));
    }

    /// <summary>Token ids for <paramref name="prompt"/>: BOS, content (truncated), EOS, padding to <see cref="MaxLength"/>.</summary>
    public TokenizedPrompt Encode(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        List<int> content = EncodeContent(prompt);
        int room = MaxLength - 2;
        int kept = Math.Min(content.Count, room);
        var ids = new int[MaxLength];
        ids[0] = BosTokenId;
        content.CopyTo(0, ids, 1, kept);
        ids[kept + 1] = EosTokenId;
        for (int i = kept + 2; i < ids.Length; i++) ids[i] = PadTokenId;
        return new TokenizedPrompt(ids, kept + 2, content.Count + 2);
    }

    /// <summary>The BPE token strings of <paramref name="prompt"/> without BOS/EOS/padding (for diagnostics).</summary>
    public IReadOnlyList<string> Tokenize(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tokens = new List<string>();
        foreach (var (text, isAdded) in _splitter.Split(prompt))
        {
            if (isAdded) tokens.Add(text);
            else AppendBpeTokens(text, tokens);
        }
        return tokens;
    }

    private List<int> EncodeContent(string prompt)
    {
        var ids = new List<int>();
        foreach (string token in Tokenize(prompt))
            ids.Add(_addedTokens.TryGetValue(token, out int added) ? added : _vocab.GetValueOrDefault(token, UnknownTokenId));
        return ids;
    }

    private void AppendBpeTokens(string text, List<string> tokens)
    {
        foreach (string piece in ClipPreTokenizer.Split(ClipTextNormalizer.Normalize(text)))
        {
            // The pattern's special-token alternatives survive as whole words (transformers seeds its BPE
            // cache with them), e.g. "<|STARTOFTEXT|>" lowercased inside a prompt.
            if (piece is StartOfText or EndOfText) tokens.Add(piece);
            else tokens.AddRange(_bpe.Encode(ClipByteEncoder.Encode(piece)));
        }
    }

    private int IdOf(string token) => _addedTokens.TryGetValue(token, out int id) ? id : _vocab[token];
}
