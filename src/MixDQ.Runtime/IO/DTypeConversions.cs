using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// Element conversions between stored tensor types and FP32. Sources are raw little-endian bytes with
/// no alignment requirement (a safetensors data section starts wherever its header ends). The host
/// is assumed little-endian, as every platform .NET ships for is.
/// </summary>
public static class DTypeConversions
{
    /// <summary>Converts <paramref name="source"/> (elements of <paramref name="dtype"/>) to FP32, element by element.</summary>
    /// <exception cref="ArgumentException">The byte count does not match <paramref name="destination"/>.</exception>
    public static void ToFloat32(ReadOnlySpan<byte> source, DType dtype, Span<float> destination)
    {
        int size = DTypeInfo.SizeOf(dtype);
        if ((long)destination.Length * size != source.Length)
            throw new ArgumentException($"{source.Length} bytes of {dtype} do not make {destination.Length} elements", nameof(destination));
        switch (dtype)
        {
            case DType.F32: source.CopyTo(MemoryMarshal.AsBytes(destination)); break;
            case DType.F16: HalfToSingle(source, destination); break;
            case DType.BF16: BFloat16ToSingle(source, destination); break;
            case DType.F64:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(i * 8)..]);
                break;
            case DType.I64:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt64LittleEndian(source[(i * 8)..]);
                break;
            case DType.I32:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(i * 4)..]);
                break;
            case DType.I16:
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadInt16LittleEndian(source[(i * 2)..]);
                break;
            case DType.I8:
                for (int i = 0; i < destination.Length; i++) destination[i] = (sbyte)source[i];
                break;
            case DType.U8:
                for (int i = 0; i < destination.Length; i++) destination[i] = source[i];
                break;
            case DType.BOOL:
                // Any non-zero byte is true, as numpy and torch read it.
                for (int i = 0; i < destination.Length; i++) destination[i] = source[i] != 0 ? 1f : 0f;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    /// <summary>
    /// IEEE binary16 (little-endian bytes) to FP32, vectorized; bit-identical to <c>(float)Half</c> for
    /// every pattern (NaN payloads kept, signaling NaNs quieted).
    /// </summary>
    public static void HalfToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckPairs(source, destination);
        int n = destination.Length;
        ref byte src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i * 2).AsUInt16());
                HalfBitsToSingle(lo).StoreUnsafe(ref dst, (nuint)i);
                HalfBitsToSingle(hi).StoreUnsafe(ref dst, (nuint)i + 8);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i * 2).AsUInt16());
                HalfBitsToSingle(lo).StoreUnsafe(ref dst, (nuint)i);
                HalfBitsToSingle(hi).StoreUnsafe(ref dst, (nuint)i + 4);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dst, i) = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]));
    }

    /// <summary>bfloat16 (little-endian bytes) to FP32: the 16 bits become the high half of the float; vectorized.</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckPairs(source, destination);
        int n = destination.Length;
        ref byte src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i * 2).AsUInt16());
                (lo << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
                (hi << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i + 8);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i * 2).AsUInt16());
                (lo << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
                (hi << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i + 4);
            }
        }
        for (; i < n; i++)
            Unsafe.Add(ref dst, i) = BFloat16BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(i * 2)..]));
    }

    /// <summary>One bfloat16 value (its 16 bits) as FP32.</summary>
    public static float BFloat16BitsToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>FP32 to bfloat16 bits, rounding to nearest even (as PyTorch does); NaN stays a quiet NaN.</summary>
    public static ushort SingleToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>FP32 to little-endian binary16 bytes, rounding to nearest even.</summary>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckPairs(destination, source);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(i * 2)..], BitConverter.HalfToUInt16Bits((Half)source[i]));
    }

    /// <summary>FP32 to little-endian bfloat16 bytes, rounding to nearest even.</summary>
    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckPairs(destination, source);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(i * 2)..], SingleToBFloat16Bits(source[i]));
    }

    /// <summary>
    /// The branch-free binary16 → binary32 construction: move exponent and mantissa into place and
    /// rebias; Inf/NaN get the rest of the exponent range; subnormals are renormalized by one float
    /// subtraction (exact, since the result is representable); NaNs get the quiet bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBitsToSingle(Vector256<uint> h)
    {
        var shiftedExponent = Vector256.Create(0x7C00u << 13);
        var o = (h & Vector256.Create(0x7FFFu)) << 13;
        var exponent = o & shiftedExponent;
        o += Vector256.Create(112u << 23);
        o += Vector256.Equals(exponent, shiftedExponent) & Vector256.Create(112u << 23);
        var isSubnormal = Vector256.Equals(exponent, Vector256<uint>.Zero).AsSingle();
        var renormalized = (o + Vector256.Create(1u << 23)).AsSingle() - Vector256.Create(113u << 23).AsSingle();
        var magnitude = Vector256.ConditionalSelect(isSubnormal, renormalized, o.AsSingle()).AsUInt32();
        // A signaling NaN comes out quiet, as System.Half and the F16C instruction make it.
        magnitude |= Vector256.GreaterThan(h & Vector256.Create(0x7FFFu), Vector256.Create(0x7C00u)) & Vector256.Create(0x0040_0000u);
        return (magnitude | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfBitsToSingle(Vector128<uint> h)
    {
        var shiftedExponent = Vector128.Create(0x7C00u << 13);
        var o = (h & Vector128.Create(0x7FFFu)) << 13;
        var exponent = o & shiftedExponent;
        o += Vector128.Create(112u << 23);
        o += Vector128.Equals(exponent, shiftedExponent) & Vector128.Create(112u << 23);
        var isSubnormal = Vector128.Equals(exponent, Vector128<uint>.Zero).AsSingle();
        var renormalized = (o + Vector128.Create(1u << 23)).AsSingle() - Vector128.Create(113u << 23).AsSingle();
        var magnitude = Vector128.ConditionalSelect(isSubnormal, renormalized, o.AsSingle()).AsUInt32();
        // A signaling NaN comes out quiet, as System.Half and the F16C instruction make it.
        magnitude |= Vector128.GreaterThan(h & Vector128.Create(0x7FFFu), Vector128.Create(0x7C00u)) & Vector128.Create(0x0040_0000u);
        return (magnitude | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();
    }

    private static void CheckPairs(ReadOnlySpan<byte> bytes, ReadOnlySpan<float> floats)
    {
        if ((long)floats.Length * 2 != bytes.Length)
            throw new ArgumentException($"{bytes.Length} bytes of 16-bit values do not match {floats.Length} floats");
    }
}
