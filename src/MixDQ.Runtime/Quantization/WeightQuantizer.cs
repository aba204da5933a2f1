using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Quantization;

/// <summary>Per-output-channel weight quantization (round half to even, as <c>torch.round</c>).</summary>
public static class WeightQuantizer
{
    /// <summary>Shrink factors the MSE search tries, from the full range down to 30 % of it.</summary>
    private static readonly float[] ClipGrid = Enumerable.Range(0, 36).Select(i => 1f - 0.02f * i).ToArray();

    /// <summary>
    /// Quantizes <paramref name="weight"/> ([rows × rowLength] row-major) to <paramref name="bits"/> bits, one grid per row.
    /// An all-zero row gets scale 1 (its codes are the zero point), so every stored scale is finite and positive.
    /// </summary>
    public static QuantizedWeight Quantize(ReadOnlySpan<float> weight, int rows, int rowLength, int bits,
        WeightScheme scheme = WeightScheme.Symmetric, WeightClipping clipping = WeightClipping.MinMax, string? item = null)
    {
        IntegerFormat.CheckWeightWidth(bits, item);
        if ((long)rows * rowLength != weight.Length)
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"{weight.Length} weights are not {rows} rows of {rowLength}", item: item);
        int rowBytes = IntegerFormat.RowBytes(rowLength, bits);
        var packed = new byte[(long)rows * rowBytes];
        var scales = new float[rows];
        var zeroPoints = new byte[rows];
        var codes = new byte[rowLength];
        for (int r = 0; r < rows; r++)
        {
            var w = weight.Slice(r * rowLength, rowLength);
            float min = 0, max = 0;
            foreach (float v in w)
            {
                if (!float.IsFinite(v))
                    throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"weight row {r} holds a non-finite value", item: item);
                min = MathF.Min(min, v);
                max = MathF.Max(max, v);
            }
            var grid = clipping == WeightClipping.MinMax ? Grid(min, max, bits, scheme) : BestGrid(w, min, max, bits, scheme);
            Encode(w, grid, bits, codes);
            BitPacking.PackRow(codes, bits, packed.AsSpan(r * rowBytes, rowBytes));
            scales[r] = grid.Scale;
            zeroPoints[r] = (byte)grid.ZeroPoint;
        }
        return new QuantizedWeight(rows, rowLength, bits, scheme, packed, scales, scheme == WeightScheme.Asymmetric ? zeroPoints : null, item);
    }

    /// <summary>The grid of one channel with range [min, max] (min ≤ 0 ≤ max).</summary>
    internal static (float Scale, int ZeroPoint) Grid(float min, float max, int bits, WeightScheme scheme)
    {
        if (scheme == WeightScheme.Symmetric)
        {
            float absMax = MathF.Max(-min, max);
            int levels = IntegerFormat.SymmetricZeroPoint(bits) - 1;
            // 2-bit symmetric has levels = 1: codes −2..1 around zero, Δ = max|w| (the reference code's formula).
            float scale = absMax > 0 ? absMax / Math.Max(levels, 1) : 1f;
            return (scale, IntegerFormat.SymmetricZeroPoint(bits));
        }
        float range = max - min;
        if (range <= 0) return (1f, 0);
        float s = range / IntegerFormat.MaxCode(bits);
        int zp = Math.Clamp((int)MathF.Round(-min / s), 0, IntegerFormat.MaxCode(bits));
        return (s, zp);
    }

    private static (float Scale, int ZeroPoint) BestGrid(ReadOnlySpan<float> w, float min, float max, int bits, WeightScheme scheme)
    {
        var best = Grid(min, max, bits, scheme);
        double bestError = double.PositiveInfinity;
        foreach (float f in ClipGrid)
        {
            var grid = Grid(min * f, max * f, bits, scheme);
            double error = 0;
            foreach (float v in w)
            {
                float d = Dequantize(Code(v, grid, bits), grid) - v;
                error += d * d;
            }
            if (error < bestError)
            {
                bestError = error;
                best = grid;
            }
        }
        return best;
    }

    private static void Encode(ReadOnlySpan<float> w, (float Scale, int ZeroPoint) grid, int bits, Span<byte> codes)
    {
        for (int k = 0; k < w.Length; k++) codes[k] = Code(w[k], grid, bits);
    }

    private static byte Code(float v, (float Scale, int ZeroPoint) grid, int bits) =>
        (byte)Math.Clamp((int)MathF.Round(v / grid.Scale) + grid.ZeroPoint, 0, IntegerFormat.MaxCode(bits));

    private static float Dequantize(byte code, (float Scale, int ZeroPoint) grid) => grid.Scale * (code - grid.ZeroPoint);
}
