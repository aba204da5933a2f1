using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// The fused epilogue of one depth run of a 4×16 integer tile: with a = activation codes (zero point z_a, scale s_a)
/// and w = weight codes (z_w, s_w per channel), Σ_k (a − z_a)(w − z_w) = acc + (offset − z_w)·Σa − z_a·Σ(w − z_w),
/// where acc = Σ a·(w − offset) is the tile's INT32 sum, Σa the activation row sum of the run, and Σ(w − z_w) the
/// weight sum precomputed at load. The sum is formed in wrapping INT32: terms may wrap, the result cannot (its magnitude
/// is at most depth·255², which <see cref="RunTerms.Check"/> keeps under 2³¹), so it is exact. Times s_w·s_a, it is
/// added to the FP32 tile.
/// </summary>
internal static unsafe class IntegerEpilogue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddRun(int* acc, float* tile, int* rowSums, RunTerms terms, int n0)
    {
        fixed (int* pOff = terms.WeightOffset, pCol = terms.Column)
        fixed (float* pScale = terms.Scale)
        {
            for (int v = 0; v < 16; v += 8)
            {
                var off = Vector256.Load(pOff + n0 + v);
                var col = Vector256.Load(pCol + n0 + v);
                var scale = Vector256.Load(pScale + n0 + v);
                for (int r = 0; r < 4; r++)
                {
                    var total = Vector256.Load(acc + r * 16 + v) + off * Vector256.Create(rowSums[r]) + col;
                    var dst = tile + r * 16 + v;
                    Vector256.Store(Vector256.Load(dst) + Vector256.ConvertToSingle(total) * scale, dst);
                }
            }
        }
    }

    /// <summary>Each row of a tile starts as the bias (or zero); <paramref name="bias"/> is padded to whole panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Start(float* tile, float[] bias, int n0)
    {
        fixed (float* pb = bias)
        {
            var b0 = Vector256.Load(pb + n0);
            var b1 = Vector256.Load(pb + n0 + 8);
            for (int r = 0; r < 4; r++)
            {
                Vector256.Store(b0, tile + r * 16);
                Vector256.Store(b1, tile + r * 16 + 8);
            }
        }
    }
}

/// <summary>
/// Per-channel epilogue terms of one depth run, fixed at load because the activation quantizer is static:
/// (offset − z_w), −z_a·Σ(w − z_w) and s_w·s_a, padded with zeros to whole 16-channel panels.
/// </summary>
internal sealed class RunTerms
{
    public RunTerms(IntegerPanels w, int run, in ActivationQuantParams q, int offset)
    {
        int padded = w.PanelCount * IntegerPanels.Nr;
        WeightOffset = new int[padded];
        Column = new int[padded];
        Scale = new float[padded];
        for (int n = 0; n < w.Rows; n++)
        {
            WeightOffset[n] = offset - w.ZeroPoints[n];
            Column[n] = -q.ZeroPoint * w.CenteredSums[run][n];
            Scale[n] = w.Scales[n] * q.Scale;
        }
    }

    public int[] WeightOffset { get; }

    public int[] Column { get; }

    public float[] Scale { get; }

    /// <summary>Refuses a run so deep that Σ (a − z_a)(w − z_w) could leave INT32 (depth · 255 · 255 ≥ 2³¹: over 33 025 codes).</summary>
    public static void Check(DepthRuns runs, string item)
    {
        foreach (int length in runs.Lengths)
            if ((long)length * 255 * 255 >= int.MaxValue)
                throw new Diagnostics.MixDQException(Diagnostics.ErrorCodes.PrecisionNotSupported,
                    $"an input run of {length} codes is too deep for the INT32 accumulators of the CPU integer kernels", item: item);
    }
}

/// <summary>
/// One weight panel (16 output channels) against up to 16 activation panels (64 rows, walked as 8×16 tiles): every run's depth walked in
/// chunks whose weight slice (4 KB) and activation slices (≤ 16 KB) stay in L1 while all the row panels use them; the
/// INT32 tiles add up over chunks and go through the epilogue once per run.
/// </summary>
internal static unsafe class IntegerBlock
{
    public const int MaxRowPanels = 16;

    private const int ChunkWeightBytes = 4096;

    /// <summary>Fills out[pa·64 ..] (4×16 FP32 tiles) for row panels 0..aPanels of <paramref name="a"/> (aBytes apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(IntegerWeights layer, int pw, byte* a, int aPanels, int aBytes, int* sums, int sumStride, float* out_, int* ints)
    {
        var w = layer.Panels!;
        var runs = w.Runs;
        var tile = layer.Tile!;
        byte* wp = w.Panel(pw);
        int n0 = pw * IntegerPanels.Nr, chunk = Math.Max(1, ChunkWeightBytes / (2 * w.StepBytes));
        int* partial = stackalloc int[128];
        for (int pa = 0; pa < aPanels; pa++) IntegerEpilogue.Start(out_ + pa * 64, layer.PaddedBias, n0);
        for (int s = 0; s < runs.Count; s++)
        {
            int pairs = runs.Steps[s] / 2;
            for (int c0 = 0; c0 < pairs; c0 += chunk)
            {
                int count = Math.Min(chunk, pairs - c0), step = runs.StepStarts[s] + 2 * c0;
                byte* wc = wp + (nint)step * w.StepBytes;
                // Row panels two at a time (8×16 tiles: the accumulators of panel pa+1 follow those of pa), an odd one alone.
                for (int pa = 0; pa < aPanels; pa += 2)
                {
                    int* acc = ints + pa * 64;
                    int live = Math.Min(2, aPanels - pa) * 64;
                    byte* ap = a + (nint)pa * aBytes + step * 16;
                    if (live == 128) tile.Run8(ap, aBytes, wc, count, c0 == 0 ? acc : partial);
                    else tile.Run(ap, wc, count, c0 == 0 ? acc : partial);
                    if (c0 > 0)
                        for (int i = 0; i < live; i += 8) Vector256.Store(Vector256.Load(acc + i) + Vector256.Load(partial + i), acc + i);
                }
            }
            for (int pa = 0; pa < aPanels; pa++)
                IntegerEpilogue.AddRun(ints + pa * 64, out_ + pa * 64, sums + s * sumStride + pa * 4, layer.Terms[s], n0);
        }
    }
}

/// <summary>
/// Integer linear: y[M, N] = dequant(quant(x) · Wᵀ) + b. The input is quantized once per call, straight into 4-row
/// activation panels (with per-run row sums); tasks of 64 rows × a run of 16-channel weight panels then walk 4×16
/// tiles, each summing every depth run in INT32 and folding it into FP32 through <see cref="IntegerEpilogue"/>.
/// </summary>
internal static unsafe class IntegerLinearDriver
{
    private const int RowPanelsPerTask = IntegerBlock.MaxRowPanels;

    public static void Run(CpuParallel parallel, IntegerWeights layer, float[] x, int m, int k, int n, float[] y, int tokens)
    {
        var runs = layer.Panels!.Runs;
        bool simd = layer.Tile!.Isa != IntegerIsa.Portable;
        int aPanels = GemmBlocking.CeilDiv(m, 4), aBytes = runs.TotalSteps * 16;
        // Pooled: a fresh multi-megabyte array per call costs page faults comparable to the quantization itself.
        var codes = ArrayPool<byte>.Shared.Rent(aPanels * aBytes);
        var sums = ArrayPool<int>.Shared.Rent(runs.Count * aPanels * 4);
        try
        {
            // Task bodies are optimized at once (as the micro-kernels are): otherwise the first ~30 calls of every
            // integer layer run them as unoptimized tier-0 code, which made early calls several times slower.
            parallel.ForRange(aPanels, Math.Max(1, 65536 / aBytes), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
            {
                byte* rows = (byte*)ThreadScratch.Get(ThreadScratch.AuxSlot, runs.TotalSteps * 4);
                fixed (float* px = x)
                fixed (byte* pc = codes)
                fixed (int* ps = sums)
                {
                    for (long p = start; p < end; p++)
                        ActivationPanel.Quantize(px + p * 4 * k, (int)Math.Min(4, m - p * 4), k, layer, simd, rows, pc + p * aBytes, ps + p * 4, aPanels * 4);
                }
            });
            Multiply(parallel, layer, codes, sums, aPanels, aBytes, m, n, y);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
            ArrayPool<int>.Shared.Return(sums);
        }
        BosRows.Write(layer.Bos, y, m, n, tokens);
    }

    private static void Multiply(CpuParallel parallel, IntegerWeights layer, byte[] codes, int[] sums, int aPanels, int aBytes, int m, int n, float[] y)
    {
        var w = layer.Panels!;
        int nPanels = w.PanelCount, mBlocks = GemmBlocking.CeilDiv(aPanels, RowPanelsPerTask);
        int nBlocks = Math.Clamp(GemmBlocking.CeilDiv(4 * parallel.Threads, mBlocks), 1, nPanels);
        int ncPanels = GemmBlocking.CeilDiv(nPanels, nBlocks);
        nBlocks = GemmBlocking.CeilDiv(nPanels, ncPanels);
        parallel.For(mBlocks * nBlocks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (task) =>
        {
            int pa0 = task / nBlocks * RowPanelsPerTask, pa1 = Math.Min(aPanels, pa0 + RowPanelsPerTask);
            int pw0 = task % nBlocks * ncPanels, pw1 = Math.Min(nPanels, pw0 + ncPanels);
            float* tiles = ThreadScratch.Get(ThreadScratch.TileSlot, 2 * 64 * RowPanelsPerTask);
            int* ints = (int*)(tiles + 64 * RowPanelsPerTask);
            fixed (byte* pc = codes)
            fixed (int* ps = sums)
            fixed (float* py = y)
            {
                for (int pw = pw0; pw < pw1; pw++)
                {
                    int n0 = pw * 16, cols = Math.Min(16, n - n0);
                    IntegerBlock.Run(layer, pw, pc + (nint)pa0 * aBytes, pa1 - pa0, aBytes, ps + pa0 * 4, aPanels * 4, tiles, ints);
                    int rows = Math.Min(m, pa1 * 4) - pa0 * 4;
                    RowTile.Write(tiles, rows, cols, py + (nint)pa0 * 4 * n + n0, n);
                }
            }
        });
    }
}

/// <summary>
/// Quantizes up to 4 input rows into one activation panel: each row's runs become codes in a row buffer (padding codes
/// 0), then four rows' 4-code steps are interleaved by an in-register 4×4 transpose of 32-bit words.
/// </summary>
internal static unsafe class ActivationPanel
{
    /// <summary>
    /// Rows x[r·k ..] for r &lt; <paramref name="rows"/> (the rest are zero codes) into <paramref name="panel"/>;
    /// <paramref name="rowBuffer"/> is 4 × TotalSteps·4 bytes of scratch; sums[s·sumStride + r] = Σ codes of row r in run s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(float* x, int rows, int k, IntegerWeights layer, bool simd, byte* rowBuffer, byte* panel, int* sums, int sumStride)
    {
        var runs = layer.Panels!.Runs;
        int rowBytes = runs.TotalSteps * 4;
        for (int r = 0; r < 4; r++)
        {
            byte* dst = rowBuffer + r * rowBytes;
            if (r >= rows)
            {
                new Span<byte>(dst, rowBytes).Clear();
                for (int s = 0; s < runs.Count; s++) sums[s * sumStride + r] = 0;
                continue;
            }
            for (int s = 0; s < runs.Count; s++)
            {
                int len = runs.Lengths[s], at = runs.StepStarts[s] * 4;
                sums[s * sumStride + r] = ActivationCodes.Quantize(x + (nint)r * k + runs.Starts[s], dst + at, len, layer.Segments[s], simd);
                new Span<byte>(dst + at + len, runs.Steps[s] * 4 - len).Clear();
            }
        }
        int t = 0;
        if (simd && Sse2.IsSupported)
            for (; t + 4 <= runs.TotalSteps; t += 4)
            {
                var r0 = Sse2.LoadVector128(rowBuffer + t * 4).AsUInt32();
                var r1 = Sse2.LoadVector128(rowBuffer + rowBytes + t * 4).AsUInt32();
                var r2 = Sse2.LoadVector128(rowBuffer + 2 * rowBytes + t * 4).AsUInt32();
                var r3 = Sse2.LoadVector128(rowBuffer + 3 * rowBytes + t * 4).AsUInt32();
                var lo01 = Sse2.UnpackLow(r0, r1).AsUInt64();
                var hi01 = Sse2.UnpackHigh(r0, r1).AsUInt64();
                var lo23 = Sse2.UnpackLow(r2, r3).AsUInt64();
                var hi23 = Sse2.UnpackHigh(r2, r3).AsUInt64();
                Sse2.Store(panel + t * 16, Sse2.UnpackLow(lo01, lo23).AsByte());
                Sse2.Store(panel + t * 16 + 16, Sse2.UnpackHigh(lo01, lo23).AsByte());
                Sse2.Store(panel + t * 16 + 32, Sse2.UnpackLow(hi01, hi23).AsByte());
                Sse2.Store(panel + t * 16 + 48, Sse2.UnpackHigh(hi01, hi23).AsByte());
            }
        for (; t < runs.TotalSteps; t++)
            for (int r = 0; r < 4; r++)
                *(int*)(panel + t * 16 + r * 4) = *(int*)(rowBuffer + r * rowBytes + t * 4);
    }
}

/// <summary>A linear task's output block (row r's 16 channels at tiles[16·r ..]) into rows of y, n apart.</summary>
internal static unsafe class RowTile
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(float* tiles, int rows, int channels, float* dst, int n)
    {
        if (channels == IntegerPanels.Nr)
        {
            for (int r = 0; r < rows; r++)
            {
                Vector256.Store(Vector256.Load(tiles + r * 16), dst + (nint)r * n);
                Vector256.Store(Vector256.Load(tiles + r * 16 + 8), dst + (nint)r * n + 8);
            }
            return;
        }
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(tiles + r * 16, channels).CopyTo(new Span<float>(dst + (nint)r * n, channels));
    }
}

/// <summary>
/// A conv task's output block to NCHW: pixel q's 16 channels sit at tiles[16·q ..] (4×16 tiles back to back), so
/// 8 pixels × 8 channels at a time are one in-register 8×8 transpose; ragged edges go element by element.
/// </summary>
internal static unsafe class NchwTile
{
    public static void Write(float* tiles, int pixels, int channels, float* dst, int plane)
    {
        int q0 = 0;
        if (channels == IntegerPanels.Nr && Avx.IsSupported)
            for (; q0 + 8 <= pixels; q0 += 8)
            {
                Packing.Transpose8x8(tiles + q0 * 16, 16, dst + q0, plane);
                Packing.Transpose8x8(tiles + q0 * 16 + 8, 16, dst + 8L * plane + q0, plane);
            }
        for (int c = 0; c < channels; c++)
            for (int q = q0; q < pixels; q++) dst[(nint)c * plane + q] = tiles[q * 16 + c];
    }
}

/// <summary>Token 0 of every sequence of a BOS-aware layer takes the build-time FP row instead of the quantized GEMM's.</summary>
internal static class BosRows
{
    public static void Write(float[]? bos, float[] y, int m, int n, int tokens)
    {
        if (bos is null) return;
        for (int row = 0; row < m; row += tokens) bos.CopyTo(y, (long)row * n);
    }
}

/// <summary>
/// Integer conv2d as implicit GEMM: the input is quantized once per call (each channel with its run's quantizer);
/// each task gathers the im2col codes of a block of output pixels into 4-pixel activation panels (padding taps are
/// the zero point, i.e. the value 0) and walks 4-pixel × 16-channel tiles; the epilogue writes NCHW directly.
/// </summary>
internal static unsafe class IntegerConv2dDriver
{
    public static void Run(CpuParallel parallel, IntegerWeights layer, float[] x, int batch, in ConvGeometry g, int cout, float[] y)
    {
        var runs = layer.Panels!.Runs;
        int cin = g.InChannels, taps = g.Kernel * g.Kernel;
        var runOfChannel = new int[cin];
        for (int s = 0; s < runs.Count; s++)
            for (int c = runs.Starts[s] / taps; c < (runs.Starts[s] + runs.Lengths[s]) / taps; c++) runOfChannel[c] = s;

        // Codes of the zero-padded input: the border holds each channel's zero point (the value 0), so the gather
        // below needs no bounds checks.
        var codes = ArrayPool<byte>.Shared.Rent(batch * cin * (g.Height + 2 * g.Padding) * (g.Width + 2 * g.Padding));
        try
        {
            Quantize(parallel, layer, x, batch, g, runOfChannel, codes);
            Multiply(parallel, layer, codes, batch, g, cout, y);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(codes);
        }
    }

    /// <summary>Codes of the input, each channel's plane inside a border of its zero point (see <see cref="Run"/>).</summary>
    private static void Quantize(CpuParallel parallel, IntegerWeights layer, float[] x, int batch, in ConvGeometry g, int[] runOfChannel, byte[] codes)
    {
        bool simd = layer.Tile!.Isa != IntegerIsa.Portable;
        int cin = g.InChannels, plane = g.Height * g.Width;
        int hp = g.Height + 2 * g.Padding, wp = g.Width + 2 * g.Padding, paddedPlane = hp * wp;
        var geometry = g;
        // Planes in chunks of at least 16K values: a small layer's planes (16×16 in TinyShapes) quantize on one thread
        // instead of paying a task dispatch per plane.
        parallel.ForRange(batch * cin, Math.Max(1, 16384 / Math.Max(1, plane)), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            fixed (float* px = x)
            fixed (byte* pc = codes)
            {
                for (long i = start; i < end; i++)
                {
                    var q = layer.Segments[runOfChannel[i % cin]];
                    byte* dst = pc + i * paddedPlane;
                    if (geometry.Padding > 0) new Span<byte>(dst, paddedPlane).Fill((byte)q.ZeroPoint);
                    for (int y = 0; y < geometry.Height; y++)
                        ActivationCodes.Quantize(px + i * plane + y * geometry.Width, dst + (y + geometry.Padding) * wp + geometry.Padding, geometry.Width, q, simd);
                }
            }
        });
    }

    /// <summary>The implicit GEMM over the codes: tasks of output pixel blocks × channel panel blocks.</summary>
    private static void Multiply(CpuParallel parallel, IntegerWeights layer, byte[] codes, int batch, in ConvGeometry g, int cout, float[] y)
    {
        var w = layer.Panels!;
        var runs = w.Runs;
        var geometry = g;
        int cin = g.InChannels, paddedPlane = (g.Height + 2 * g.Padding) * (g.Width + 2 * g.Padding);
        int pixels = g.Pixels, aBytes = runs.TotalSteps * 16;
        int block = 4 * IntegerBlock.MaxRowPanels;
        while (block > 16 && batch * GemmBlocking.CeilDiv(pixels, block) < 2 * parallel.Threads) block /= 2;
        int pBlocks = GemmBlocking.CeilDiv(pixels, block), cPanels = w.PanelCount;
        int cBlocks = Math.Clamp(GemmBlocking.CeilDiv(2 * parallel.Threads, batch * pBlocks), 1, cPanels);
        int cbPanels = GemmBlocking.CeilDiv(cPanels, cBlocks);
        cBlocks = GemmBlocking.CeilDiv(cPanels, cbPanels);

        parallel.For(batch * pBlocks * cBlocks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (task) =>
        {
            int cb = task % cBlocks, pb = task / cBlocks % pBlocks, img = task / (cBlocks * pBlocks);
            int p0 = pb * block, np = Math.Min(block, pixels - p0), aPanels = GemmBlocking.CeilDiv(np, 4);
            byte* a = (byte*)ThreadScratch.Get(ThreadScratch.PackSlot, aPanels * aBytes / 4 + 1);
            int* sums = (int*)ThreadScratch.Get(ThreadScratch.AuxSlot, runs.Count * aPanels * 4);
            float* tiles = ThreadScratch.Get(ThreadScratch.TileSlot, 2 * 64 * IntegerBlock.MaxRowPanels);
            int* ints = (int*)(tiles + 64 * IntegerBlock.MaxRowPanels);
            fixed (byte* pc = codes)
            fixed (float* py = y)
            {
                Im2Codes(pc + (nint)img * cin * paddedPlane, geometry, runs, p0, np, a, aBytes, sums);
                int pw1 = Math.Min(cPanels, (cb + 1) * cbPanels);
                for (int pw = cb * cbPanels; pw < pw1; pw++)
                {
                    int n0 = pw * 16, cols = Math.Min(16, cout - n0);
                    IntegerBlock.Run(layer, pw, a, aPanels, aBytes, sums, aPanels * 4, tiles, ints);
                    NchwTile.Write(tiles, np, cols, py + ((nint)img * cout + n0) * pixels + p0, pixels);
                }
            }
        });
    }

    /// <summary>
    /// Activation panels of pixels p0..p0+np from the zero-padded code planes: step t of panel q/4 holds, for pixel q,
    /// codes k = 4t..4t+3 of its im2col column (run by run, padded with 0 codes to whole step pairs);
    /// sums[run · 4·panels + q] = Σ of its run's codes. Stride-1 convolutions whose output rows hold whole 4-pixel
    /// panels take a vector path: each k's four pixels are one 4-byte load, and a byte shuffle turns four such loads
    /// (4 k × 4 pixels) into the panel's 16-byte step (4 pixels × 4 k).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2Codes(byte* image, in ConvGeometry g, DepthRuns runs, int p0, int np, byte* a, int aBytes, int* sums)
    {
        int aPanels = GemmBlocking.CeilDiv(np, 4), ks = g.Kernel, taps = ks * ks, ow = g.OutWidth;
        int wp = g.Width + 2 * g.Padding, paddedPlane = (g.Height + 2 * g.Padding) * wp;
        new Span<int>(sums, runs.Count * aPanels * 4).Clear();
        Span<int> origin = stackalloc int[np];
        for (int q = 0; q < np; q++) origin[q] = (p0 + q) / ow * g.Stride * wp + (p0 + q) % ow * g.Stride;
        if (g.Stride == 1 && ow % 4 == 0 && p0 % 4 == 0 && np % 4 == 0)
        {
            PanelGather(image, taps, ks, wp, paddedPlane, runs, origin, aPanels, a, aBytes, sums);
            return;
        }
        new Span<byte>(a, aPanels * aBytes).Clear();
        for (int s = 0; s < runs.Count; s++)
        {
            int c0 = runs.Starts[s] / taps;
            int* sum = sums + s * aPanels * 4;
            for (int kk = 0; kk < runs.Lengths[s]; kk++)
            {
                int ci = c0 + kk / taps, tap = kk % taps;
                byte* src = image + (nint)ci * paddedPlane + tap / ks * wp + tap % ks;
                byte* dst = a + (runs.StepStarts[s] + kk / 4) * 16 + kk % 4;
                for (int q = 0; q < np; q++)
                {
                    byte v = src[origin[q]];
                    dst[(q >> 2) * aBytes + (q & 3) * 4] = v;
                    sum[q] += v;
                }
            }
        }
    }

    /// <summary>The vector gather of <see cref="Im2Codes"/>: four pixels of one output row per panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PanelGather(byte* image, int taps, int ks, int wp, int paddedPlane, DepthRuns runs, ReadOnlySpan<int> origin,
        int aPanels, byte* a, int aBytes, int* sums)
    {
        // Byte r·4 + j of a step is byte j·4 + r of the four loads (k-major → pixel-major).
        var transpose = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        Span<int> offset = stackalloc int[4];
        for (int s = 0; s < runs.Count; s++)
        {
            int c0 = runs.Starts[s] / taps, len = runs.Lengths[s];
            int* sum = sums + s * aPanels * 4;
            for (int t = 0; t < runs.Steps[s]; t++)
            {
                int live = Math.Clamp(len - 4 * t, 0, 4);
                for (int j = 0; j < live; j++)
                {
                    int kk = 4 * t + j, tap = kk % taps;
                    offset[j] = (c0 + kk / taps) * paddedPlane + tap / ks * wp + tap % ks;
                }
                byte* dst = a + (runs.StepStarts[s] + t) * 16;
                for (int pa = 0; pa < aPanels; pa++)
                {
                    byte* src = image + origin[pa * 4];
                    int i0 = live > 0 ? *(int*)(src + offset[0]) : 0;
                    int i1 = live > 1 ? *(int*)(src + offset[1]) : 0;
                    int i2 = live > 2 ? *(int*)(src + offset[2]) : 0;
                    int i3 = live > 3 ? *(int*)(src + offset[3]) : 0;
                    Vector128.Store(Vector128.Shuffle(Vector128.Create(i0, i1, i2, i3).AsByte(), transpose), dst + (nint)pa * aBytes);
                    // Per-pixel sums in 16-bit lanes (4 codes ≤ 1020 each): pixels 0 and 2, then 1 and 3.
                    uint even = ((uint)i0 & 0x00FF00FF) + ((uint)i1 & 0x00FF00FF) + ((uint)i2 & 0x00FF00FF) + ((uint)i3 & 0x00FF00FF);
                    uint odd = (((uint)i0 >> 8) & 0x00FF00FF) + (((uint)i1 >> 8) & 0x00FF00FF) + (((uint)i2 >> 8) & 0x00FF00FF) + (((uint)i3 >> 8) & 0x00FF00FF);
                    int* ps = sum + pa * 4;
                    ps[0] += (int)(even & 0xFFFF);
                    ps[1] += (int)(odd & 0xFFFF);
                    ps[2] += (int)(even >> 16);
                    ps[3] += (int)(odd >> 16);
                }
            }
        }
    }
}
