using System;
using System.Collections.Generic;
using System.IO;
using System.Xml;

namespace MixDQ.Sdk.Tasks
{
    /// <summary>Where an item was written in the project file: MSBuild does not tell tasks, so the file is read.</summary>
    public readonly record struct ItemLocation(string File, int Line, int Column);

    /// <summary>
    /// Finds the line of <c>&lt;MixDQModel Include="..."&gt;</c> elements in a project file, so that errors
    /// about an item point at it. Items defined through properties or imports fall back to the project file.
    /// </summary>
    public static class ProjectItemLocator
    {
        public static ItemLocation Locate(string projectFile, string itemType, string include)
        {
            var fallback = new ItemLocation(projectFile, 0, 0);
            ItemLocation? firstOfType = null;
            try
            {
                using var reader = XmlReader.Create(projectFile, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
                var info = (IXmlLineInfo)reader;
                while (reader.Read())
                {
                    if (reader.NodeType != XmlNodeType.Element || reader.LocalName != itemType) continue;
                    var here = new ItemLocation(projectFile, info.LineNumber, info.LinePosition);
                    firstOfType ??= here;
                    string? value = reader.GetAttribute("Include");
                    if (value is not null && Matches(value, include)) return here;
                }
            }
            catch (Exception e) when (e is XmlException or IOException or UnauthorizedAccessException)
            {
                return fallback;
            }
            return firstOfType ?? fallback;
        }

        private static bool Matches(string includeAttribute, string itemSpec)
        {
            foreach (string part in includeAttribute.Split(';'))
            {
                if (Normalize(part) == Normalize(itemSpec)) return true;
            }
            return false;
        }

        private static string Normalize(string p) => p.Trim().Replace('\\', '/').TrimEnd('/');
    }
}
