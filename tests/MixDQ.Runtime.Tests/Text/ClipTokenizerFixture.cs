using MixDQ.Runtime.Text;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Text;

/// <summary>The real CLIP tokenizers, built once per test run from the OpenAI merge list in tests/data/clip.</summary>
internal static class ClipTokenizers
{
    private static readonly Lazy<ClipTokenizer> EndOfTextPadLazy = new(() => ClipTokenizer.FromBpeMerges(RepoPaths.ClipMerges));
    private static readonly Lazy<ClipTokenizer> BangPadLazy = new(() => ClipTokenizer.FromBpeMerges(RepoPaths.ClipMerges, "!"));

    /// <summary>Pads with <c>&lt;|endoftext|&gt;</c> (49407): SDXL <c>tokenizer/</c>, SD-1.x.</summary>
    public static ClipTokenizer EndOfTextPad => EndOfTextPadLazy.Value;

    /// <summary>Pads with <c>!</c> (0): SDXL <c>tokenizer_2/</c>, SD-2.x, sd-turbo.</summary>
    public static ClipTokenizer BangPad => BangPadLazy.Value;
}
