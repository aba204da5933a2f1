using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>
/// W8A8 linear on unsigned 8-bit codes (<see cref="Runtime.Quantization.IntegerFormat"/>), four codes packed per int
/// (code k of a row at bits 8·(k mod 4), rows zero-padded to a multiple of 4): y[m, n] = sx·sw[n]·Σ_k (x_mk − zx)(w_nk − zw[n]) + b[n],
/// expanded as Σ x·w − zw·Σx − zx·Σw + K·zx·zw so the inner loop is a plain unsigned dot product: <c>dp4a.u32.u32</c> on
/// CUDA (sm_61+), a byte-wise portable path elsewhere (ILGPU's CPU accelerator cannot run inline PTX).
/// A group of 16×16 threads computes a 16×16 output tile over K in steps of <see cref="TileK4"/> packed ints staged in shared memory.
/// </summary>
internal static class IntegerGemmKernel
{
    public const int Tile = 16;
    public const int TileK4 = 16;

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

    public static KernelConfig Config(int m, int n) =>
        new(new Index2D((n + Tile - 1) / Tile, Math.Max(1, (m + Tile - 1) / Tile)), new Index2D(Tile, Tile));

    /// <summary>
    /// <paramref name="x"/> [M, K4] and <paramref name="w"/> [N, K4] packed codes; per output channel
    /// <paramref name="wScale"/>, <paramref name="wZero"/> and <paramref name="wSum"/> (Σ codes); one input grid (sx, zx).
    /// </summary>
    public static void W8A8Linear(
        ArrayView<int> x, ArrayView<int> w, ArrayView<float> wScale, ArrayView<int> wZero, ArrayView<int> wSum, ArrayView<float> bias,
        ArrayView<float> y, int m, SpecializedValue<int> outFeatures, SpecializedValue<int> inFeatures, float xScale, int xZero)
    {
        int n = outFeatures.Value, k = inFeatures.Value, k4 = (k + 3) / 4;
        if (m == 0) return; // the warm-up launch of Specialize
        var xs = SharedMemory.Allocate<int>(Tile * TileK4);
        var ws = SharedMemory.Allocate<int>(Tile * TileK4);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * Tile + ty, col = Grid.IdxX * Tile + tx;
        int dot = 0, xSum = 0;
        for (int q0 = 0; q0 < k4; q0 += TileK4)
        {
            // Thread (tx, ty) stages packed int q0 + tx of the tile's x row ty and of its weight row ty.
            int xRow = Grid.IdxY * Tile + ty, wRow = Grid.IdxX * Tile + ty, q = q0 + tx;
            xs[ty * TileK4 + tx] = xRow < m && q < k4 ? x[xRow * k4 + q] : 0;
            ws[ty * TileK4 + tx] = wRow < n && q < k4 ? w[wRow * k4 + q] : 0;
            Group.Barrier();
            for (int i = 0; i < TileK4; i++)
            {
                int a = xs[ty * TileK4 + i];
                dot = Dot4(a, ws[tx * TileK4 + i], dot);
                xSum = Dot4(a, 0x01010101, xSum);
            }
            Group.Barrier();
        }
        if (row >= m || col >= n) return;
        int zw = wZero[col];
        int centered = dot - zw * xSum - xZero * wSum[col] + k * xZero * zw;
        y[row * n + col] = xScale * wScale[col] * centered + bias[col];
    }

    /// <summary>Activation codes of x [M, K] packed four per int into [M, K4]: clamp(round(x / s) + z, 0, 255), ties to even.</summary>
    public static void QuantizeActivations(Index1D i, ArrayView<float> x, ArrayView<int> packed, int k, float scale, int zero)
    {
        int k4 = (k + 3) / 4, row = i / k4, q = i - row * k4;
        int word = 0;
        for (int b = 0; b < 4; b++)
        {
            int c = q * 4 + b;
            if (c >= k) break;
            int code = (int)XMath.RoundToEven(x[row * k + c] / scale) + zero;
            word |= IntrinsicMath.Min(IntrinsicMath.Max(code, 0), 255) << (8 * b);
        }
        packed[i] = word;
    }
}
