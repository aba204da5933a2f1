namespace MixDQ.Runtime.Text;

/// <summary>
/// Splits raw prompt text on the tokenizer's added/special tokens before any normalisation, as transformers'
/// <c>PreTrainedTokenizer.tokenize</c> does with its trie: at the earliest position where an added token
/// starts, the longest one is cut out (matching is case-sensitive). This is why a pad token of <c>"!"</c>
/// turns every "!" of a prompt into its own id (diffusers #4153) instead of letting BPE merge "!!".
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly string[] _tokensLongestFirst;

    public AddedTokenSplitter(IEnumerable<string> addedTokens)
    {
        _tokensLongestFirst = addedTokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)
            .OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The text as alternating pieces: plain text (may be empty, skipped) and added tokens.</summary>
    public IEnumerable<(string Text, bool IsAddedToken)> Split(string text)
    {
        int start = 0;
        int i = 0;
        while (i < text.Length)
        {
            string? match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > start) yield return (text[start..i], false);
            yield return (match, true);
            i += match.Length;
            start = i;
        }
        if (start < text.Length) yield return (text[start..], false);
    }

    private string? MatchAt(string text, int index)
    {
        foreach (string token in _tokensLongestFirst)
        {
            if (text.AsSpan(index).StartsWith(token, StringComparison.Ordinal)) return token;
        }
        return null;
    }
}
