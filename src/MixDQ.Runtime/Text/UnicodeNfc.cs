using System.Text;

namespace MixDQ.Runtime.Text;

/// <summary>
/// Unicode canonical composition (NFC), implemented from tables because .NET's
/// <see cref="string.Normalize()"/> silently returns its input unchanged in globalization-invariant mode
/// (this repository's default), while the CLIP tokenizer must NFC-normalise exactly as Python's
/// <c>unicodedata.normalize("NFC", …)</c> does. Tables: <see cref="UnicodeNfcData"/> (generated).
/// </summary>
internal static class UnicodeNfc
{
    // Hangul syllable arithmetic (Unicode §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>Characters below U+0300 are all NFC-stable and never combine with each other.</summary>
    private const int FirstNonTrivialCodePoint = 0x300;

    private static readonly Lazy<Dictionary<long, int>> Compositions = new(BuildCompositions);

    /// <summary>The NFC form of <paramref name="text"/>.</summary>
    public static string Normalize(string text)
    {
        if (IsTriviallyNormalized(text)) return text;
        var codePoints = new List<int>(text.Length + 8);
        foreach (Rune rune in text.EnumerateRunes()) Decompose(rune.Value, codePoints);
        ReorderCombiningMarks(codePoints);
        Compose(codePoints);
        var sb = new StringBuilder(codePoints.Count);
        foreach (int cp in codePoints) sb.Append(char.ConvertFromUtf32(cp));
        return sb.ToString();
    }

    /// <summary>The canonical combining class of a code point (0 for starters).</summary>
    public static int CombiningClass(int codePoint)
    {
        if (codePoint < FirstNonTrivialCodePoint) return 0;
        int i = UnicodeNfcData.CombiningClassCodePoints.BinarySearch(codePoint);
        return i >= 0 ? UnicodeNfcData.CombiningClassValues[i] : 0;
    }

    private static bool IsTriviallyNormalized(string text)
    {
        foreach (char c in text)
        {
            if (c >= FirstNonTrivialCodePoint) return false;
        }
        return true;
    }

    /// <summary>Full canonical decomposition of one code point, appended to <paramref name="output"/>.</summary>
    private static void Decompose(int codePoint, List<int> output)
    {
        int s = codePoint - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            int t = s % TCount;
            if (t != 0) output.Add(TBase + t);
            return;
        }
        int i = codePoint < 0xC0 ? -1 : UnicodeNfcData.DecompositionCodePoints.BinarySearch(codePoint);
        if (i < 0)
        {
            output.Add(codePoint);
            return;
        }
        Decompose(UnicodeNfcData.DecompositionFirst[i], output);
        int second = UnicodeNfcData.DecompositionSecond[i];
        if (second != 0) Decompose(second, output);
    }

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    private static void ReorderCombiningMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int ccc = CombiningClass(cps[i]);
            if (ccc == 0) continue;
            int j = i;
            while (j > 0)
            {
                int prev = CombiningClass(cps[j - 1]);
                if (prev == 0 || prev <= ccc) break;
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    /// <summary>Canonical composition (UAX #15 §1.3), in place.</summary>
    private static void Compose(List<int> cps)
    {
        if (cps.Count == 0) return;
        int starterPos = 0;
        int lastClass = CombiningClass(cps[0]);
        if (lastClass != 0) lastClass = 256; // a leading non-starter blocks everything after it
        int write = 1;
        for (int read = 1; read < cps.Count; read++)
        {
            int cp = cps[read];
            int cls = CombiningClass(cp);
            bool unblocked = lastClass < cls || lastClass == 0;
            if (unblocked && TryCompose(cps[starterPos], cp, out int composite))
            {
                cps[starterPos] = composite;
                continue;
            }
            if (cls == 0) starterPos = write;
            lastClass = cls;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            composite = first + t;
            return true;
        }
        return Compositions.Value.TryGetValue(PairKey(first, second), out composite);
    }

    private static long PairKey(int first, int second) => ((long)first << 21) | (uint)second;

    private static Dictionary<long, int> BuildCompositions()
    {
        var map = new Dictionary<long, int>(UnicodeNfcData.PrimaryComposites.Length);
        foreach (int composite in UnicodeNfcData.PrimaryComposites)
        {
            int i = UnicodeNfcData.DecompositionCodePoints.BinarySearch(composite);
            map[PairKey(UnicodeNfcData.DecompositionFirst[i], UnicodeNfcData.DecompositionSecond[i])] = composite;
        }
        return map;
    }
}
