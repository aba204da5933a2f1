using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>A tensor to copy from a source safetensors file into a new file, converted to <see cref="TargetDType"/>.</summary>
public sealed record TensorCopy(string TargetName, SafetensorsHeader Source, SafetensorsEntry Entry, DType TargetDType)
{
    public long TargetByteLength => Tensor.ElementCount(Entry.Shape) * DTypeInfo.SizeOf(TargetDType);
}

/// <summary>
/// Writes a standard safetensors file by streaming tensors out of other safetensors files, one at a
/// time, so that multi-gigabyte models never need to fit in memory. Float tensors may change width
/// (F32/F16/BF16/F64 → F16 or F32); integer tensors are copied unchanged.
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

        var sources = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            foreach (var t in tensors)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!sources.TryGetValue(t.Source.Path, out var src))
                {
                    src = new FileStream(t.Source.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                    sources.Add(t.Source.Path, src);
                }
                src.Position = t.Source.DataStart + t.Entry.Begin;
                CopyConverted(src, output, t);
            }
        }
        finally
        {
            foreach (var s in sources.Values) s.Dispose();
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

    private static void CopyConverted(Stream src, Stream dst, TensorCopy t)
    {
        DType from = t.Entry.DType, to = t.TargetDType;
        if (from == to)
        {
            CopyBytes(src, dst, t.Entry.ByteLength, t);
            return;
        }
        if (!IsFloat(from) || !IsFloat(to))
            throw new MixDQException(ErrorCodes.UnknownDType, $"cannot convert {from} to {to}", t.Source.Path, t.Entry.Name);

        int inSize = DTypeInfo.SizeOf(from), outSize = DTypeInfo.SizeOf(to);
        long remaining = Tensor.ElementCount(t.Entry.Shape);
        var inBuf = new byte[ChunkElements * inSize];
        var outBuf = new byte[ChunkElements * outSize];
        while (remaining > 0)
        {
            int n = (int)Math.Min(remaining, ChunkElements);
            ReadExactly(src, inBuf.AsSpan(0, n * inSize), t);
            for (int i = 0; i < n; i++)
                WriteElement(outBuf.AsSpan(i * outSize), to, ReadElement(inBuf.AsSpan(i * inSize), from));
            dst.Write(outBuf, 0, n * outSize);
            remaining -= n;
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

    private static void CopyBytes(Stream src, Stream dst, long count, TensorCopy t)
    {
        var buf = new byte[1 << 16];
        while (count > 0)
        {
            int n = (int)Math.Min(count, buf.Length);
            ReadExactly(src, buf.AsSpan(0, n), t);
            dst.Write(buf, 0, n);
            count -= n;
        }
    }

    private static void ReadExactly(Stream src, Span<byte> buf, TensorCopy t)
    {
        try { src.ReadExactly(buf); }
        catch (EndOfStreamException)
        {
            throw new MixDQException(ErrorCodes.FileTruncated, "file ended inside the tensor data", t.Source.Path, t.Entry.Name);
        }
    }

    /// <summary>The UTF-8 JSON of a header alone, for tests and tools.</summary>
    internal static string HeaderJson(IReadOnlyList<TensorCopy> tensors, IReadOnlyDictionary<string, string> metadata)
        => Encoding.UTF8.GetString(BuildHeader(tensors, metadata)).TrimEnd();
}
