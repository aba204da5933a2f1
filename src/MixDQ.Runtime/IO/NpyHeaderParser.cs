using System.Globalization;
using System.Text;

namespace MixDQ.Runtime.IO;

/// <summary>
/// Reads the header of a <c>.npy</c> file: a Python dict literal such as
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>. Only the literal forms numpy
/// writes are understood: strings, True/False/None, integers (an old <c>L</c> suffix allowed), tuples,
/// lists and dicts. A malformed header throws <see cref="FormatException"/> saying what is wrong.
/// </summary>
internal ref struct NpyHeaderParser
{
    private readonly string _text;
    private const int MaxDepth = 32;
    private int _pos;
    private int _depth;

    private NpyHeaderParser(string text)
    {
        _text = text;
        _pos = 0;
        _depth = 0;
    }

    /// <summary>Parses the whole header; it must be one dict followed only by whitespace.</summary>
    public static Dictionary<string, object?> ParseDict(string text)
    {
        var parser = new NpyHeaderParser(text);
        parser.SkipSpace();
        if (parser.Peek() != '{') throw new FormatException("the header is not a dict");
        var dict = (Dictionary<string, object?>)parser.ParseValue()!;
        parser.SkipSpace();
        if (parser._pos != text.Length) throw new FormatException($"unexpected text after the dict at character {parser._pos}");
        return dict;
    }

    private object? ParseValue()
    {
        SkipSpace();
        char c = Peek();
        if (c is '{' or '(' or '[' && ++_depth > MaxDepth) throw new FormatException("the header nests too deeply");
        return c switch
        {
            '{' => ParseDictBody(),
            '(' => ParseSequence(')'),
            '[' => ParseSequence(']'),
            '\'' or '"' => ParseString(),
            _ when c == '-' || char.IsAsciiDigit(c) => ParseInteger(),
            _ when char.IsAsciiLetter(c) => ParseName(),
            _ => throw new FormatException($"unexpected '{c}' at character {_pos}"),
        };
    }

    private Dictionary<string, object?> ParseDictBody()
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        _pos++; // '{'
        while (true)
        {
            SkipSpace();
            if (Peek() == '}') { _pos++; _depth--; return dict; }
            if (Peek() is not ('\'' or '"')) throw new FormatException($"dict keys must be strings (character {_pos})");
            string key = ParseString();
            SkipSpace();
            Expect(':');
            object? value = ParseValue();
            if (!dict.TryAdd(key, value)) throw new FormatException($"key '{key}' appears twice");
            SkipSpace();
            if (Peek() == ',') _pos++;
            else if (Peek() != '}') throw new FormatException($"expected ',' or '}}' at character {_pos}");
        }
    }

    private List<object?> ParseSequence(char close)
    {
        var items = new List<object?>();
        _pos++; // '(' or '['
        while (true)
        {
            SkipSpace();
            if (Peek() == close) { _pos++; _depth--; return items; }
            items.Add(ParseValue());
            SkipSpace();
            if (Peek() == ',') _pos++;
            else if (Peek() != close) throw new FormatException($"expected ',' or '{close}' at character {_pos}");
        }
    }

    private string ParseString()
    {
        char quote = _text[_pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length) throw new FormatException("unterminated string");
            char c = _text[_pos++];
            if (c == quote) return sb.ToString();
            if (c == '\\')
            {
                if (_pos >= _text.Length) throw new FormatException("unterminated string");
                c = _text[_pos++];
            }
            sb.Append(c);
        }
    }

    private long ParseInteger()
    {
        int start = _pos;
        if (Peek() == '-') _pos++;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        if (!long.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new FormatException($"bad integer '{_text[start.._pos]}'");
        if (_pos < _text.Length && _text[_pos] is 'L' or 'l') _pos++; // Python 2 long
        return v;
    }

    private object? ParseName()
    {
        int start = _pos;
        while (_pos < _text.Length && char.IsAsciiLetterOrDigit(_text[_pos])) _pos++;
        return _text[start.._pos] switch
        {
            "True" => true,
            "False" => false,
            "None" => null,
            var other => throw new FormatException($"unexpected name '{other}'"),
        };
    }

    private void Expect(char c)
    {
        if (Peek() != c) throw new FormatException($"expected '{c}' at character {_pos}");
        _pos++;
    }

    private readonly char Peek() => _pos < _text.Length ? _text[_pos] : throw new FormatException("the header ends early");

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
    }
}
