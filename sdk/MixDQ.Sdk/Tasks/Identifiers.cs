using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MixDQ.Sdk.Tasks
{
    /// <summary>C# identifier checks for ClassName and Namespace (the task must not depend on Roslyn).</summary>
    public static class Identifiers
    {
        private static readonly HashSet<string> Keywords = new HashSet<string>
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
            "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
            "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
            "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
            "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
            "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
            "using", "virtual", "void", "volatile", "while",
        };

        public static bool IsIdentifier(string? name)
        {
            if (string.IsNullOrEmpty(name) || Keywords.Contains(name!)) return false;
            if (!IsStart(name![0])) return false;
            for (int i = 1; i < name.Length; i++)
            {
                if (!IsPart(name[i])) return false;
            }
            return true;
        }

        public static bool IsNamespace(string? ns)
        {
            if (string.IsNullOrEmpty(ns)) return false;
            foreach (string part in ns!.Split('.'))
            {
                if (!IsIdentifier(part)) return false;
            }
            return true;
        }

        /// <summary><c>tiny-shapes</c> → <c>TinyShapes</c>; empty or digit-led results get a <c>Model</c> prefix.</summary>
        public static string FromFolderName(string folderName)
        {
            var sb = new StringBuilder();
            bool upper = true;
            foreach (char c in folderName)
            {
                if (!IsPart(c) || c == '_')
                {
                    upper = true;
                    continue;
                }
                sb.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            string name = sb.ToString();
            if (name.Length == 0) return "Model";
            return IsStart(name[0]) ? name : "Model" + name;
        }

        private static bool IsStart(char c) => c == '_' || char.IsLetter(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.LetterNumber;

        private static bool IsPart(char c) => IsStart(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.Format;
    }
}
