using ILGPU;
using ILGPU.Algorithms;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>
/// Memory-efficient multi-head attention (online softmax, as FlashAttention): one group of <see cref="GroupSize"/>
/// threads per (query row, head, batch) walks the keys in tiles of <see cref="GroupSize"/>. Each thread scores one key
/// of the tile, the group agrees on the running max and sum, and each thread accumulates the output dims
/// d = t + 64·r (r &lt; 4, so head dims up to 256) with the rescaling of the online softmax. Scores live in shared
/// memory only for the current tile: no L×L matrix is ever written. Causal rows stop at their own position.
/// Not yet tiled over queries (each row re-reads K and V from global memory / L2): the GPU-speed version is next.
/// </summary>
internal static class AttentionKernel
{
    public const int GroupSize = 64;
    public const int MaxHeadDim = 4 * GroupSize;

    public static void Run(
        ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> o,
        int lq, int lk, int heads, int headDim, float scale, int causal)
    {
        var qRow = SharedMemory.Allocate<float>(MaxHeadDim);
        var probs = SharedMemory.Allocate<float>(GroupSize);
        var scratch = SharedMemory.Allocate<float>(GroupSize);

        int i = Grid.IdxX, h = Grid.IdxY, b = Grid.IdxZ, t = Group.IdxX;
        int width = heads * headDim;
        int qBase = (b * lq + i) * width + h * headDim;
        for (int d = t; d < headDim; d += GroupSize) qRow[d] = q[qBase + d] * scale;
        Group.Barrier();

        int keys = causal != 0 ? XMath.Min(lk, i + 1) : lk;
        float runningMax = float.NegativeInfinity, runningSum = 0;
        float acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        for (int j0 = 0; j0 < keys; j0 += GroupSize)
        {
            int j = j0 + t;
            float score = float.NegativeInfinity;
            if (j < keys)
            {
                int kBase = (b * lk + j) * width + h * headDim;
                score = 0;
                for (int d = 0; d < headDim; d++) score = DeviceMath.Fma(qRow[d], k[kBase + d], score);
            }
            float tileMax = GroupReduce.Max(scratch, score);
            float newMax = XMath.Max(runningMax, tileMax);
            float p = j < keys ? XMath.Exp(score - newMax) : 0f;
            float correction = XMath.Exp(runningMax - newMax);
            runningSum = runningSum * correction + GroupReduce.Sum(scratch, p);
            runningMax = newMax;
            probs[t] = p;
            Group.Barrier();

            int tileKeys = XMath.Min(GroupSize, keys - j0);
            acc0 *= correction;
            acc1 *= correction;
            acc2 *= correction;
            acc3 *= correction;
            for (int u = 0; u < tileKeys; u++)
            {
                float pu = probs[u];
                int vBase = (b * lk + j0 + u) * width + h * headDim + t;
                if (t < headDim) acc0 = DeviceMath.Fma(pu, v[vBase], acc0);
                if (t + GroupSize < headDim) acc1 = DeviceMath.Fma(pu, v[vBase + GroupSize], acc1);
                if (t + 2 * GroupSize < headDim) acc2 = DeviceMath.Fma(pu, v[vBase + 2 * GroupSize], acc2);
                if (t + 3 * GroupSize < headDim) acc3 = DeviceMath.Fma(pu, v[vBase + 3 * GroupSize], acc3);
            }
            Group.Barrier(); // probs is rewritten by the next tile
        }

        float inv = 1f / runningSum;
        int oBase = (b * lq + i) * width + h * headDim + t;
        if (t < headDim) o[oBase] = acc0 * inv;
        if (t + GroupSize < headDim) o[oBase + GroupSize] = acc1 * inv;
        if (t + 2 * GroupSize < headDim) o[oBase + 2 * GroupSize] = acc2 * inv;
        if (t + 3 * GroupSize < headDim) o[oBase + 3 * GroupSize] = acc3 * inv;
    }
}
