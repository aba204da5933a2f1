using System.Globalization;
using System.Text;

namespace MixDQ.Runtime.Text;

/// <summary>
/// The text clean-up transformers' slow <c>CLIPTokenizer</c> applies when <c>ftfy</c> is not installed
/// (the path a C# port can reproduce): BERT's <c>BasicTokenizer(strip_accents=False, do_split_on_punc=False)</c>.
/// Steps, in order: drop NUL, U+FFFD and control/format characters (category C*, except tab/CR/LF);
/// map tab/CR/LF and space separators (Zs) to a space; put spaces around CJK ideographs; NFC-normalise;
/// split on whitespace; lowercase each word with Python's <c>str.lower()</c> rules; join with single spaces.
/// </summary>
internal static class ClipTextNormalizer
{
    private const int CapitalIWithDot = 0x130;
    private const int CapitalSigma = 0x3A3;
    private const int SmallSigma = 0x3C3;
    private const int FinalSigma = 0x3C2;

    public static string Normalize(string text)
    {
        string cleaned = SpaceOutCjk(Clean(text));
        string composed = UnicodeNfc.Normalize(cleaned);
        var sb = new StringBuilder(composed.Length);
        foreach (string word in SplitOnWhitespace(composed))
        {
            if (sb.Length > 0) sb.Append(' ');
            AppendLower(word, sb);
        }
        return sb.ToString();
    }

    /// <summary>BasicTokenizer._clean_text.</summary>
    private static string Clean(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsBertWhitespace(rune)) sb.Append(' ');
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }

    private static bool IsBertWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;
    }

    /// <summary>BasicTokenizer._tokenize_chinese_chars: CJK ideographs become words of their own.</summary>
    private static string SpaceOutCjk(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (IsCjkIdeograph(rune.Value)) sb.Append(' ').Append(rune.ToString()).Append(' ');
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }

    private static bool IsCjkIdeograph(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    /// <summary>Python's <c>str.split()</c> with no separator: runs of whitespace separate, ends are trimmed.</summary>
    private static IEnumerable<string> SplitOnWhitespace(string text)
    {
        int start = -1;
        for (int i = 0; i < text.Length; i++)
        {
            bool space = char.IsWhiteSpace(text[i]);
            if (space && start >= 0)
            {
                yield return text[start..i];
                start = -1;
            }
            else if (!space && start < 0)
            {
                start = i;
            }
        }
        if (start >= 0) yield return text[start..];
    }

    /// <summary>
    /// Python's <c>str.lower()</c>: Unicode simple lowercase mapping plus the two rules it adds from
    /// SpecialCasing.txt — U+0130 becomes "i̇" (two code points) and capital sigma becomes final sigma ς at the
    /// end of a word. (.NET's invariant casing leaves U+0130 unchanged and has no final-sigma rule.)
    /// </summary>
    internal static void AppendLower(string word, StringBuilder sb)
    {
        var runes = word.EnumerateRunes().ToArray();
        for (int i = 0; i < runes.Length; i++)
        {
            int cp = runes[i].Value;
            if (cp == CapitalIWithDot) sb.Append("i\u0307");
            else if (cp == CapitalSigma) sb.Append((char)(IsFinalSigma(runes, i) ? FinalSigma : SmallSigma));
            else sb.Append(Rune.ToLowerInvariant(runes[i]).ToString());
        }
    }

    /// <summary>Unicode's Final_Sigma context: a cased letter before (skipping case-ignorables), none after.</summary>
    private static bool IsFinalSigma(Rune[] runes, int index)
    {
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(runes[j])) j--;
        if (j < 0 || !IsCased(runes[j])) return false;
        j = index + 1;
        while (j < runes.Length && IsCaseIgnorable(runes[j])) j++;
        return j == runes.Length || !IsCased(runes[j]);
    }

    private static bool IsCased(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || rune.Value is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
