using System.IO.Compression;
using System.Text;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Text;

/// <summary>
/// Reading CLIP merge lists (<c>merges.txt</c> or OpenAI's <c>bpe_simple_vocab_16e6.txt.gz</c>) and building
/// the standard CLIP vocabulary from them, exactly as OpenAI's <c>simple_tokenizer</c> does.
/// </summary>
internal static class ClipMerges
{
    /// <summary>Merges CLIP uses: 49152 − 256 − 2 (lines 1..48894 after the version line).</summary>
    public const int StandardMergeCount = 49152 - 256 - 2;

    /// <summary>The standard vocabulary size: 256 bytes, 256 bytes with &lt;/w&gt;, the merges, two specials.</summary>
    public const int StandardVocabSize = 256 + 256 + StandardMergeCount + 2;

    /// <summary>Reads a gzip-compressed OpenAI merge list.</summary>
    public static List<(string First, string Second)> ReadGzip(string path)
    {
        string text;
        try
        {
            using var file = File.OpenRead(path);
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gz, new UTF8Encoding(false, true));
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DecoderFallbackException)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                $"cannot read the gzip BPE merge list: {e.Message}", path, inner: e);
        }
        return Parse(text, path);
    }

    /// <summary>Reads a Hugging Face <c>merges.txt</c>.</summary>
    public static List<(string First, string Second)> ReadText(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(false, true));
        }
        catch (FileNotFoundException e)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "merges.txt is missing", path, inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, $"cannot read merges.txt: {e.Message}", path, inner: e);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// transformers: <c>read().strip().split("\n")[1 : 48895]</c>, each line split on whitespace. The first line
    /// must be the <c>#version</c> header; every used line must hold exactly two symbols.
    /// </summary>
    public static List<(string First, string Second)> Parse(string text, string path)
    {
        string[] lines = text.Trim().Split('\n');
        if (lines.Length == 0 || !lines[0].Contains("#version", StringComparison.Ordinal))
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                "the BPE merge list does not start with a '#version' line", path, "line 1");
        int count = Math.Min(lines.Length - 1, StandardMergeCount);
        var merges = new List<(string, string)>(count);
        for (int i = 1; i <= count; i++)
        {
            string[] parts = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
                throw new MixDQException(ErrorCodes.TokenizerFilesInvalid,
                    $"a merge line must hold two symbols separated by a space, found '{lines[i].TrimEnd()}'", path, $"line {i + 1}");
            merges.Add((parts[0], parts[1]));
        }
        return merges;
    }

    /// <summary>
    /// OpenAI's vocabulary: the 256 byte symbols (in <c>bytes_to_unicode</c> order), the same with
    /// <c>&lt;/w&gt;</c>, each merge joined, then <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>.
    /// A repeated string keeps its last id, as <c>dict(zip(vocab, range(n)))</c> does.
    /// </summary>
    public static Dictionary<string, int> BuildStandardVocab(IReadOnlyList<(string First, string Second)> merges)
    {
        var ordered = new List<string>(512 + merges.Count + 2);
        foreach (char c in ClipByteEncoder.SymbolsInVocabOrder) ordered.Add(c.ToString());
        foreach (char c in ClipByteEncoder.SymbolsInVocabOrder) ordered.Add(c + ClipBpe.EndOfWord);
        foreach (var (first, second) in merges) ordered.Add(first + second);
        ordered.Add(ClipTokenizer.StartOfText);
        ordered.Add(ClipTokenizer.EndOfText);
        var vocab = new Dictionary<string, int>(ordered.Count, StringComparer.Ordinal);
        for (int i = 0; i < ordered.Count; i++) vocab[ordered[i]] = i;
        return vocab;
    }
}
