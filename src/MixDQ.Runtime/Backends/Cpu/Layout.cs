using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>Data movement: transposes, concatenation, nearest upsampling, embedding lookup.</summary>
internal static unsafe class Layout
{
    /// <summary>Source rows per transpose task: each destination row then gets 128 contiguous bytes at a time.</summary>
    private const int Tile = 32;

    /// <summary>
    /// For each of <paramref name="batch"/> matrices, dst[c, r] = src[r, c] with src [rows, cols].
    /// Tasks take 32 source rows; with AVX, 8×8 blocks are transposed in registers, otherwise 8×8
    /// blocks go element by element. Small tiles matter: the token counts are powers of two, and a
    /// tall tile would put every destination row it touches in the same L1 set.
    /// </summary>
    public static void Transpose(CpuParallel parallel, float[] src, float[] dst, int batch, int rows, int cols, bool useAvx)
    {
        int rowTiles = (rows + Tile - 1) / Tile;
        parallel.For(batch * rowTiles, task =>
        {
            int n = task / rowTiles, r0 = task % rowTiles * Tile, r1 = Math.Min(rows, r0 + Tile);
            fixed (float* ps = src, pd = dst)
            {
                float* s = ps + (nint)n * rows * cols, d = pd + (nint)n * rows * cols;
                int c8 = cols / 8 * 8, r8 = r0 + (r1 - r0) / 8 * 8;
                for (int c = 0; c < c8; c += 8)
                    for (int r = r0; r < r8; r += 8)
                    {
                        if (useAvx) Packing.Transpose8x8(s + (nint)r * cols + c, cols, d + (nint)c * rows + r, rows);
                        else TransposeScalar(s, d, rows, cols, r, r + 8, c, c + 8);
                    }
                TransposeScalar(s, d, rows, cols, r0, r1, c8, cols);
                TransposeScalar(s, d, rows, cols, r8, r1, 0, c8);
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeScalar(float* s, float* d, int rows, int cols, int r0, int r1, int c0, int c1)
    {
        for (int r = r0; r < r1; r++)
        {
            float* srcRow = s + (nint)r * cols;
            for (int c = c0; c < c1; c++) d[(nint)c * rows + r] = srcRow[c];
        }
    }

    /// <summary>Concatenation along an axis: for each outer index, a's slab then b's slab.</summary>
    public static void Concat(CpuParallel parallel, float[] a, float[] b, int outer, int slabA, int slabB, float[] y)
    {
        int slab = slabA + slabB;
        parallel.ForRange(outer, Math.Max(1, Elementwise.MinChunk / Math.Max(1, slab)), (start, end) =>
        {
            for (long o = start; o < end; o++)
            {
                Array.Copy(a, o * slabA, y, o * slab, slabA);
                Array.Copy(b, o * slabB, y, o * slab + slabA, slabB);
            }
        });
    }

    /// <summary>
    /// PyTorch 'nearest': source index floor(dst · in / out), computed in double exactly as the
    /// reference does (a float scale would pick a different pixel for some sizes).
    /// </summary>
    public static int[] NearestSourceIndices(int inSize, int outSize)
    {
        var map = new int[outSize];
        for (int o = 0; o < outSize; o++) map[o] = Math.Min(inSize - 1, (int)Math.Floor(o * (double)inSize / outSize));
        return map;
    }

    public static void UpsampleNearest(CpuParallel parallel, float[] x, int planes, int h, int w, int outH, int outW, float[] y)
    {
        int[] rowMap = NearestSourceIndices(h, outH), colMap = NearestSourceIndices(w, outW);
        long rowsTotal = (long)planes * outH;
        parallel.ForRange(rowsTotal, Math.Max(1, Elementwise.MinChunk / Math.Max(1, outW)), (start, end) =>
        {
            fixed (float* px = x, py = y)
            fixed (int* cols = colMap)
            {
                for (long row = start; row < end; row++)
                {
                    long plane = row / outH;
                    int oy = (int)(row % outH);
                    float* src = px + (plane * h + rowMap[oy]) * w, dst = py + row * outW;
                    for (int ox = 0; ox < outW; ox++) dst[ox] = src[cols[ox]];
                }
            }
        });
    }
}
