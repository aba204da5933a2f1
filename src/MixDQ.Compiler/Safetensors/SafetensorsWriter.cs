using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>A tensor to copy from a source safetensors file into a new file, converted to <see cref="TargetDType"/>.</summary>
public sealed record TensorCopy(string TargetName, SafetensorsFile Source, TensorInfo Entry, DType TargetDType)
{
    public long TargetByteLength => Entry.ElementCount * DTypeInfo.SizeOf(TargetDType);
}

/// <summary>
/// Writes a standard safetensors file by streaming tensors out of other (memory-mapped) safetensors
/// files, one at a time, so that multi-gigabyte models never need to fit in managed memory. Float
/// tensors may change width (F32/F16/BF16/F64 → F16 or F32); integer tensors are copied unchanged.
/// </summary>
public static class SafetensorsWriter
{
    private const int ChunkElements = 1 << 16;

    public static void Write(Stream output, IReadOnlyList<TensorCopy> tensors, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken = default)
    {
        byte[] header = BuildHeader(tensors, metadata);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        output.Write(len);
        output.Write(header);

        foreach (var t in tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CopyConverted(output, t);
        }
    }

    private static byte[] BuildHeader(IReadOnlyList<TensorCopy> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal))
                w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.TargetName);
                w.WriteString("dtype", t.TargetDType.ToString());
                w.WriteStartArray("shape");
                foreach (int d in t.Entry.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.TargetByteLength;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        int pad = (int)((8 - (ms.Length % 8)) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static bool IsFloat(DType t) => t is DType.F16 or DType.BF16 or DType.F32 or DType.F64;

    private static void CopyConverted(Stream dst, TensorCopy t)
    {
        DType from = t.Entry.DType, to = t.TargetDType;
        if (from == to)
        {
            dst.Write(t.Source.GetRawBytes(t.Entry.Name));
            return;
        }
        if (!IsFloat(from) || !IsFloat(to))
            throw new MixDQException(ErrorCodes.UnknownDType, $"cannot convert {from} to {to}", t.Source.Path, t.Entry.Name);

        int inSize = DTypeInfo.SizeOf(from), outSize = DTypeInfo.SizeOf(to);
        long count = t.Entry.ElementCount;
        var outBuf = new byte[ChunkElements * outSize];
        for (long done = 0; done < count; done += ChunkElements)
        {
            // Re-take the span each chunk: it points into the file mapping and costs nothing to create.
            ReadOnlySpan<byte> raw = t.Source.GetRawBytes(t.Entry.Name);
            int n = (int)Math.Min(count - done, ChunkElements);
            var chunk = raw.Slice((int)(done * inSize), n * inSize);
            for (int i = 0; i < n; i++)
                WriteElement(outBuf.AsSpan(i * outSize), to, ReadElement(chunk.Slice(i * inSize), from));
            dst.Write(outBuf, 0, n * outSize);
        }
    }

    private static double ReadElement(ReadOnlySpan<byte> b, DType t) => t switch
    {
        DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(b),
        DType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
        DType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
        DType.F64 => BinaryPrimitives.ReadDoubleLittleEndian(b),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    private static void WriteElement(Span<byte> b, DType t, double v)
    {
        switch (t)
        {
            case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(b, (float)v); break;
            case DType.F16: BinaryPrimitives.WriteHalfLittleEndian(b, (Half)(float)v); break;
            case DType.F64: BinaryPrimitives.WriteDoubleLittleEndian(b, v); break;
            case DType.BF16:
                // Round to nearest even on the upper 16 bits.
                uint bits = BitConverter.SingleToUInt32Bits((float)v);
                bits += 0x7FFF + ((bits >> 16) & 1);
                BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)(bits >> 16));
                break;
            default: throw new ArgumentOutOfRangeException(nameof(t));
        }
    }

    /// <summary>The UTF-8 JSON of a header alone, for tests and tools.</summary>
    internal static string HeaderJson(IReadOnlyList<TensorCopy> tensors, IReadOnlyDictionary<string, string> metadata)
        => Encoding.UTF8.GetString(BuildHeader(tensors, metadata)).TrimEnd();
}
