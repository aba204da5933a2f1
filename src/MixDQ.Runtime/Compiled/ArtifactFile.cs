using System.Buffers.Binary;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// A compiled model's weights file (<c>*.mixdq.safetensors</c>): a standard safetensors file whose tensors
/// are named <c>component/tensor</c> and whose <c>__metadata__</c> carries the plan hash and the model's
/// small text files (<c>mixdq.file:unet/config.json</c>, tokenizer files, ...). Only the header is read here.
/// </summary>
public sealed class ArtifactFile
{
    public const string PlanHashKey = "mixdq.plan_hash";
    public const string FormatVersionKey = "mixdq.artifact_version";
    public const string FilePrefix = "mixdq.file:";
    public const int SupportedFormatVersion = 1;

    private ArtifactFile(string path, long dataStart, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>A tensor: full name (<c>unet/conv_in.weight</c>), the raw header entry and its byte range in the data section.</summary>
    public sealed record Entry(string Name, JsonElement Header, long Begin, long End)
    {
        public string Component => Name[..Name.IndexOf('/', StringComparison.Ordinal)];

        public string TensorName => Name[(Name.IndexOf('/', StringComparison.Ordinal) + 1)..];
    }

    public string Path { get; }

    public long DataStart { get; }

    public IReadOnlyList<Entry> Entries { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public string PlanHash => Metadata.TryGetValue(PlanHashKey, out var h) ? h : "";

    /// <summary>The embedded text files by '/'-separated relative path.</summary>
    public IReadOnlyDictionary<string, string> Files => Metadata
        .Where(kv => kv.Key.StartsWith(FilePrefix, StringComparison.Ordinal))
        .ToDictionary(kv => kv.Key[FilePrefix.Length..], kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Reads and checks the header (MIXDQ062 when the file is not a MixDQ artifact).</summary>
    public static ArtifactFile Open(string path)
    {
        if (!File.Exists(path))
            throw new MixDQException(ErrorCodes.ArtifactInvalid,
                "the compiled model's weights file is missing; it is copied next to the app by the build (check that the MixDQModel item built)", path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (fs.Length < 8) throw Invalid(path, "file is shorter than a safetensors header");
            Span<byte> len = stackalloc byte[8];
            fs.ReadExactly(len);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
            if (n > 100UL * 1024 * 1024 || (long)n > fs.Length - 8) throw Invalid(path, $"header length {n} does not fit the file");
            var json = new byte[(int)n];
            fs.ReadExactly(json);
            long dataStart = 8 + (long)n, dataLength = fs.Length - dataStart;
            using var doc = JsonDocument.Parse(json);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var off = p.Value.GetProperty("data_offsets");
                long b = off[0].GetInt64(), e = off[1].GetInt64();
                if (b < 0 || e < b || e > dataLength || !p.Name.Contains('/', StringComparison.Ordinal))
                    throw Invalid(path, $"tensor '{p.Name}' has a bad name or byte range");
                entries.Add(new Entry(p.Name, p.Value.Clone(), b, e));
            }
            if (!metadata.TryGetValue(FormatVersionKey, out var v) || v != SupportedFormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new MixDQException(ErrorCodes.ArtifactInvalid,
                    $"not a MixDQ artifact of format {SupportedFormatVersion} (found '{v ?? "none"}'); rebuild the project", path, FormatVersionKey);
            return new ArtifactFile(path, dataStart, entries, metadata);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw Invalid(path, "header is not valid safetensors JSON: " + e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read the compiled model: {e.Message}", path);
        }
    }

    private static MixDQException Invalid(string path, string message) => new(ErrorCodes.ArtifactInvalid, message, path);
}
