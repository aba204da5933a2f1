using System.Globalization;
using System.Text;

namespace MixDQ.Runtime.Text;

/// <summary>
/// CLIP's pre-tokenising pattern, as a scanner over code points:
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// (case-insensitive), applied with Python's <c>regex.findall</c>. It is hand-written rather than a .NET
/// <see cref="System.Text.RegularExpressions.Regex"/> because .NET classes UTF-16 code units, so a letter
/// outside the BMP (e.g. U+1D400) would not match <c>\p{L}</c> there while it does in Python.
/// Alternatives are tried in the pattern's order at each position; whitespace matches none and is skipped.
/// </summary>
internal static class ClipPreTokenizer
{
    private static readonly string[] Literals =
        [ClipTokenizer.StartOfText, ClipTokenizer.EndOfText, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        Rune[] runes = text.EnumerateRunes().ToArray();
        int i = 0;
        while (i < runes.Length)
        {
            if (Rune.IsWhiteSpace(runes[i]))
            {
                i++;
                continue;
            }
            int end = MatchAt(runes, i);
            pieces.Add(Concat(runes, i, end));
            i = end;
        }
        return pieces;
    }

    /// <summary>The end (exclusive) of the match starting at <paramref name="start"/>; never empty.</summary>
    private static int MatchAt(Rune[] runes, int start)
    {
        foreach (string literal in Literals)
        {
            if (MatchesLiteral(runes, start, literal)) return start + literal.Length; // literals are ASCII
        }
        if (IsLetter(runes[start]))
        {
            int end = start + 1;
            while (end < runes.Length && IsLetter(runes[end])) end++;
            return end;
        }
        if (IsNumber(runes[start])) return start + 1;
        int stop = start + 1;
        while (stop < runes.Length && !Rune.IsWhiteSpace(runes[stop]) && !IsLetter(runes[stop]) && !IsNumber(runes[stop]))
            stop++;
        return stop;
    }

    private static bool MatchesLiteral(Rune[] runes, int start, string literal)
    {
        if (start + literal.Length > runes.Length) return false;
        for (int k = 0; k < literal.Length; k++)
        {
            if (SimpleCaseFold(runes[start + k].Value) != literal[k]) return false;
        }
        return true;
    }

    /// <summary>Simple case folding restricted to what the ASCII literals need (the long s folds to 's').</summary>
    private static int SimpleCaseFold(int cp) => cp switch
    {
        >= 'A' and <= 'Z' => cp + 32,
        0x17F => 's',
        0x212A => 'k',
        _ => cp,
    };

    private static bool IsLetter(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => true,
        _ => false,
    };

    private static bool IsNumber(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
        _ => false,
    };

    private static string Concat(Rune[] runes, int start, int end)
    {
        var sb = new StringBuilder(end - start + 2);
        for (int k = start; k < end; k++) sb.Append(runes[k].ToString());
        return sb.ToString();
    }
}
