using System.Buffers;
using System.Runtime.InteropServices;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>
/// Tensors copied out of a source safetensors file by the runtime's <see cref="SafetensorsWriter"/>, one at a
/// time and in chunks, so multi-gigabyte models never need to fit in managed memory. Float tensors may change
/// width (F64/F32/F16/BF16 → F32, F16 or BF16, rounding to nearest even); other tensors are copied unchanged.
/// </summary>
public static class ConvertedTensor
{
    private const int ChunkElements = 1 << 16;

    /// <summary>An entry that writes <paramref name="entry"/> of <paramref name="source"/> as <paramref name="targetName"/> in <paramref name="targetDType"/>.</summary>
    /// <exception cref="MixDQException"><c>MIXDQ007</c> when the conversion is not float to F32, F16 or BF16.</exception>
    public static SafetensorsStreamEntry Create(string targetName, SafetensorsFile source, TensorInfo entry, DType targetDType)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.DType != targetDType && (!IsFloat(entry.DType) || targetDType is not (DType.F32 or DType.F16 or DType.BF16)))
            throw new MixDQException(ErrorCodes.UnknownDType, $"cannot convert {entry.DType} to {targetDType}", source.Path, entry.Name);
        return new SafetensorsStreamEntry(targetName, targetDType, entry.Shape, stream => Copy(stream, source, entry, targetDType));
    }

    private static bool IsFloat(DType t) => t is DType.F16 or DType.BF16 or DType.F32 or DType.F64;

    private static void Copy(Stream destination, SafetensorsFile source, TensorInfo entry, DType to)
    {
        DType from = entry.DType;
        if (from == to)
        {
            destination.Write(source.GetRawBytes(entry.Name));
            return;
        }
        int inSize = DTypeInfo.SizeOf(from), outSize = DTypeInfo.SizeOf(to);
        float[] floats = ArrayPool<float>.Shared.Rent(ChunkElements);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(ChunkElements * outSize);
        try
        {
            long count = entry.ElementCount;
            for (long done = 0; done < count; done += ChunkElements)
            {
                int n = (int)Math.Min(count - done, ChunkElements);
                // Re-take the span each chunk: it points into the file mapping and costs nothing to create.
                var raw = source.GetRawBytes(entry.Name).Slice((int)(done * inSize), n * inSize);
                var values = floats.AsSpan(0, n);
                DTypeConversions.ToFloat32(raw, from, values);
                var output = bytes.AsSpan(0, n * outSize);
                switch (to)
                {
                    case DType.F32: MemoryMarshal.AsBytes(values).CopyTo(output); break;
                    case DType.F16: DTypeConversions.SingleToHalf(values, output); break;
                    default: DTypeConversions.SingleToBFloat16(values, output); break;
                }
                destination.Write(output);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<float>.Shared.Return(floats);
        }
    }
}
