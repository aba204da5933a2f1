using System.Text.Json;
using System.Text.Unicode;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>Where one tensor's bytes are, relative to the start of the data section.</summary>
internal sealed record SafetensorsEntryLocation(TensorInfo Info, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>The parsed and validated JSON header of a safetensors file.</summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The format's limit (the reference implementation rejects larger headers).</summary>
    public const long MaxHeaderLength = 100_000_000;

    public const string MetadataKey = "__metadata__";

    private SafetensorsHeader(List<SafetensorsEntryLocation> entries, Dictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The tensors, ordered by their position in the data section.</summary>
    public List<SafetensorsEntryLocation> Entries { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>
    /// Parses <paramref name="json"/> (the header bytes, trailing space padding allowed) and checks every
    /// entry against a data section of <paramref name="dataLength"/> bytes.
    /// </summary>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string path)
    {
        if (!Utf8.IsValid(json))
            throw new MixDQException(ErrorCodes.HeaderNotJson, "the safetensors header is not valid UTF-8", path);
        var entries = new List<SafetensorsEntryLocation>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new MixDQException(ErrorCodes.HeaderNotJson, "the safetensors header is not a JSON object", path);
            ReadTopLevel(ref reader, path, entries, metadata);
            // Only whitespace may follow the object; the reader throws on anything else.
            while (reader.Read()) { }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string escape that decodes to broken UTF-16 (a lone surrogate).
            throw new MixDQException(ErrorCodes.HeaderNotJson,
                $"the safetensors header is not valid JSON (byte {reader.BytesConsumed}): {e.Message}", path, inner: e);
        }
        ValidateLayout(entries, dataLength, path);
        return new SafetensorsHeader(entries, metadata);
    }

    private static void ReadTopLevel(ref Utf8JsonReader reader, string path, List<SafetensorsEntryLocation> entries, Dictionary<string, string> metadata)
    {
        // System.Text.Json's DOM keeps the last of duplicate keys silently; a file with two entries
        // for one name is ambiguous, so the reader sees every key itself.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            if (!seen.Add(name))
                throw new MixDQException(ErrorCodes.DuplicateTensor, $"'{name}' appears twice in the safetensors header", path, name);
            reader.Read();
            if (name == MetadataKey)
                ReadMetadata(ref reader, path, metadata);
            else
                entries.Add(ReadEntry(ref reader, name, path));
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, "__metadata__ must be an object of strings", path, MetadataKey);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"__metadata__ value of '{key}' must be a string", path, MetadataKey + "." + key);
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"__metadata__ has the key '{key}' twice", path, MetadataKey + "." + key);
        }
    }

    private static SafetensorsEntryLocation ReadEntry(ref Utf8JsonReader reader, string name, string path)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Invalid($"entry must be an object with dtype, shape and data_offsets, found {reader.TokenType}");
        string? dtypeName = null;
        int[]? shape = null;
        long[]? offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (dtypeName is not null) throw Invalid("'dtype' appears twice");
                    if (reader.TokenType != JsonTokenType.String) throw Invalid("'dtype' must be a string");
                    dtypeName = reader.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Invalid("'shape' appears twice");
                    shape = ReadShape(ref reader, name, path);
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Invalid("'data_offsets' appears twice");
                    offsets = ReadOffsets(ref reader, name, path);
                    break;
                default:
                    // Unknown fields are ignored, as the reference implementation does.
                    reader.Skip();
                    break;
            }
        }
        if (dtypeName is null) throw Invalid("'dtype' is missing");
        if (shape is null) throw Invalid("'shape' is missing");
        if (offsets is null) throw Invalid("'data_offsets' is missing");
        if (!TryParseDType(dtypeName, out var dtype))
            throw new MixDQException(ErrorCodes.UnknownDType,
                $"tensor '{name}' has unknown dtype '{dtypeName}' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", path, name);
        return new SafetensorsEntryLocation(new TensorInfo(name, dtype, shape), offsets[0], offsets[1]);

        MixDQException Invalid(string what) => new(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': {what}", path, name);
    }

    private static int[] ReadShape(ref Utf8JsonReader reader, string name, string path)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': 'shape' must be an array of integers", path, name);
        var dims = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long d))
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': 'shape' must hold integers only", path, name);
            if (d < 0)
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': negative dimension {d} in shape", path, name);
            if (d > int.MaxValue)
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': dimension {d} exceeds {int.MaxValue}", path, name);
            dims.Add((int)d);
        }
        return [.. dims];
    }

    private static long[] ReadOffsets(ref Utf8JsonReader reader, string name, string path)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': 'data_offsets' must be an array [begin, end]", path, name);
        var values = new List<long>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v))
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': 'data_offsets' must hold integers only", path, name);
            if (v < 0)
                throw new MixDQException(ErrorCodes.TensorOffsetsInvalid, $"tensor '{name}': negative data offset {v}", path, name);
            values.Add(v);
        }
        if (values.Count != 2)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{name}': 'data_offsets' must have exactly 2 values, found {values.Count}", path, name);
        return [.. values];
    }

    /// <summary>Checks offsets against the data section and the shape, then that no two tensors share bytes.</summary>
    private static void ValidateLayout(List<SafetensorsEntryLocation> entries, long dataLength, string path)
    {
        foreach (var e in entries)
        {
            string name = e.Info.Name;
            if (e.Begin > e.End)
                throw new MixDQException(ErrorCodes.TensorOffsetsInvalid, $"tensor '{name}': data_offsets begin {e.Begin} is after end {e.End}", path, name);
            if (e.End > dataLength)
                throw new MixDQException(ErrorCodes.TensorOffsetsInvalid,
                    $"tensor '{name}': data_offsets [{e.Begin}, {e.End}] run past the data section ({dataLength} bytes)", path, name);
            long expected = ExpectedByteLength(e.Info, path);
            if (e.ByteLength != expected)
                throw new MixDQException(ErrorCodes.TensorOffsetsInvalid,
                    $"tensor '{name}': data_offsets span {e.ByteLength} bytes but shape {Tensor.FormatShape(e.Info.Shape)} of {e.Info.DType} needs {expected}", path, name);
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        // Gaps between tensors are tolerated (they cannot cause a misread); shared bytes are not.
        SafetensorsEntryLocation? furthest = null;
        foreach (var e in entries)
        {
            if (e.ByteLength == 0) continue;
            if (furthest is not null && e.Begin < furthest.End)
                throw new MixDQException(ErrorCodes.TensorOverlap,
                    $"tensor '{e.Info.Name}' [{e.Begin}, {e.End}] overlaps tensor '{furthest.Info.Name}' [{furthest.Begin}, {furthest.End}]", path, e.Info.Name);
            if (furthest is null || e.End > furthest.End) furthest = e;
        }
    }

    private static long ExpectedByteLength(TensorInfo info, string path)
    {
        try
        {
            long n = DTypeInfo.SizeOf(info.DType);
            foreach (int d in info.Shape) n = checked(n * d);
            return n;
        }
        catch (OverflowException)
        {
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"tensor '{info.Name}': shape {Tensor.FormatShape(info.Shape)} is too large", path, info.Name);
        }
    }

    /// <summary>The safetensors dtype names, exactly (no case folding, no numbers as Enum.TryParse would accept).</summary>
    public static bool TryParseDType(string s, out DType dtype)
    {
        (bool ok, dtype) = s switch
        {
            "F64" => (true, DType.F64),
            "F32" => (true, DType.F32),
            "F16" => (true, DType.F16),
            "BF16" => (true, DType.BF16),
            "I64" => (true, DType.I64),
            "I32" => (true, DType.I32),
            "I16" => (true, DType.I16),
            "I8" => (true, DType.I8),
            "U8" => (true, DType.U8),
            "BOOL" => (true, DType.BOOL),
            _ => (false, default),
        };
        return ok;
    }

    public static string DTypeName(DType dtype) => dtype switch
    {
        DType.F64 or DType.F32 or DType.F16 or DType.BF16 or DType.I64 or DType.I32
            or DType.I16 or DType.I8 or DType.U8 or DType.BOOL => dtype.ToString(),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}
