using System.Runtime.CompilerServices;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>Dequantizes a block of a stored weight straight into the FP GEMM's packed panels (the weight-only paths' inner step).</summary>
internal static unsafe class DequantizeBlock
{
    /// <summary>
    /// Rows row0..row0+rows of <paramref name="w"/>, codes k0..k0+depth, as panels of <paramref name="width"/> rows
    /// (panel i at dst + i·panelStride, k-major): dst[k·width + r] = s_r·(code − z_r); rows past the end are 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(QuantizedWeight w, int row0, int rows, int k0, int depth, float* dst, int width, nint panelStride)
    {
        var packed = w.Packed;
        int bits = w.Bits, rowBytes = w.RowBytes, mask = IntegerFormat.MaxCode(bits), perByte = IntegerFormat.CodesPerByte(bits);
        int padded = GemmBlocking.RoundUp(rows, width);
        fixed (byte* pw = packed)
        {
            for (int r = 0; r < padded; r++)
            {
                float* d = dst + r / width * panelStride + r % width;
                if (r >= rows)
                {
                    for (int k = 0; k < depth; k++) d[k * width] = 0f;
                    continue;
                }
                int row = row0 + r;
                byte* src = pw + (nint)row * rowBytes;
                float scale = w.Scales[row];
                int zp = w.ZeroPoints[row];
                if (bits == 8)
                {
                    for (int k = 0; k < depth; k++) d[k * width] = scale * (src[k0 + k] - zp);
                    continue;
                }
                for (int k = 0; k < depth; k++)
                {
                    int kk = k0 + k;
                    int code = (src[kk / perByte] >> (kk % perByte * bits)) & mask;
                    d[k * width] = scale * (code - zp);
                }
            }
        }
    }
}

/// <summary>Weight-only linear (WxA16): the FP32 linear driver with each K block of the weight panels dequantized per task from the packed codes.</summary>
internal static unsafe class WeightOnlyLinearDriver
{
    public static void Run(GemmEngine engine, CpuParallel parallel, float[] x, in LinearSchedule s, QuantizedWeight w, float[]? bias, float[] y)
    {
        int m = s.M, k = s.K, n = s.N, mr = engine.Mr, nr = engine.Nr;
        int kc = s.Kc, mc = s.Mc, nBlocks = s.NBlocks, ncPanels = s.NcPanels;
        parallel.For(s.MBlocks * nBlocks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (task) =>
        {
            int i0 = task / nBlocks * mc, rows = Math.Min(mc, m - i0);
            int panel0 = task % nBlocks * ncPanels, j0 = panel0 * nr;
            int cols = Math.Min(ncPanels * nr, n - j0);
            float* packedA = ThreadScratch.Get(ThreadScratch.PackSlot, GemmBlocking.RoundUp(rows, mr) * kc);
            float* packedB = ThreadScratch.Get(ThreadScratch.TileSlot, GemmBlocking.RoundUp(cols, nr) * kc);
            fixed (float* px = x, py = y, pb = bias)
            {
                float* c = py + (nint)i0 * n + j0;
                for (int r = 0; r < rows; r++)
                {
                    var row = new Span<float>(c + r * n, cols);
                    if (pb == null) row.Clear();
                    else new ReadOnlySpan<float>(pb + j0, cols).CopyTo(row);
                }
                for (int p0 = 0; p0 < k; p0 += kc)
                {
                    int depth = Math.Min(kc, k - p0);
                    DequantizeBlock.Run(w, j0, cols, p0, depth, packedB, nr, (nint)depth * nr);
                    for (int i = 0; i < rows; i += mr)
                        Packing.PackPanel(px + (nint)(i0 + i) * k + p0, k, Math.Min(mr, rows - i), depth, mr,
                            packedA + (nint)(i / mr) * depth * mr, mr);
                    engine.Macro(rows, cols, depth, packedA, (nint)depth * mr, mr, packedB, (nint)depth * nr, c, n, accumulate: true);
                }
            }
        });
    }
}

/// <summary>Weight-only conv2d: the FP32 implicit-GEMM driver with the weight (its A operand) dequantized per task and K block.</summary>
internal static unsafe class WeightOnlyConv2dDriver
{
    public static void Run(GemmEngine engine, CpuParallel parallel, float[] x, in ConvSchedule s, QuantizedWeight w, float[]? bias, float[] y)
    {
        var g = s.Geometry;
        int batch = s.Batch, cout = w.Rows, depth = g.Depth, pixels = g.Pixels, mr = engine.Mr, nr = engine.Nr;
        int kc = s.Kc, pixelBlock = s.PixelBlock, pBlocks = s.PBlocks, cBlocks = s.CBlocks, cbPanels = s.CbPanels;
        int inputPlane = g.Height * g.Width;
        parallel.For(batch * pBlocks * cBlocks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (task) =>
        {
            int cb = task % cBlocks, pb = task / cBlocks % pBlocks, n = task / (cBlocks * pBlocks);
            int p0 = pb * pixelBlock, np = Math.Min(pixelBlock, pixels - p0);
            int co0 = cb * cbPanels * mr, mc = Math.Min(cbPanels * mr, cout - co0);
            float* packedB = ThreadScratch.Get(ThreadScratch.PackSlot, GemmBlocking.RoundUp(np, nr) * kc);
            float* packedA = ThreadScratch.Get(ThreadScratch.TileSlot, GemmBlocking.RoundUp(mc, mr) * kc);
            fixed (float* px = x, py = y, pbias = bias)
            {
                float* image = px + (nint)n * g.InChannels * inputPlane;
                float* c = py + ((nint)n * cout + co0) * pixels + p0;
                for (int r = 0; r < mc; r++)
                    new Span<float>(c + (nint)r * pixels, np).Fill(pbias == null ? 0 : pbias[co0 + r]);
                for (int k0 = 0; k0 < depth; k0 += kc)
                {
                    int kd = Math.Min(kc, depth - k0);
                    DequantizeBlock.Run(w, co0, mc, k0, kd, packedA, mr, (nint)kd * mr);
                    Im2Col.Pack(image, g, p0, np, k0, kd, packedB, nr);
                    engine.Macro(mc, np, kd, packedA, (nint)kd * mr, mr, packedB, (nint)kd * nr, c, pixels, accumulate: true);
                }
            }
        });
    }
}
