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
    public sealed class ProjectItemLocator
    {
        private readonly string _projectFile;
        private readonly List<(ItemLocation At, string? Include, string? ClassName)> _elements = new List<(ItemLocation, string?, string?)>();
        private readonly HashSet<int> _used = new HashSet<int>();

        private ProjectItemLocator(string projectFile) => _projectFile = projectFile;

        /// <summary>Reads every <paramref name="itemType"/> element of the project file (none when it cannot be read).</summary>
        public static ProjectItemLocator Read(string projectFile, string itemType)
        {
            var locator = new ProjectItemLocator(projectFile);
            try
            {
                using var reader = XmlReader.Create(projectFile, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
                var info = (IXmlLineInfo)reader;
                while (reader.Read())
                {
                    if (reader.NodeType != XmlNodeType.Element || reader.LocalName != itemType) continue;
                    locator._elements.Add((new ItemLocation(projectFile, info.LineNumber, info.LinePosition),
                        reader.GetAttribute("Include"), reader.GetAttribute("ClassName")));
                }
            }
            catch (Exception e) when (e is XmlException or IOException or UnauthorizedAccessException)
            {
                locator._elements.Clear();
            }
            return locator;
        }

        /// <summary>
        /// The element that declared an item: same Include (and same ClassName when the element sets one), each
        /// element used once, in file order, so repeated Includes map to their own lines. Falls back to the first
        /// element of the type, then to the project file itself.
        /// </summary>
        public ItemLocation Locate(string include, string? className = null)
        {
            int best = -1;
            for (int i = 0; i < _elements.Count && best < 0; i++)
            {
                var e = _elements[i];
                if (_used.Contains(i) || e.Include is null || !Matches(e.Include, include)) continue;
                if (className is not null && e.ClassName is not null && e.ClassName.Trim() != className) continue;
                best = i;
            }
            if (best < 0)
            {
                for (int i = 0; i < _elements.Count && best < 0; i++)
                {
                    if (!_used.Contains(i) && _elements[i].Include is { } inc && Matches(inc, include)) best = i;
                }
            }
            if (best >= 0)
            {
                _used.Add(best);
                return _elements[best].At;
            }
            return _elements.Count > 0 ? _elements[0].At : new ItemLocation(_projectFile, 0, 0);
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
