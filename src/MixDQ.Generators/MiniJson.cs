using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MixDQ.Generators
{
    internal enum JsonKind
    {
        Object,
        Array,
        String,
        Number,
        True,
        False,
        Null,
    }

    /// <summary>A parsed JSON value and where it sits in the text (so diagnostics can point at it).</summary>
    internal sealed class JsonNode
    {
        public JsonNode(JsonKind kind, int start, int end)
        {
            Kind = kind;
            Start = start;
            End = end;
        }

        public JsonKind Kind { get; }

        public int Start { get; }

        public int End { get; set; }

        /// <summary>String value, or the number's text.</summary>
        public string? Text { get; set; }

        public List<KeyValuePair<string, JsonNode>>? Properties { get; set; }

        public List<JsonNode>? Items { get; set; }

        public JsonNode? Get(string name)
        {
            if (Properties is null) return null;
            foreach (var p in Properties)
            {
                if (p.Key == name) return p.Value;
            }
            return null;
        }
    }

    /// <summary>Thrown by <see cref="MiniJson"/> with the offset of the bad character.</summary>
    internal sealed class JsonSyntaxException : Exception
    {
        public JsonSyntaxException(string message, int offset)
            : base(message) => Offset = offset;

        public int Offset { get; }
    }

    /// <summary>
    /// A small strict JSON (RFC 8259) parser that records the span of every value. The generator runs in
    /// netstandard2.0 inside the compiler, where System.Text.Json is not guaranteed, so it parses plans itself.
    /// </summary>
    internal sealed class MiniJson
    {
        private const int MaxDepth = 64;
        private readonly string _s;
        private int _i;

        private MiniJson(string s) => _s = s;

        public static JsonNode Parse(string text)
        {
            var p = new MiniJson(text);
            p.SkipWs();
            var root = p.Value(0);
            p.SkipWs();
            if (p._i != text.Length) throw new JsonSyntaxException("unexpected text after the JSON value", p._i);
            return root;
        }

        private JsonNode Value(int depth)
        {
            if (depth > MaxDepth) throw new JsonSyntaxException("JSON nested too deeply", _i);
            if (_i >= _s.Length) throw new JsonSyntaxException("unexpected end of JSON", _i);
            char c = _s[_i];
            switch (c)
            {
                case '{': return Obj(depth);
                case '[': return Arr(depth);
                case '"':
                    int start = _i;
                    string str = Str();
                    return new JsonNode(JsonKind.String, start, _i) { Text = str };
                case 't': return Literal("true", JsonKind.True);
                case 'f': return Literal("false", JsonKind.False);
                case 'n': return Literal("null", JsonKind.Null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return Num();
                    throw new JsonSyntaxException($"unexpected character '{c}'", _i);
            }
        }

        private JsonNode Obj(int depth)
        {
            var node = new JsonNode(JsonKind.Object, _i, 0) { Properties = new List<KeyValuePair<string, JsonNode>>() };
            _i++;
            SkipWs();
            if (Peek() == '}')
            {
                _i++;
                node.End = _i;
                return node;
            }
            while (true)
            {
                SkipWs();
                if (Peek() != '"') throw new JsonSyntaxException("expected a property name in double quotes", _i);
                string key = Str();
                SkipWs();
                Expect(':');
                SkipWs();
                node.Properties.Add(new KeyValuePair<string, JsonNode>(key, Value(depth + 1)));
                SkipWs();
                char c = Peek();
                _i++;
                if (c == '}') break;
                if (c != ',') throw new JsonSyntaxException("expected ',' or '}'", _i - 1);
            }
            node.End = _i;
            return node;
        }

        private JsonNode Arr(int depth)
        {
            var node = new JsonNode(JsonKind.Array, _i, 0) { Items = new List<JsonNode>() };
            _i++;
            SkipWs();
            if (Peek() == ']')
            {
                _i++;
                node.End = _i;
                return node;
            }
            while (true)
            {
                SkipWs();
                node.Items.Add(Value(depth + 1));
                SkipWs();
                char c = Peek();
                _i++;
                if (c == ']') break;
                if (c != ',') throw new JsonSyntaxException("expected ',' or ']'", _i - 1);
            }
            node.End = _i;
            return node;
        }

        private string Str()
        {
            _i++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_i >= _s.Length) throw new JsonSyntaxException("unterminated string", _i);
                char c = _s[_i++];
                if (c == '"') return sb.ToString();
                if (c < ' ') throw new JsonSyntaxException("control character in string", _i - 1);
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (_i >= _s.Length) throw new JsonSyntaxException("unterminated escape", _i);
                char e = _s[_i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_i + 4 > _s.Length || !int.TryParse(_s.Substring(_i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int u))
                            throw new JsonSyntaxException("bad \\u escape", _i);
                        sb.Append((char)u);
                        _i += 4;
                        break;
                    default: throw new JsonSyntaxException($"bad escape '\\{e}'", _i - 1);
                }
            }
        }

        private JsonNode Num()
        {
            int start = _i;
            if (Peek() == '-') _i++;
            if (!Digit(Peek())) throw new JsonSyntaxException("bad number", _i);
            if (Peek() == '0') _i++;
            else while (Digit(Peek())) _i++;
            if (Peek() == '.')
            {
                _i++;
                if (!Digit(Peek())) throw new JsonSyntaxException("bad number", _i);
                while (Digit(Peek())) _i++;
            }
            if (Peek() == 'e' || Peek() == 'E')
            {
                _i++;
                if (Peek() == '+' || Peek() == '-') _i++;
                if (!Digit(Peek())) throw new JsonSyntaxException("bad number", _i);
                while (Digit(Peek())) _i++;
            }
            return new JsonNode(JsonKind.Number, start, _i) { Text = _s.Substring(start, _i - start) };
        }

        private JsonNode Literal(string word, JsonKind kind)
        {
            if (string.CompareOrdinal(_s, _i, word, 0, word.Length) != 0) throw new JsonSyntaxException($"unexpected token (expected {word})", _i);
            int start = _i;
            _i += word.Length;
            return new JsonNode(kind, start, _i);
        }

        private static bool Digit(char c) => c >= '0' && c <= '9';

        private char Peek() => _i < _s.Length ? _s[_i] : '\0';

        private void Expect(char c)
        {
            if (Peek() != c) throw new JsonSyntaxException($"expected '{c}'", _i);
            _i++;
        }

        private void SkipWs()
        {
            while (_i < _s.Length && (_s[_i] == ' ' || _s[_i] == '\t' || _s[_i] == '\n' || _s[_i] == '\r')) _i++;
        }
    }
}
