using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Multi-head attention, flash style: for each (batch, head, block of queries) the keys are visited
/// in blocks, scores of one block are turned into probabilities with an online softmax (running
/// max and sum per query, earlier partial outputs rescaled), and the Lq×Lk score matrix never
/// exists: memory is O(L·C) whatever the sequence length. Both products run on the GEMM
/// micro-kernel. Scores are computed transposed (keys × queries) so that the softmax runs down
/// columns with whole vectors of queries, and the probabilities can be read straight from there as
/// the A operand of P·V.
/// </summary>
internal static unsafe class AttentionDriver
{
    private const int TargetQueryBlock = 64;
    private const int TargetKeyBlock = 256;

    public static void Run(GemmEngine engine, CpuParallel parallel, float[] q, float[] k, float[] v,
        int batch, int lq, int lk, int heads, bool causal, float[] y)
    {
        int hd = q.Length / (batch * lq), d = hd / heads, mr = engine.Mr, nr = engine.Nr;
        int dPad = GemmBlocking.RoundUp(d, nr);
        // The 512-bit softmax only with the AVX-512 kernel, so forcing the portable path tests the portable softmax.
        bool wide = engine.Isa == CpuIsa.Avx512 && Vector512.IsHardwareAccelerated;
        int lanes = wide ? Vector512<float>.Count : Vector<float>.Count;
        int qBlock = GemmBlocking.RoundUp(TargetQueryBlock, Lcm(Lcm(mr, nr), lanes));
        int kBlock = GemmBlocking.RoundUp(TargetKeyBlock, mr);
        int kPanels = GemmBlocking.CeilDiv(lk, mr);
        nint kSize = (nint)kPanels * mr * d, vSize = (nint)dPad * lk;
        int pairs = batch * heads;

        // K as A panels (Mr keys, d deep) and V as B panels (Nr channels, Lk deep), once per (b, h),
        // so that query blocks share them.
        var packedK = new AlignedBuffer(checked((int)(pairs * kSize)));
        var packedV = new AlignedBuffer(checked((int)(pairs * vSize)));
        parallel.For(pairs, bh =>
        {
            int b = bh / heads, h = bh % heads;
            fixed (float* pk = k, pv = v)
            {
                float* kSrc = pk + (nint)b * lk * hd + h * d;
                float* kDst = packedK.Pointer + bh * kSize;
                for (int p = 0; p < kPanels; p++)
                    Packing.PackPanel(kSrc + (nint)p * mr * hd, hd, Math.Min(mr, lk - p * mr), d, mr, kDst + (nint)p * d * mr, mr);
                float* vSrc = pv + (nint)b * lk * hd + h * d;
                float* vDst = packedV.Pointer + bh * vSize;
                for (int p = 0; p * nr < d; p++)
                {
                    int cols = Math.Min(nr, d - p * nr);
                    float* panel = vDst + (nint)p * lk * nr;
                    for (int j = 0; j < lk; j++)
                    {
                        new ReadOnlySpan<float>(vSrc + (nint)j * hd + p * nr, cols).CopyTo(new Span<float>(panel + (nint)j * nr, cols));
                        if (cols < nr) new Span<float>(panel + (nint)j * nr + cols, nr - cols).Clear();
                    }
                }
            }
        });

        int qBlocks = GemmBlocking.CeilDiv(lq, qBlock);
        int dBlock = GemmBlocking.KcFor(d);
        // Scores in log2 units (q scaled by log2(e)/√d), so the softmax needs 2^x rather than e^x.
        float scale = VectorMath.Log2E / MathF.Sqrt(d);
        int qpSize = Align(qBlock * d), sSize = Align(kBlock * qBlock), oSize = Align(qBlock * dPad);
        parallel.For(pairs * qBlocks, task =>
        {
            int bh = task / qBlocks, b = bh / heads, h = bh % heads;
            int i0 = task % qBlocks * qBlock, nq = Math.Min(qBlock, lq - i0);
            float* scratch = ThreadScratch.Get(ThreadScratch.PackSlot, qpSize + sSize + oSize + 3 * qBlock);
            float* qp = scratch, s = qp + qpSize, o = s + sSize, max = o + oSize, sum = max + qBlock, alpha = sum + qBlock;
            fixed (float* pq = q, py = y)
            {
                float* qSrc = pq + ((nint)b * lq + i0) * hd + h * d;
                for (int p = 0; p < qBlock / nr; p++)
                    Packing.PackPanel(qSrc + (nint)p * nr * hd, hd, Math.Clamp(nq - p * nr, 0, nr), d, nr, qp + (nint)p * d * nr, nr);
                Scale(qp, qBlock * d, scale);
                new Span<float>(o, qBlock * dPad).Clear();
                new Span<float>(max, qBlock).Fill(float.NegativeInfinity);
                new Span<float>(sum, qBlock).Clear();

                float* kp = packedK.Pointer + bh * kSize, vp = packedV.Pointer + bh * vSize;
                int keyEnd = causal ? Math.Min(lk, i0 + nq) : lk;
                for (int j0 = 0; j0 < keyEnd; j0 += kBlock)
                {
                    int nk = Math.Min(kBlock, keyEnd - j0);
                    // Sᵀ[nk, qBlock] = K_block · Q_blockᵀ (already scaled), over head-dim blocks so that a
                    // Q micro-panel stays in L1 even for wide heads (the VAE's single 512-wide head).
                    for (int e0 = 0; e0 < d; e0 += dBlock)
                        engine.Macro(nk, qBlock, Math.Min(dBlock, d - e0), kp + (nint)(j0 / mr) * d * mr + (nint)e0 * mr, (nint)d * mr, mr,
                            qp + (nint)e0 * nr, (nint)d * nr, s, qBlock, accumulate: e0 > 0);
                    if (causal && j0 + nk - 1 > i0) MaskFuture(s, qBlock, nk, j0 - i0);
                    if (wide) OnlineSoftmax512(s, qBlock, nk, max, sum, alpha);
                    else OnlineSoftmax(s, qBlock, nk, max, sum, alpha);
                    RescaleRows(o, dPad, qBlock, alpha);
                    // O[qBlock, dPad] += P · V_block, P read column-wise from Sᵀ.
                    engine.Macro(qBlock, dPad, nk, s, mr, qBlock, vp + (nint)j0 * nr, (nint)lk * nr, o, dPad, accumulate: true);
                }

                for (int t = 0; t < nq; t++)
                {
                    float inv = 1f / sum[t];
                    float* dst = py + ((nint)b * lq + i0 + t) * hd + h * d;
                    float* src = o + (nint)t * dPad;
                    for (int e = 0; e < d; e++) dst[e] = src[e] * inv;
                }
            }
        });
    }

    /// <summary>Causal mask: key j0 + j is hidden from query i0 + t when it is later (reference: j &gt; i).</summary>
    private static void MaskFuture(float* s, int ld, int nk, int keyOffset)
    {
        for (int j = 0; j < nk; j++)
        {
            int hidden = Math.Clamp(keyOffset + j, 0, ld);
            new Span<float>(s + (nint)j * ld, hidden).Fill(float.NegativeInfinity);
        }
    }

    /// <summary>
    /// Column-wise online softmax over one block of scores Sᵀ[nk, queries]: updates each query's running
    /// max and sum, turns the block into unnormalised probabilities in place, and leaves in
    /// <paramref name="alpha"/> the factor that rescales the query's earlier partial output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OnlineSoftmax(float* s, int queries, int nk, float* max, float* sum, float* alpha)
    {
        int w = Vector<float>.Count;
        for (int t = 0; t < queries; t += w)
        {
            float* column = s + t;
            var blockMax = new Vector<float>(float.NegativeInfinity);
            for (int j = 0; j < nk; j++) blockMax = Vector.Max(blockMax, Vector.Load(column + (nint)j * queries));
            var oldMax = Vector.Load(max + t);
            var newMax = Vector.Max(oldMax, blockMax);
            var blockSum = Vector<float>.Zero;
            for (int j = 0; j < nk; j++)
            {
                float* p = column + (nint)j * queries;
                var e = VectorMath.Exp2(Vector.Load(p) - newMax);
                Vector.Store(e, p);
                blockSum += e;
            }
            var a = VectorMath.Exp2(oldMax - newMax);
            Vector.Store(a, alpha + t);
            Vector.Store(Vector.Load(sum + t) * a + blockSum, sum + t);
            Vector.Store(newMax, max + t);
        }
    }

    /// <summary><see cref="OnlineSoftmax"/> on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OnlineSoftmax512(float* s, int queries, int nk, float* max, float* sum, float* alpha)
    {
        for (int t = 0; t < queries; t += Vector512<float>.Count)
        {
            float* column = s + t;
            var blockMax = Vector512.Create(float.NegativeInfinity);
            for (int j = 0; j < nk; j++) blockMax = VectorMath512.Max(blockMax, Vector512.Load(column + (nint)j * queries));
            var oldMax = Vector512.Load(max + t);
            var newMax = VectorMath512.Max(oldMax, blockMax);
            var blockSum = Vector512<float>.Zero;
            for (int j = 0; j < nk; j++)
            {
                float* p = column + (nint)j * queries;
                var e = VectorMath512.Exp2(Vector512.Load(p) - newMax);
                Vector512.Store(e, p);
                blockSum += e;
            }
            var a = VectorMath512.Exp2(oldMax - newMax);
            Vector512.Store(a, alpha + t);
            Vector512.Store(Vector512.Load(sum + t) * a + blockSum, sum + t);
            Vector512.Store(newMax, max + t);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RescaleRows(float* o, int ld, int rows, float* alpha)
    {
        for (int t = 0; t < rows; t++)
        {
            if (alpha[t] == 1f) continue;
            var a = new Vector<float>(alpha[t]);
            float* row = o + (nint)t * ld;
            for (int e = 0; e < ld; e += Vector<float>.Count) Vector.Store(Vector.Load(row + e) * a, row + e);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scale(float* p, int count, float factor)
    {
        int i = 0, w = Vector<float>.Count;
        var f = new Vector<float>(factor);
        for (; i <= count - w; i += w) Vector.Store(Vector.Load(p + i) * f, p + i);
        for (; i < count; i++) p[i] *= factor;
    }

    private static int Align(int floats) => GemmBlocking.RoundUp(floats, 16);

    private static int Lcm(int a, int b)
    {
        int x = a, y = b;
        while (y != 0) (x, y) = (y, x % y);
        return a / x * b;
    }
}
