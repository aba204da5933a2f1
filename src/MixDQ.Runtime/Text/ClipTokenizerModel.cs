namespace MixDQ.Runtime.Text;

/// <summary>Everything a <see cref="ClipTokenizer"/> is built from, however it was read.</summary>
internal sealed record ClipTokenizerModel(
    IReadOnlyDictionary<string, int> Vocab,
    IReadOnlyList<(string First, string Second)> Merges,
    string BosToken,
    string EosToken,
    string UnkToken,
    string PadToken,
    int MaxLength,
    IReadOnlyDictionary<string, int> AddedTokens);
