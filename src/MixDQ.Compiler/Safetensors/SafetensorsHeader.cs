using System.Buffers.Binary;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>One tensor of a safetensors file: name, type, shape and byte range inside the data section.</summary>
public sealed record SafetensorsEntry(string Name, DType DType, int[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    public TensorInfo ToInfo() => new(Name, DType, Shape);
}

/// <summary>
/// The validated header of a safetensors file. The compiler only needs names, shapes and byte
/// ranges (it streams the data), so it reads the header itself and checks every offset before use.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Headers larger than this are refused (the reference implementation uses the same cap).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private SafetensorsHeader(string path, long dataStart, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Absolute file offset of the data section (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsHeader Read(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Read(fs, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read safetensors file: {e.Message}", path);
        }
    }

    public static SafetensorsHeader Read(Stream stream, string origin)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new MixDQException(ErrorCodes.FileTruncated, $"file has {fileLength} bytes, a safetensors file needs at least 8", origin);
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > (ulong)MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw new MixDQException(ErrorCodes.HeaderLengthInvalid,
                $"header length {headerLength} does not fit the file ({fileLength} bytes); the file is corrupted or not safetensors", origin);
        var json = new byte[(int)headerLength];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.HeaderNotJson, $"header is not valid JSON: {e.Message}", origin);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new MixDQException(ErrorCodes.HeaderNotJson, "header is not a JSON object", origin);
            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    ReadMetadata(prop.Value, metadata, origin);
                    continue;
                }
                if (!names.Add(prop.Name))
                    throw new MixDQException(ErrorCodes.DuplicateTensor, $"tensor '{prop.Name}' appears twice", origin, prop.Name);
                entries.Add(ReadEntry(prop.Name, prop.Value, dataLength, origin));
            }
            CheckNoOverlap(entries, origin);
            return new SafetensorsHeader(origin, dataStart, entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> into, string origin)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, "__metadata__ must be an object of strings", origin, "__metadata__");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, $"__metadata__ value '{m.Name}' is not a string", origin, "__metadata__");
            into[m.Name] = m.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement e, long dataLength, string origin)
    {
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new MixDQException(ErrorCodes.TensorEntryInvalid, "entry needs dtype, shape and data_offsets [begin, end]", origin, name);

        string dtypeText = dtypeEl.GetString()!;
        if (!Enum.TryParse<DType>(dtypeText, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype))
            throw new MixDQException(ErrorCodes.UnknownDType, $"unsupported dtype '{dtypeText}'", origin, name);

        var shape = new int[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0)
                throw new MixDQException(ErrorCodes.TensorEntryInvalid, "shape must hold non-negative 32-bit integers", origin, name);
            shape[i++] = v;
        }

        if (!offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end))
            throw new MixDQException(ErrorCodes.TensorOffsetsInvalid, "data_offsets must be integers", origin, name);
        long expected;
        try { expected = checked(Tensor.ElementCount(shape) * DTypeInfo.SizeOf(dtype)); }
        catch (OverflowException) { throw new MixDQException(ErrorCodes.TensorEntryInvalid, "shape is too large", origin, name); }
        if (begin < 0 || end < begin || end > dataLength)
            throw new MixDQException(ErrorCodes.TensorOffsetsInvalid,
                $"data_offsets [{begin}, {end}] lie outside the data section ({dataLength} bytes); the file is truncated or corrupted", origin, name);
        if (end - begin != expected)
            throw new MixDQException(ErrorCodes.TensorOffsetsInvalid,
                $"data_offsets span {end - begin} bytes but {dtype}{Tensor.FormatShape(shape)} needs {expected}", origin, name);
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static void CheckNoOverlap(List<SafetensorsEntry> entries, string origin)
    {
        var sorted = entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin).ToList();
        for (int k = 1; k < sorted.Count; k++)
        {
            if (sorted[k].Begin < sorted[k - 1].End)
                throw new MixDQException(ErrorCodes.TensorOverlap,
                    $"tensor bytes overlap '{sorted[k - 1].Name}'", origin, sorted[k].Name);
        }
    }
}
