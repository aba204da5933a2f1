using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Quantization;

/// <summary>
/// A layer's weight in its stored integer form: <see cref="Rows"/> output channels of <see cref="RowLength"/> codes each
/// (a conv weight [out, in, kh, kw] is rows of in·kh·kw codes in that order), packed per <see cref="IntegerFormat"/>,
/// with one scale and one zero point per row: w[r, k] ≈ Scales[r] · (code[r, k] − ZeroPoints[r]).
/// </summary>
public sealed class QuantizedWeight
{
    private readonly ReadOnlyMemory<byte> _packed;
    private readonly float[] _scales;
    private readonly byte[] _zeroPoints;

    /// <summary>Wraps stored data, checking every size, scale and zero point (MIXDQ090 names <paramref name="item"/>).</summary>
    public QuantizedWeight(int rows, int rowLength, int bits, WeightScheme scheme, ReadOnlyMemory<byte> packed, float[] scales,
        byte[]? zeroPoints = null, string? item = null)
    {
        IntegerFormat.CheckWeightWidth(bits, item);
        if (rows <= 0 || rowLength <= 0)
            throw Invalid($"a quantized weight needs rows and a row length > 0, not {rows} × {rowLength}", item);
        int rowBytes = IntegerFormat.RowBytes(rowLength, bits);
        if (packed.Length != (long)rows * rowBytes)
            throw Invalid($"{bits}-bit packed weight of {rows} × {rowLength} needs {(long)rows * rowBytes} bytes, has {packed.Length}", item);
        ArgumentNullException.ThrowIfNull(scales);
        if (scales.Length != rows)
            throw Invalid($"{scales.Length} scales for {rows} output channels", item);
        for (int r = 0; r < rows; r++)
            if (!float.IsFinite(scales[r]) || scales[r] <= 0)
                throw Invalid($"scale of output channel {r} is {scales[r]} (must be finite and > 0)", item);
        if (scheme == WeightScheme.Symmetric)
        {
            if (zeroPoints is not null && Array.Exists(zeroPoints, z => z != IntegerFormat.SymmetricZeroPoint(bits)))
                throw Invalid($"a symmetric {bits}-bit weight has zero point {IntegerFormat.SymmetricZeroPoint(bits)} in every channel", item);
            zeroPoints = null;
        }
        else
        {
            if (zeroPoints is null || zeroPoints.Length != rows)
                throw Invalid($"an asymmetric weight needs {rows} zero points, has {zeroPoints?.Length ?? 0}", item);
            for (int r = 0; r < rows; r++)
                if (zeroPoints[r] > IntegerFormat.MaxCode(bits))
                    throw Invalid($"zero point {zeroPoints[r]} of output channel {r} is outside the {bits}-bit codes", item);
        }
        Rows = rows;
        RowLength = rowLength;
        Bits = bits;
        Scheme = scheme;
        RowBytes = rowBytes;
        _packed = packed;
        _scales = scales;
        _zeroPoints = zeroPoints ?? Enumerable.Repeat((byte)IntegerFormat.SymmetricZeroPoint(bits), rows).ToArray();
    }

    public int Rows { get; }

    /// <summary>Codes per row (K of the GEMM: in-features, or in-channels · kh · kw).</summary>
    public int RowLength { get; }

    public int Bits { get; }

    public WeightScheme Scheme { get; }

    /// <summary>Bytes of one packed row.</summary>
    public int RowBytes { get; }

    /// <summary>The packed codes, row after row.</summary>
    public ReadOnlySpan<byte> Packed => _packed.Span;

    public ReadOnlyMemory<byte> PackedMemory => _packed;

    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>One zero point per row (2^(bits−1) everywhere for symmetric weights).</summary>
    public ReadOnlySpan<byte> ZeroPoints => _zeroPoints;

    /// <summary>Bytes this weight takes stored: packed codes, FP32 scales, and zero points when asymmetric.</summary>
    public long StoredBytes => _packed.Length + 4L * Rows + (Scheme == WeightScheme.Asymmetric ? Rows : 0);

    /// <summary>Unpacked codes of row <paramref name="row"/>.</summary>
    public void RowCodes(int row, Span<byte> codes) =>
        BitPacking.UnpackRow(Packed.Slice(row * RowBytes, RowBytes), Bits, codes[..RowLength]);

    /// <summary>Σ_k (code[r, k] − zp[r]) per row: what an integer GEMM needs to correct for an activation zero point.</summary>
    public int[] CenteredRowSums()
    {
        var sums = new int[Rows];
        var codes = new byte[RowLength];
        for (int r = 0; r < Rows; r++)
        {
            RowCodes(r, codes);
            int s = 0;
            foreach (byte c in codes) s += c;
            sums[r] = s - RowLength * _zeroPoints[r];
        }
        return sums;
    }

    /// <summary>The FP32 weight this stands for, [Rows × RowLength] row-major.</summary>
    public float[] Dequantize()
    {
        var w = new float[(long)Rows * RowLength];
        var codes = new byte[RowLength];
        for (int r = 0; r < Rows; r++)
        {
            RowCodes(r, codes);
            float s = _scales[r];
            int z = _zeroPoints[r];
            var dst = w.AsSpan(r * RowLength, RowLength);
            for (int k = 0; k < RowLength; k++) dst[k] = s * (codes[k] - z);
        }
        return w;
    }

    private static MixDQException Invalid(string message, string? item) => new(ErrorCodes.QuantizedWeightsInvalid, message, item: item);
}
