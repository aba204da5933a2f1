using ILGPU;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>A stored weight width as a type, so each width compiles to its own kernel with the unpacking constant-folded.</summary>
public interface ICodeWidth
{
    int Bits { get; }
}

/// <summary>8-bit codes, one per byte.</summary>
public readonly struct Width8 : ICodeWidth
{
    public int Bits => 8;
}

/// <summary>4-bit codes, two per byte, low nibble first.</summary>
public readonly struct Width4 : ICodeWidth
{
    public int Bits => 4;
}

/// <summary>2-bit codes, four per byte, code k at bits 2·(k mod 4).</summary>
public readonly struct Width2 : ICodeWidth
{
    public int Bits => 2;
}

/// <summary>
/// Reads codes straight from the stored packed rows of <see cref="Runtime.Quantization.IntegerFormat"/> (code k of a row
/// in byte k / (8/bits) at bit (k mod (8/bits))·bits, each row padded to a whole byte): the device holds the artifact's
/// bytes as they are, so no width is ever widened in memory.
/// </summary>
internal static class PackedCodes
{
    public static int RowBytes<TWidth>(int rowLength) where TWidth : struct, ICodeWidth
    {
        int perByte = 8 / default(TWidth).Bits;
        return (rowLength + perByte - 1) / perByte;
    }

    /// <summary>Code <paramref name="k"/> of the row starting at byte <paramref name="rowStart"/>.</summary>
    public static int Code<TWidth>(ArrayView<byte> packed, long rowStart, int k) where TWidth : struct, ICodeWidth
    {
        int bits = default(TWidth).Bits, perByte = 8 / bits;
        if (bits == 8) return packed[rowStart + k];
        int b = packed[rowStart + k / perByte];
        return (b >> (k % perByte * bits)) & ((1 << bits) - 1);
    }

    /// <summary>Codes k..k+3 of a row as the four bytes of one int (code k lowest); codes at or past <paramref name="end"/> are 0.</summary>
    public static int Quad<TWidth>(ArrayView<byte> packed, long rowStart, int k, int end) where TWidth : struct, ICodeWidth
    {
        int word = 0;
        for (int j = 0; j < 4; j++)
            if (k + j < end) word |= Code<TWidth>(packed, rowStart, k + j) << (8 * j);
        return word;
    }
}
