using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>Four ints held in registers.</summary>
internal struct Int4
{
    public int X, Y, Z, W;
}

/// <summary>The input quantizers of an integer layer: one grid per channel run (a split [h, skip] input has two).</summary>
public struct InputGrids
{
    public float Scale0;
    public int Zero0;
    public float Scale1;
    public int Zero1;

    /// <summary>Input channels of run 0 (all of them when there is one run).</summary>
    public int FirstRunChannels;
}

/// <summary>How the integer GEMM multiplies its tiles: a type, so the choice is made at compile time per accelerator.</summary>
public interface IIntegerTilePath
{
    /// <summary>True: <c>mma.sync</c> INT8 tensor-core tiles (sm_80+); false: <c>dp4a</c> per thread.</summary>
    bool TensorCores { get; }
}

/// <summary>dp4a (sm_61+) on CUDA, the byte-wise portable dot product elsewhere.</summary>
public readonly struct Dp4aPath : IIntegerTilePath
{
    public bool TensorCores => false;
}

/// <summary>
/// mma.sync.m16n8k32 u8·u8→s32 tiles on CUDA sm_80+ (the host picks this path only there); on other accelerators the same
/// fragments multiplied through warp shuffles (tests, on a CPU accelerator with 32-lane warps).
/// </summary>
public readonly struct TensorCorePath : IIntegerTilePath
{
    public bool TensorCores => true;
}

/// <summary>
/// Integer linear and conv2d (linear = 1×1 convolution of 1×1 images) as one implicit GEMM on unsigned codes
/// (<see cref="Runtime.Quantization.IntegerFormat"/>): y[m, n] = b[n] + Σ_runs sx·sw[n]·Σ_{k∈run} (x_mk − zx)(w_nk − zw[n]),
/// expanded per run as Σx·w − zw·Σx − zx·Σw + len·zx·zw so the inner loop is a plain unsigned dot product.
/// Weights are read from the stored packed rows at their width (<see cref="ICodeWidth"/>: 8, 4 or 2 bits), unpacked
/// to four u8 codes per int only while a tile is staged in shared memory; activation codes (one byte each, A8 or A4)
/// come from <see cref="QuantizeInput"/>, gathered im2col-style while staging (padding taps hold the run's zero point,
/// i.e. the value 0). A group of 16×16 threads computes a 64×64 output tile over K in steps of 32 codes; each thread
/// keeps 16 INT32 sums (dp4a: a 4×4 register block; tensor cores: four m16n8 fragments of its warp's 16×32 slice).
/// Shapes are <see cref="SpecializedValue{T}"/>s (one compiled kernel per layer shape); the batch stays dynamic.
/// </summary>
internal static class IntegerGemmKernel
{
    public const int TileM = 64;
    public const int TileN = 64;
    public const int TileK4 = 8; // packed ints per tile row: 32 codes, one m16n8k32 step
    public const int GroupX = 16;
    public const int GroupY = 16;
    private const int Threads = GroupX * GroupY;
    private const int Ones = 0x01010101;

    /// <summary>Deepest run whose uncentered sums Σ x·w (≤ len·255·255) stay in INT32.</summary>
    public const int MaxRunDepth = int.MaxValue / (255 * 255);

    public static KernelConfig Config(int m, int n) =>
        new(new Index2D((n + TileN - 1) / TileN, Math.Max(1, (m + TileM - 1) / TileM)), new Index2D(GroupX, GroupY));

    /// <summary>acc + Σ of the four unsigned byte products of <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static int Dot4(int a, int b, int acc)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("dp4a.u32.u32 %0, %1, %2, %3;", out int d, a, b, acc);
            return d;
        }
        return acc + (a & 0xFF) * (b & 0xFF) + ((a >> 8) & 0xFF) * ((b >> 8) & 0xFF)
            + ((a >> 16) & 0xFF) * ((b >> 16) & 0xFF) + ((a >> 24) & 0xFF) * ((b >> 24) & 0xFF);
    }

    /// <summary>
    /// d += A·B on one m16n8k32 tile (u8 codes, s32 sums) of the warp. Fragments as the PTX ISA lays them out for .u8
    /// m16n8k32: a0/a2 row g, a1/a3 row g+8, k 4t..4t+3 (a0, a1) and 16+4t.. (a2, a3); b0/b1 column g, k 4t.. and 16+4t..;
    /// d0/d1 row g, d2/d3 row g+8, columns 2t, 2t+1 (g = lane/4, t = lane mod 4). On CUDA (a device the host checked for
    /// sm_80) one <c>mma.sync</c>; elsewhere the same fragment algebra with warp shuffles (needs 32-lane warps), so the
    /// tiling, fragment loads and output mapping of this path run in tests on ILGPU's CPU accelerator.
    /// </summary>
    private static Int4 Mma(Int4 d, int a0, int a1, int a2, int a3, int b0, int b1)
    {
        if (!CudaAsm.IsSupported) return MmaByShuffles(d, a0, a1, a2, a3, b0, b1);
        Ref<int> d0 = d.X, d1 = d.Y, d2 = d.Z, d3 = d.W;
        Input<int> ia0 = a0, ia1 = a1, ia2 = a2, ia3 = a3, ib0 = b0, ib1 = b1;
        CudaAsm.EmitRef("mma.sync.aligned.m16n8k32.row.col.s32.u8.u8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1);
        Int4 r;
        r.X = d0.Value;
        r.Y = d1.Value;
        r.Z = d2.Value;
        r.W = d3.Value;
        return r;
    }

    /// <summary>The m16n8k32 product of <see cref="Mma"/> from the fragments of the other lanes (every lane of the warp must call it).</summary>
    private static Int4 MmaByShuffles(Int4 d, int a0, int a1, int a2, int a3, int b0, int b1)
    {
        int lane = Warp.LaneIdx, g = lane / 4, tq = lane % 4;
        for (int src = 0; src < 4; src++)
        {
            // Row g (and g+8) of A lives in lanes 4g..4g+3; column c of B in lanes 4c..4c+3; lane 4x+src holds k 4src.. and 16+4src..
            int rowLane = 4 * g + src, col0Lane = 4 * (2 * tq) + src, col1Lane = 4 * (2 * tq + 1) + src;
            int ra0 = Warp.Shuffle(a0, rowLane), ra1 = Warp.Shuffle(a1, rowLane), ra2 = Warp.Shuffle(a2, rowLane), ra3 = Warp.Shuffle(a3, rowLane);
            int b00 = Warp.Shuffle(b0, col0Lane), b10 = Warp.Shuffle(b1, col0Lane), b01 = Warp.Shuffle(b0, col1Lane), b11 = Warp.Shuffle(b1, col1Lane);
            d.X = Dot4(ra0, b00, Dot4(ra2, b10, d.X));
            d.Y = Dot4(ra0, b01, Dot4(ra2, b11, d.Y));
            d.Z = Dot4(ra1, b00, Dot4(ra3, b10, d.Z));
            d.W = Dot4(ra1, b01, Dot4(ra3, b11, d.W));
        }
        return d;
    }

    public static void Run<TWidth, TPath>(
        ArrayView<byte> xCodes, ArrayView<byte> w, ArrayView<int> channelInts, ArrayView<float> channelFloats, ArrayView<float> y,
        InputGrids grids, int batch,
        SpecializedValue<int> inChannels, SpecializedValue<int> height, SpecializedValue<int> width, SpecializedValue<int> kernelSize,
        SpecializedValue<int> stride, SpecializedValue<int> padding, SpecializedValue<int> outChannels)
        where TWidth : struct, ICodeWidth
        where TPath : struct, IIntegerTilePath
    {
        int cin = inChannels.Value, h = height.Value, wd = width.Value, ks = kernelSize.Value, s = stride.Value, p = padding.Value, n = outChannels.Value;
        int oh = (h + 2 * p - ks) / s + 1, ow = (wd + 2 * p - ks) / s + 1;
        int kk = ks * ks, k = cin * kk, ohw = oh * ow, m = batch * ohw;
        if (m == 0) return; // the warm-up launch of Specialize (uniform over the grid, so no barrier is split)
        long rowBytes = PackedCodes.RowBytes<TWidth>(k);
        // A linear layer's rows are K apart: its threads walk k (coalesced loads) and store along n (coalesced [M, N] rows).
        bool linear = kk == 1 && h == 1 && wd == 1;
        bool mma = default(TPath).TensorCores;

        var aTile = SharedMemory.Allocate<int>(TileK4 * TileM); // [q][m]: codes 4q..4q+3 of row m
        var bTile = SharedMemory.Allocate<int>(TileK4 * TileN); // [q][n]

        int tx = Group.IdxX, ty = Group.IdxY, t = ty * GroupX + tx;
        int m0 = Grid.IdxY * TileM, n0 = Grid.IdxX * TileN;
        Float4 f0 = default, f1 = default, f2 = default, f3 = default; // slot (j, c) of the thread's 16 outputs, see Row/Col

        int runs = grids.FirstRunChannels < cin ? 2 : 1;
        for (int run = 0; run < runs; run++)
        {
            int kStart = run == 0 ? 0 : grids.FirstRunChannels * kk, kEnd = run == 0 ? grids.FirstRunChannels * kk : k;
            int zx = run == 0 ? grids.Zero0 : grids.Zero1;
            float sx = run == 0 ? grids.Scale0 : grids.Scale1;
            Int4 d0 = default, d1 = default, d2 = default, d3 = default, rowSums = default;
            for (int k0 = kStart; k0 < kEnd; k0 += 4 * TileK4)
            {
                for (int e = t; e < TileK4 * TileM; e += Threads)
                {
                    int mi = linear ? e / TileK4 : e % TileM, qi = linear ? e % TileK4 : e / TileM;
                    aTile[qi * TileM + mi] = ActivationQuad(xCodes, m0 + mi, k0 + 4 * qi, kEnd, m, zx, cin, h, wd, ks, s, p, ow, ohw);
                }
                for (int e = t; e < TileK4 * TileN; e += Threads)
                {
                    int qi = e % TileK4, ni = e / TileK4, gn = n0 + ni;
                    bTile[qi * TileN + ni] = gn < n ? PackedCodes.Quad<TWidth>(w, gn * rowBytes, k0 + 4 * qi, kEnd) : 0;
                }
                Group.Barrier();
                if (mma)
                {
                    int warp = t / 32, lane = t % 32, g = lane / 4, tq = lane % 4;
                    int rowA = (warp % 4) * 16 + g, colB = (warp / 4) * 32 + g;
                    int a0 = aTile[tq * TileM + rowA], a1 = aTile[tq * TileM + rowA + 8];
                    int a2 = aTile[(tq + 4) * TileM + rowA], a3 = aTile[(tq + 4) * TileM + rowA + 8];
                    d0 = Mma(d0, a0, a1, a2, a3, bTile[tq * TileN + colB], bTile[(tq + 4) * TileN + colB]);
                    d1 = Mma(d1, a0, a1, a2, a3, bTile[tq * TileN + colB + 8], bTile[(tq + 4) * TileN + colB + 8]);
                    d2 = Mma(d2, a0, a1, a2, a3, bTile[tq * TileN + colB + 16], bTile[(tq + 4) * TileN + colB + 16]);
                    d3 = Mma(d3, a0, a1, a2, a3, bTile[tq * TileN + colB + 24], bTile[(tq + 4) * TileN + colB + 24]);
                    for (int qi = 0; qi < TileK4; qi++)
                    {
                        rowSums.X = Dot4(aTile[qi * TileM + rowA], Ones, rowSums.X);
                        rowSums.Y = Dot4(aTile[qi * TileM + rowA + 8], Ones, rowSums.Y);
                    }
                }
                else
                {
                    int rt = linear ? ty : tx, ct = linear ? tx : ty;
                    for (int qi = 0; qi < TileK4; qi++)
                    {
                        int ao = qi * TileM + rt, bo = qi * TileN + ct;
                        int a0 = aTile[ao], a1 = aTile[ao + 16], a2 = aTile[ao + 32], a3 = aTile[ao + 48];
                        d0 = Dot4x4(d0, a0, a1, a2, a3, bTile[bo]);
                        d1 = Dot4x4(d1, a0, a1, a2, a3, bTile[bo + 16]);
                        d2 = Dot4x4(d2, a0, a1, a2, a3, bTile[bo + 32]);
                        d3 = Dot4x4(d3, a0, a1, a2, a3, bTile[bo + 48]);
                        rowSums = Dot4x4(rowSums, a0, a1, a2, a3, Ones);
                    }
                }
                Group.Barrier();
            }
            int len = kEnd - kStart;
            f0 = Fold(f0, d0, rowSums, 0, run, len, sx, zx, n0, n, channelInts, channelFloats, mma, linear, t);
            f1 = Fold(f1, d1, rowSums, 1, run, len, sx, zx, n0, n, channelInts, channelFloats, mma, linear, t);
            f2 = Fold(f2, d2, rowSums, 2, run, len, sx, zx, n0, n, channelInts, channelFloats, mma, linear, t);
            f3 = Fold(f3, d3, rowSums, 3, run, len, sx, zx, n0, n, channelInts, channelFloats, mma, linear, t);
        }

        Store(y, f0, 0, m0, n0, m, n, ohw, channelFloats, mma, linear, t);
        Store(y, f1, 1, m0, n0, m, n, ohw, channelFloats, mma, linear, t);
        Store(y, f2, 2, m0, n0, m, n, ohw, channelFloats, mma, linear, t);
        Store(y, f3, 3, m0, n0, m, n, ohw, channelFloats, mma, linear, t);
    }

    /// <summary>d.X..W += a0..a3 · b (four rows against one column).</summary>
    private static Int4 Dot4x4(Int4 d, int a0, int a1, int a2, int a3, int b)
    {
        d.X = Dot4(a0, b, d.X);
        d.Y = Dot4(a1, b, d.Y);
        d.Z = Dot4(a2, b, d.Z);
        d.W = Dot4(a3, b, d.W);
        return d;
    }

    /// <summary>Codes k..k+3 of output pixel <paramref name="gm"/>'s im2col row: padding taps hold <paramref name="zero"/>, k ≥ end and rows ≥ m hold 0.</summary>
    private static int ActivationQuad(ArrayView<byte> x, int gm, int k, int end, int m, int zero, int cin, int h, int wd, int ks, int s, int p, int ow, int ohw)
    {
        if (gm >= m) return 0;
        int b = gm / ohw, pix = gm - b * ohw, oy = pix / ow, ox = pix - oy * ow, kk = ks * ks;
        int word = 0;
        for (int j = 0; j < 4; j++)
        {
            int gk = k + j;
            if (gk >= end) break;
            int ci = gk / kk, r = gk - ci * kk, ky = r / ks, kx = r - ky * ks;
            int iy = oy * s - p + ky, ix = ox * s - p + kx;
            int code = iy >= 0 && iy < h && ix >= 0 && ix < wd ? x[((b * cin + ci) * h + iy) * wd + ix] : zero;
            word |= code << (8 * j);
        }
        return word;
    }

    /// <summary>Tile row of the thread's output slot (j, c).</summary>
    private static int Row(int j, int c, bool mma, bool linear, int t)
    {
        if (mma) return (t / 32 % 4) * 16 + t % 32 / 4 + 8 * (c / 2);
        return (linear ? t / GroupX : t % GroupX) + 16 * c;
    }

    /// <summary>Tile column of the thread's output slot (j, c).</summary>
    private static int Col(int j, int c, bool mma, bool linear, int t)
    {
        if (mma) return (t / 32 / 4) * 32 + 8 * j + 2 * (t % 4) + c % 2;
        return (linear ? t % GroupX : t / GroupX) + 16 * j;
    }

    private static int Component(Int4 v, int c) => c == 0 ? v.X : c == 1 ? v.Y : c == 2 ? v.Z : v.W;

    private static float Component(Float4 v, int c) => c == 0 ? v.X : c == 1 ? v.Y : c == 2 ? v.Z : v.W;

    /// <summary>The Σx of slot c's row: dp4a keeps one per row slot, a tensor-core thread one for row g (X) and g+8 (Y).</summary>
    private static int RowSum(Int4 rowSums, int c, bool mma) => mma ? (c < 2 ? rowSums.X : rowSums.Y) : Component(rowSums, c);

    /// <summary>f += sx·sw[n]·(Σx·w − zw·Σx − zx·Σw + len·zx·zw) for the four slots of column block <paramref name="j"/>.</summary>
    private static Float4 Fold(Float4 f, Int4 d, Int4 rowSums, int j, int run, int len, float sx, int zx, int n0, int n,
        ArrayView<int> channelInts, ArrayView<float> channelFloats, bool mma, bool linear, int t)
    {
        f.X += Term(Component(d, 0), RowSum(rowSums, 0, mma), n0 + Col(j, 0, mma, linear, t), run, len, sx, zx, n, channelInts, channelFloats);
        f.Y += Term(Component(d, 1), RowSum(rowSums, 1, mma), n0 + Col(j, 1, mma, linear, t), run, len, sx, zx, n, channelInts, channelFloats);
        f.Z += Term(Component(d, 2), RowSum(rowSums, 2, mma), n0 + Col(j, 2, mma, linear, t), run, len, sx, zx, n, channelInts, channelFloats);
        f.W += Term(Component(d, 3), RowSum(rowSums, 3, mma), n0 + Col(j, 3, mma, linear, t), run, len, sx, zx, n, channelInts, channelFloats);
        return f;
    }

    /// <summary>channelInts = [zw; Σw of run 0; Σw of run 1] and channelFloats = [sw; bias], each n long.</summary>
    private static float Term(int dot, int rowSum, int gn, int run, int len, float sx, int zx, int n, ArrayView<int> channelInts, ArrayView<float> channelFloats)
    {
        if (gn >= n) return 0f;
        int zw = channelInts[gn], wSum = channelInts[(1 + run) * n + gn];
        int centered = dot - zw * rowSum - zx * wSum + len * zx * zw;
        return sx * channelFloats[gn] * centered;
    }

    private static void Store(ArrayView<float> y, Float4 f, int j, int m0, int n0, int m, int n, int ohw, ArrayView<float> channelFloats,
        bool mma, bool linear, int t)
    {
        for (int c = 0; c < 4; c++)
        {
            int gm = m0 + Row(j, c, mma, linear, t), gn = n0 + Col(j, c, mma, linear, t);
            if (gm >= m || gn >= n) continue;
            int b = gm / ohw, pix = gm - b * ohw;
            y[(b * n + gn) * ohw + pix] = Component(f, c) + channelFloats[n + gn];
        }
    }

    /// <summary>
    /// One activation code per element of x [B, C, spatial]: clamp(round-half-even(x / s) + z, 0, 2^bits − 1) with the grid
    /// of the element's channel run, as <see cref="Runtime.Quantization.ActivationQuantParams.Quantize(float)"/>.
    /// </summary>
    public static void QuantizeInput(Index1D i, ArrayView<float> x, ArrayView<byte> codes, int spatial, int channels, InputGrids grids, int maxCode)
    {
        int c = i / spatial % channels;
        bool first = c < grids.FirstRunChannels;
        float scale = first ? grids.Scale0 : grids.Scale1;
        int zero = first ? grids.Zero0 : grids.Zero1;
        // |x/s| clamped to 2^16 before the conversion keeps it in int range and changes no code (as the CPU backend).
        float v = IntrinsicMath.Clamp(x[i] / scale, -65536f, 65536f);
        int code = (int)XMath.RoundToEven(v) + zero;
        codes[i] = (byte)IntrinsicMath.Clamp(code, 0, maxCode);
    }
}
