using System.Collections.Concurrent;

namespace MixDQ.Runtime.Text;

/// <summary>
/// Byte-pair encoding of one byte-encoded pre-token with CLIP's merge ranks: <c>&lt;/w&gt;</c> is appended to
/// the last symbol, then the adjacent pair with the lowest rank is merged (every occurrence, left to right)
/// until no ranked pair is left — transformers' <c>CLIPTokenizer.bpe</c>. Results are cached per word.
/// </summary>
internal sealed class ClipBpe
{
    public const string EndOfWord = "</w>";

    /// <summary>Bound on the cache so a long-running process fed arbitrary prompts cannot grow without limit.</summary>
    private const int MaxCachedWords = 65536;

    private readonly Dictionary<(string, string), int> _ranks;
    private readonly ConcurrentDictionary<string, string[]> _cache = new(StringComparer.Ordinal);

    /// <param name="merges">Merge pairs in rank order (rank = index). A repeated pair keeps its last rank,
    /// as Python's <c>dict(zip(merges, range(n)))</c> does.</param>
    public ClipBpe(IReadOnlyList<(string First, string Second)> merges)
    {
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (int i = 0; i < merges.Count; i++) _ranks[merges[i]] = i;
    }

    public int MergeCount => _ranks.Count;

    /// <summary>The BPE symbols of <paramref name="byteEncodedWord"/> (non-empty).</summary>
    public string[] Encode(string byteEncodedWord)
    {
        if (_cache.TryGetValue(byteEncodedWord, out var cached)) return cached;
        var symbols = Merge(byteEncodedWord);
        if (_cache.Count >= MaxCachedWords) _cache.Clear();
        _cache[byteEncodedWord] = symbols;
        return symbols;
    }

    private string[] Merge(string word)
    {
        var symbols = new List<string>(word.Length);
        for (int i = 0; i < word.Length - 1; i++) symbols.Add(word[i].ToString());
        symbols.Add(word[^1] + EndOfWord);

        while (symbols.Count > 1)
        {
            var best = LowestRankedPair(symbols);
            if (best is null) break;
            symbols = MergeAll(symbols, best.Value);
        }
        return [.. symbols];
    }

    private (string, string)? LowestRankedPair(List<string> symbols)
    {
        (string, string)? best = null;
        int bestRank = int.MaxValue;
        for (int i = 0; i < symbols.Count - 1; i++)
        {
            var pair = (symbols[i], symbols[i + 1]);
            if (_ranks.TryGetValue(pair, out int rank) && rank < bestRank)
            {
                bestRank = rank;
                best = pair;
            }
        }
        return best;
    }

    private static List<string> MergeAll(List<string> symbols, (string First, string Second) pair)
    {
        var merged = new List<string>(symbols.Count);
        int i = 0;
        while (i < symbols.Count)
        {
            if (i < symbols.Count - 1 && symbols[i] == pair.First && symbols[i + 1] == pair.Second)
            {
                merged.Add(pair.First + pair.Second);
                i += 2;
            }
            else
            {
                merged.Add(symbols[i]);
                i++;
            }
        }
        return merged;
    }
}
