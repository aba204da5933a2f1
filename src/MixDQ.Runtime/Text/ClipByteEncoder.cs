using System.Text;

namespace MixDQ.Runtime.Text;

/// <summary>
/// GPT-2/CLIP <c>bytes_to_unicode</c>: each UTF-8 byte maps to one printable character so that BPE never sees
/// whitespace or control characters. Bytes 33–126, 161–172 and 174–255 map to themselves; the other 68 byte
/// values map, in increasing byte order, to U+0100, U+0101, …
/// </summary>
internal static class ClipByteEncoder
{
    /// <summary>The 256 byte symbols in the order CLIP's vocabulary lists them (ids 0..255).</summary>
    public static readonly IReadOnlyList<char> SymbolsInVocabOrder = BuildVocabOrder();

    private static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The byte-level string of a pre-token: one character per UTF-8 byte.</summary>
    public static string Encode(string token)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(token);
        return string.Create(bytes.Length, bytes, static (chars, data) =>
        {
            for (int i = 0; i < data.Length; i++) chars[i] = ByteToChar[data[i]];
        });
    }

    private static bool IsPrintableByte(int b) => b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++) map[b] = IsPrintableByte(b) ? (char)b : (char)(256 + next++);
        return map;
    }

    private static char[] BuildVocabOrder()
    {
        var byteToChar = BuildByteToChar();
        var order = new List<char>(256);
        for (int b = 0; b < 256; b++) if (IsPrintableByte(b)) order.Add(byteToChar[b]);
        for (int b = 0; b < 256; b++) if (!IsPrintableByte(b)) order.Add(byteToChar[b]);
        return [.. order];
    }
}
