using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>One tensor to write: its name, element type, shape and raw little-endian bytes (C order).</summary>
public sealed record SafetensorsEntry(string Name, DType DType, int[] Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>An entry from an FP32 tensor stored as <paramref name="storeAs"/> (F32, F16 or BF16; rounding to nearest even).</summary>
    public static SafetensorsEntry FromTensor(string name, Tensor tensor, DType storeAs = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = new byte[(long)tensor.Length * DTypeInfo.SizeOf(storeAs)];
        switch (storeAs)
        {
            case DType.F32: MemoryMarshal.AsBytes(tensor.Data.AsSpan()).CopyTo(bytes); break;
            case DType.F16: DTypeConversions.SingleToHalf(tensor.Data, bytes); break;
            case DType.BF16: DTypeConversions.SingleToBFloat16(tensor.Data, bytes); break;
            default: throw new ArgumentException($"tensors can be stored as F32, F16 or BF16, not {storeAs}", nameof(storeAs));
        }
        return new SafetensorsEntry(name, storeAs, tensor.ShapeArray(), bytes);
    }
}

/// <summary>
/// One tensor whose bytes are produced while the file is written (copied or converted from another file, say),
/// so no tensor needs to be held in memory. <paramref name="WriteData"/> must write exactly the
/// <see cref="ByteLength"/> little-endian bytes (C order) that <paramref name="DType"/> and
/// <paramref name="Shape"/> call for.
/// </summary>
public sealed record SafetensorsStreamEntry(string Name, DType DType, int[] Shape, Action<Stream> WriteData)
{
    /// <summary>The bytes the tensor takes: element size × element count.</summary>
    public long ByteLength => SafetensorsWriter.ByteLength(Name, DType, Shape);
}

/// <summary>
/// Writes safetensors files: header JSON padded with spaces so the data section is 8-byte aligned,
/// <c>__metadata__</c> first, tensors sorted by name (identical inputs give identical files), and the
/// file written atomically (a temp file beside the target, then moved over it), so a failure never
/// leaves a partial output. An unwritable target is a <see cref="Diagnostics.MixDQException"/>
/// with code <see cref="Diagnostics.ErrorCodes.OutputNotWritable"/>.
/// </summary>
public static class SafetensorsWriter
{
    private const int ConversionChunk = 1 << 16;

    /// <summary>Writes raw tensors.</summary>
    /// <exception cref="ArgumentException">Two entries share a name, a name is reserved, or bytes do not match the shape.</exception>
    public static void Write(string path, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var pending = tensors.Select(e =>
        {
            ArgumentNullException.ThrowIfNull(e);
            long expected = ByteLength(e.Name, e.DType, e.Shape);
            if (e.Data.Length != expected)
                throw new ArgumentException($"tensor '{e.Name}': shape {Tensor.FormatShape(e.Shape)} of {e.DType} needs {expected} bytes, data has {e.Data.Length}", nameof(tensors));
            return new PendingTensor(e.Name, e.DType, (int[])e.Shape.Clone(), expected, s => s.Write(e.Data.Span));
        }).ToList();
        WritePending(path, pending, metadata);
    }

    /// <summary>
    /// Writes tensors whose bytes each entry streams out when its turn comes (see <see cref="SafetensorsStreamEntry"/>);
    /// same layout, order and atomic write as <see cref="Write(string, IEnumerable{SafetensorsEntry}, IReadOnlyDictionary{string, string}?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Two entries share a name or a name is reserved.</exception>
    /// <exception cref="InvalidOperationException">An entry wrote another number of bytes than its shape needs (nothing is written).</exception>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="tensors">The tensors; each streams its bytes when its turn comes.</param>
    /// <param name="metadata">The <c>__metadata__</c> strings, if any.</param>
    /// <param name="cancellationToken">Checked before each tensor (nothing is written when it fires).</param>
    /// <param name="dataAlignment">
    /// A power of two ≥ 8: the data section starts at a multiple of it, and tensors whose byte length is a multiple of it
    /// come first (name order), the rest after (name order), so each of the former starts aligned, for readers that use
    /// the mapped bytes in place. The file stays standard safetensors (no gaps between tensors).
    /// </param>
    public static void WriteStreamed(string path, IEnumerable<SafetensorsStreamEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default, int dataAlignment = 8)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var pending = tensors.Select(e =>
        {
            ArgumentNullException.ThrowIfNull(e);
            ArgumentNullException.ThrowIfNull(e.WriteData);
            return new PendingTensor(e.Name, e.DType, (int[])e.Shape.Clone(), e.ByteLength, e.WriteData);
        }).ToList();
        WritePending(path, pending, metadata, cancellationToken, dataAlignment);
    }

    /// <summary>Writes FP32 tensors stored as <paramref name="storeAs"/> (F32, F16 or BF16; rounding to nearest even).</summary>
    public static void WriteTensors(string path, IReadOnlyDictionary<string, Tensor> tensors, DType storeAs = DType.F32,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (storeAs is not (DType.F32 or DType.F16 or DType.BF16))
            throw new ArgumentException($"tensors can be stored as F32, F16 or BF16, not {storeAs}", nameof(storeAs));
        var pending = tensors.Select(kv =>
        {
            ArgumentNullException.ThrowIfNull(kv.Value);
            var shape = kv.Value.ShapeArray();
            return new PendingTensor(kv.Key, storeAs, shape, ByteLength(kv.Key, storeAs, shape), s => WriteConverted(s, kv.Value.Data, storeAs));
        }).ToList();
        WritePending(path, pending, metadata);
    }

    /// <summary>The complete header bytes (8-byte length + padded JSON) for tensors of these names, types and shapes.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<(string Name, DType DType, int[] Shape, long Begin, long End)> tensors,
        IReadOnlyDictionary<string, string>? metadata, int dataAlignment = 8)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable; the output is still valid JSON.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    json.WriteString(kv.Key, kv.Value);
                json.WriteEndObject();
            }
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", SafetensorsHeader.DTypeName(t.DType));
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(t.Begin);
                json.WriteNumberValue(t.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int jsonLength = buffer.WrittenCount;
        // 8 + padded is a multiple of the alignment (8 by default: the JSON alone padded to 8).
        int padded = (8 + jsonLength + dataAlignment - 1) / dataAlignment * dataAlignment - 8;
        var header = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        buffer.WrittenSpan.CopyTo(header.AsSpan(8));
        header.AsSpan(8 + jsonLength).Fill((byte)' ');
        return header;
    }

    private sealed record PendingTensor(string Name, DType DType, int[] Shape, long ByteLength, Action<Stream> WriteData);

    private static void WritePending(string path, List<PendingTensor> pending, IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken = default, int dataAlignment = 8)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (dataAlignment < 8 || (dataAlignment & (dataAlignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(dataAlignment), $"must be a power of two ≥ 8, got {dataAlignment}");
        pending.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        // Whole multiples of the alignment first (a stable sort keeps name order within each run); the rest cannot misalign them.
        for (int i = 1; i < pending.Count; i++)
            if (pending[i - 1].Name == pending[i].Name) throw new ArgumentException($"tensor '{pending[i].Name}' is given twice");
        if (dataAlignment > 8) pending = [.. pending.OrderBy(t => t.ByteLength % dataAlignment == 0 ? 0 : 1)];
        var layout = new List<(string, DType, int[], long, long)>(pending.Count);
        long offset = 0;
        for (int i = 0; i < pending.Count; i++)
        {
            var t = pending[i];
            ArgumentNullException.ThrowIfNull(t.Name);
            if (t.Name == SafetensorsHeader.MetadataKey)
                throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved and cannot name a tensor");
            if (i > 0 && pending[i - 1].Name == t.Name)
                throw new ArgumentException($"tensor '{t.Name}' is given twice");
            layout.Add((t.Name, t.DType, t.Shape, offset, offset + t.ByteLength));
            offset += t.ByteLength;
        }
        byte[] header = BuildHeader(layout, metadata, dataAlignment);
        if (header.Length - 8 > SafetensorsHeader.MaxHeaderLength)
            throw new ArgumentException($"the header would have {header.Length - 8} bytes, more than the format's {SafetensorsHeader.MaxHeaderLength}");
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            foreach (var t in pending)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long start = stream.Position;
                t.WriteData(stream);
                // A short or long tensor would shift every later offset: refuse it rather than write a corrupt file.
                if (stream.Position - start != t.ByteLength)
                    throw new InvalidOperationException(
                        $"tensor '{t.Name}' wrote {stream.Position - start} bytes; {t.DType} {Tensor.FormatShape(t.Shape)} needs {t.ByteLength}");
            }
        });
    }

    internal static long ByteLength(string name, DType dtype, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = DTypeInfo.SizeOf(dtype);
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension in shape {Tensor.FormatShape(shape)}");
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>Writes FP32 values as <paramref name="dtype"/> in chunks, so no full converted copy is held.</summary>
    private static void WriteConverted(Stream stream, float[] data, DType dtype)
    {
        if (dtype == DType.F32)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ConversionChunk * 2);
        try
        {
            for (int i = 0; i < data.Length; i += ConversionChunk)
            {
                var src = data.AsSpan(i, Math.Min(ConversionChunk, data.Length - i));
                var dst = buffer.AsSpan(0, src.Length * 2);
                if (dtype == DType.F16) DTypeConversions.SingleToHalf(src, dst);
                else DTypeConversions.SingleToBFloat16(src, dst);
                stream.Write(dst);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
