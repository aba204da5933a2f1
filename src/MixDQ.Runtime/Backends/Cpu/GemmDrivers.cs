using System.Runtime.CompilerServices;
namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>Cache-blocking sizes shared by the GEMM drivers.</summary>
internal static class GemmBlocking
{
    /// <summary>Target depth of one K block: a kc×Nr B micro-panel (32 KB for Nr = 32) stays in L1.</summary>
    public const int TargetKc = 256;

    /// <summary>Target rows of A packed per block (an A block of MC×KC, about 100 KB, stays in L2).</summary>
    public const int TargetMc = 96;

    /// <summary>Target pixels per convolution block (a KC×NC im2col block, about 256 KB, stays in L2).</summary>
    public const int TargetConvPixels = 256;

    /// <summary>K split into equal blocks of at most <see cref="TargetKc"/>, so no block is a sliver.</summary>
    public static int KcFor(int k)
    {
        int blocks = Math.Max(1, (k + TargetKc - 1) / TargetKc);
        return (k + blocks - 1) / blocks;
    }

    public static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    public static int CeilDiv(int value, int divisor) => (value + divisor - 1) / divisor;
}

/// <summary>
/// How a linear call splits into tasks: blocking and partition depend only on (M, K, N), the micro-kernel and the
/// thread count, never on the data, so a kernel specialized for one shape computes it once.
/// </summary>
internal readonly record struct LinearSchedule(int M, int K, int N, int Kc, int Mc, int MBlocks, int NBlocks, int NcPanels)
{
    public static LinearSchedule For(GemmEngine engine, int threads, int m, int k, int n)
    {
        int kc = GemmBlocking.KcFor(k);
        int mc = GemmBlocking.RoundUp(GemmBlocking.TargetMc, engine.Mr);
        int mBlocks = GemmBlocking.CeilDiv(m, mc);
        // Split N only when M alone does not give every thread a few tasks: each N block re-packs A.
        int nPanels = GemmBlocking.CeilDiv(n, engine.Nr);
        int nBlocks = Math.Clamp(GemmBlocking.CeilDiv(4 * threads, mBlocks), 1, nPanels);
        int ncPanels = GemmBlocking.CeilDiv(nPanels, nBlocks);
        nBlocks = GemmBlocking.CeilDiv(nPanels, ncPanels);
        return new LinearSchedule(m, k, n, kc, mc, mBlocks, nBlocks, ncPanels);
    }
}

/// <summary>y[M, N] = x[M, K]·Wᵀ + b with W pre-packed into B panels.</summary>
internal static unsafe class LinearDriver
{
    public static void Run(GemmEngine engine, CpuParallel parallel, float[] x, in LinearSchedule s,
        PackedPanels w, float[]? bias, float[] y)
    {
        int m = s.M, k = s.K, n = s.N, mr = engine.Mr, nr = engine.Nr;
        int kc = s.Kc, mc = s.Mc, mBlocks = s.MBlocks, nBlocks = s.NBlocks, ncPanels = s.NcPanels;

        parallel.For(mBlocks * nBlocks, task =>
        {
            int i0 = task / nBlocks * mc, rows = Math.Min(mc, m - i0);
            int panel0 = task % nBlocks * ncPanels, j0 = panel0 * nr;
            int cols = Math.Min(ncPanels * nr, n - j0);
            float* packedA = ThreadScratch.Get(ThreadScratch.PackSlot, GemmBlocking.RoundUp(rows, mr) * kc);
            fixed (float* px = x, py = y, pb = bias)
            {
                float* c = py + (nint)i0 * n + j0;
                FillRows(c, n, rows, cols, pb == null ? null : pb + j0);
                for (int p0 = 0; p0 < k; p0 += kc)
                {
                    int depth = Math.Min(kc, k - p0);
                    for (int i = 0; i < rows; i += mr)
                        Packing.PackPanel(px + (nint)(i0 + i) * k + p0, k, Math.Min(mr, rows - i), depth, mr,
                            packedA + (nint)(i / mr) * depth * mr, mr);
                    engine.Macro(rows, cols, depth, packedA, (nint)depth * mr, mr,
                        w.Panel(panel0) + (nint)p0 * nr, w.PanelStride, c, n, accumulate: true);
                }
            }
        });
    }

    /// <summary>Each of <paramref name="rows"/> rows of C gets the bias row (or zeros).</summary>
    private static void FillRows(float* c, nint ldc, int rows, int cols, float* bias)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = new Span<float>(c + r * ldc, cols);
            if (bias == null) row.Clear();
            else new ReadOnlySpan<float>(bias, cols).CopyTo(row);
        }
    }
}

/// <summary>Shape of a 2-D convolution on one image.</summary>
internal readonly record struct ConvGeometry(int InChannels, int Height, int Width, int Kernel, int Stride, int Padding)
{
    public int OutHeight => (Height + 2 * Padding - Kernel) / Stride + 1;

    public int OutWidth => (Width + 2 * Padding - Kernel) / Stride + 1;

    public int Pixels => OutHeight * OutWidth;

    /// <summary>The GEMM depth: one row per (input channel, ky, kx), in the weight's memory order.</summary>
    public int Depth => InChannels * Kernel * Kernel;
}

/// <summary>How a convolution call splits into tasks (pixel blocks × output-channel blocks), from its shape alone.</summary>
internal readonly record struct ConvSchedule(ConvGeometry Geometry, int Batch, int OutChannels, int Kc, int PixelBlock, int PBlocks, int CBlocks, int CbPanels)
{
    public static ConvSchedule For(GemmEngine engine, int threads, int batch, in ConvGeometry g, int outChannels)
    {
        int pixels = g.Pixels, nr = engine.Nr;
        int kc = GemmBlocking.KcFor(g.Depth);
        // Pixel blocks first (no duplicated packing); shrink them, then split output channels, only
        // when there are too few tasks to keep every thread busy.
        int want = 2 * threads;
        int pixelBlock = Math.Min(GemmBlocking.TargetConvPixels, GemmBlocking.RoundUp(pixels, nr));
        while (pixelBlock > nr && batch * GemmBlocking.CeilDiv(pixels, pixelBlock) < want)
            pixelBlock = GemmBlocking.RoundUp(pixelBlock / 2, nr);
        int pBlocks = GemmBlocking.CeilDiv(pixels, pixelBlock);
        int coutPanels = GemmBlocking.CeilDiv(outChannels, engine.Mr);
        int cBlocks = Math.Clamp(GemmBlocking.CeilDiv(want, batch * pBlocks), 1, coutPanels);
        int cbPanels = GemmBlocking.CeilDiv(coutPanels, cBlocks);
        cBlocks = GemmBlocking.CeilDiv(coutPanels, cbPanels);
        return new ConvSchedule(g, batch, outChannels, kc, pixelBlock, pBlocks, cBlocks, cbPanels);
    }
}

/// <summary>
/// NCHW convolution as GEMM: y[co, pixel] = W[co, (ci, ky, kx)] · im2col[(ci, ky, kx), pixel] + b.
/// The weights are the pre-packed A operand; the im2col matrix is never built whole: each task packs
/// one KC×NC block of it straight into B panels, so memory stays bounded whatever the image size.
/// Computing the transposed product makes the output land in NCHW with no transpose.
/// </summary>
internal static unsafe class Conv2dDriver
{
    public static void Run(GemmEngine engine, CpuParallel parallel, float[] x, in ConvSchedule s,
        PackedPanels w, float[]? bias, float[] y)
    {
        var g = s.Geometry;
        int batch = s.Batch, cout = w.Rows, depth = g.Depth, pixels = g.Pixels, mr = engine.Mr, nr = engine.Nr;
        int kc = s.Kc, pixelBlock = s.PixelBlock, pBlocks = s.PBlocks, cBlocks = s.CBlocks, cbPanels = s.CbPanels;
        int inputPlane = g.Height * g.Width;

        parallel.For(batch * pBlocks * cBlocks, task =>
        {
            int cb = task % cBlocks, pb = task / cBlocks % pBlocks, n = task / (cBlocks * pBlocks);
            int p0 = pb * pixelBlock, np = Math.Min(pixelBlock, pixels - p0);
            int co0 = cb * cbPanels * mr, mc = Math.Min(cbPanels * mr, cout - co0);
            float* packedB = ThreadScratch.Get(ThreadScratch.PackSlot, GemmBlocking.RoundUp(np, nr) * kc);
            fixed (float* px = x, py = y, pbias = bias)
            {
                float* image = px + (nint)n * g.InChannels * inputPlane;
                float* c = py + ((nint)n * cout + co0) * pixels + p0;
                for (int r = 0; r < mc; r++)
                    new Span<float>(c + (nint)r * pixels, np).Fill(pbias == null ? 0 : pbias[co0 + r]);
                for (int k0 = 0; k0 < depth; k0 += kc)
                {
                    int kd = Math.Min(kc, depth - k0);
                    Im2Col.Pack(image, g, p0, np, k0, kd, packedB, nr);
                    engine.Macro(mc, np, kd, w.Panel(co0 / mr) + (nint)k0 * mr, w.PanelStride, mr,
                        packedB, (nint)kd * nr, c, pixels, accumulate: true);
                }
            }
        });
    }
}

/// <summary>Packs a block of the implicit im2col matrix into B panels.</summary>
internal static unsafe class Im2Col
{
    /// <summary>
    /// Panel jp holds pixels p0 + jp·nr + t (t &lt; nr) for im2col rows k0 .. k0+kd:
    /// dst[jp·kd·nr + kk·nr + t] = x[ci, oy·s − pad + ky, ox·s − pad + kx] (0 outside the image or past np).
    /// A panel's pixels are split into runs that share an output row, so each run of one im2col row
    /// is a contiguous (stride 1) or strided slice of one input row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* image, in ConvGeometry g, int p0, int np, int k0, int kd, float* dst, int nr)
    {
        int ow = g.OutWidth, ks = g.Kernel, s = g.Stride, pad = g.Padding, h = g.Height, w = g.Width;
        nint plane = (nint)h * w;
        Span<int> runStart = stackalloc int[nr], runLength = stackalloc int[nr], runY = stackalloc int[nr], runX = stackalloc int[nr];
        for (int jp = 0; jp * nr < np; jp++)
        {
            float* panel = dst + (nint)jp * kd * nr;
            int first = p0 + jp * nr, count = Math.Min(nr, np - jp * nr);
            int runs = 0;
            for (int t = 0; t < count;)
            {
                int p = first + t, oy = p / ow, ox = p % ow, len = Math.Min(count - t, ow - ox);
                runStart[runs] = t;
                runLength[runs] = len;
                runY[runs] = oy * s - pad;
                runX[runs] = ox * s - pad;
                runs++;
                t += len;
            }

            int ci = k0 / (ks * ks), ky = k0 / ks % ks, kx = k0 % ks;
            for (int kk = 0; kk < kd; kk++)
            {
                float* d = panel + (nint)kk * nr;
                float* channel = image + ci * plane;
                for (int r = 0; r < runs; r++)
                {
                    float* out_ = d + runStart[r];
                    int len = runLength[r], iy = runY[r] + ky;
                    if ((uint)iy >= (uint)h)
                    {
                        new Span<float>(out_, len).Clear();
                        continue;
                    }
                    float* row = channel + (nint)iy * w;
                    int ix0 = runX[r] + kx;
                    if (s == 1)
                    {
                        int lo = Math.Clamp(-ix0, 0, len), hi = Math.Clamp(w - ix0, lo, len);
                        if (lo > 0) new Span<float>(out_, lo).Clear();
                        new ReadOnlySpan<float>(row + ix0 + lo, hi - lo).CopyTo(new Span<float>(out_ + lo, hi - lo));
                        if (hi < len) new Span<float>(out_ + hi, len - hi).Clear();
                    }
                    else
                    {
                        for (int t = 0; t < len; t++)
                        {
                            int ix = ix0 + t * s;
                            out_[t] = (uint)ix < (uint)w ? row[ix] : 0f;
                        }
                    }
                }
                if (count < nr) new Span<float>(d + count, nr - count).Clear();
                if (++kx == ks)
                {
                    kx = 0;
                    if (++ky == ks)
                    {
                        ky = 0;
                        ci++;
                    }
                }
            }
        }
    }
}
