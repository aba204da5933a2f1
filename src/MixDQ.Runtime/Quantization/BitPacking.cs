namespace MixDQ.Runtime.Quantization;

/// <summary>Packs and unpacks rows of unsigned codes in the layout of <see cref="IntegerFormat"/>.</summary>
public static class BitPacking
{
    /// <summary>Packs <paramref name="codes"/> (each &lt; 2^bits) into <paramref name="packed"/> (RowBytes(codes.Length) bytes).</summary>
    public static void PackRow(ReadOnlySpan<byte> codes, int bits, Span<byte> packed)
    {
        int perByte = IntegerFormat.CodesPerByte(bits);
        if (perByte == 1)
        {
            codes.CopyTo(packed);
            return;
        }
        packed[..IntegerFormat.RowBytes(codes.Length, bits)].Clear();
        for (int k = 0; k < codes.Length; k++)
            packed[k / perByte] |= (byte)(codes[k] << (k % perByte * bits));
    }

    /// <summary>Unpacks the first <paramref name="codes"/>.Length codes of a packed row.</summary>
    public static void UnpackRow(ReadOnlySpan<byte> packed, int bits, Span<byte> codes)
    {
        int perByte = IntegerFormat.CodesPerByte(bits);
        if (perByte == 1)
        {
            packed[..codes.Length].CopyTo(codes);
            return;
        }
        int mask = IntegerFormat.MaxCode(bits);
        for (int k = 0; k < codes.Length; k++)
            codes[k] = (byte)((packed[k / perByte] >> (k % perByte * bits)) & mask);
    }
}
