namespace MixDQ.Runtime.Text;

/// <summary>A prompt as CLIP token ids: BOS, at most <c>MaxLength − 2</c> content tokens, EOS, then padding.</summary>
public sealed class TokenizedPrompt
{
    internal TokenizedPrompt(int[] ids, int tokenCount, int untruncatedTokenCount)
    {
        Ids = ids;
        TokenCount = tokenCount;
        UntruncatedTokenCount = untruncatedTokenCount;
    }

    /// <summary>The ids fed to the text encoder; always the tokenizer's <c>MaxLength</c> (77) long.</summary>
    public int[] Ids { get; }

    /// <summary>Tokens before padding, BOS and EOS included (2..MaxLength).</summary>
    public int TokenCount { get; }

    /// <summary>Tokens the prompt would need without truncation, BOS and EOS included.</summary>
    public int UntruncatedTokenCount { get; }

    /// <summary>Whether content tokens were cut to fit (the caller may warn with <c>MIXDQ042</c>).</summary>
    public bool Truncated => UntruncatedTokenCount > TokenCount;

    /// <summary>Position of the EOS token (where CLIP's pooled output is read).</summary>
    public int EosIndex => TokenCount - 1;

    public override string ToString() => $"TokenizedPrompt({TokenCount} tokens{(Truncated ? ", truncated" : "")})";
}
