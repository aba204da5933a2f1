using ILGPU;
using ILGPU.Algorithms;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>
/// GroupNorm and LayerNorm as one kernel: one group of <see cref="GroupSize"/> threads normalizes one contiguous
/// segment (a (batch, group) block of NCHW, or one row of [.., C]) with a two-pass mean and variance (exact for large
/// means, where E[x²]−E[x]² cancels), then applies the per-channel affine and, for GroupNorm+SiLU, the activation.
/// The channel of element i of segment s is (s mod segmentsPerItem)·channelsPerSegment + i / spatial.
/// </summary>
internal static class NormKernel
{
    public const int GroupSize = 256;

    public static void Run(
        ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        int segmentLength, int segmentsPerItem, int channelsPerSegment, int spatial, float eps, int silu)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSize);
        int seg = Grid.IdxX, t = Group.IdxX;
        int start = seg * segmentLength;

        float sum = 0;
        for (int i = t; i < segmentLength; i += GroupSize) sum += x[start + i];
        float mean = GroupReduce.Sum(scratch, sum) / segmentLength;

        float sq = 0;
        for (int i = t; i < segmentLength; i += GroupSize)
        {
            float d = x[start + i] - mean;
            sq += d * d;
        }
        float rstd = XMath.Rsqrt(GroupReduce.Sum(scratch, sq) / segmentLength + eps);

        int channelBase = seg % segmentsPerItem * channelsPerSegment;
        for (int i = t; i < segmentLength; i += GroupSize)
        {
            int c = channelBase + i / spatial;
            float v = (x[start + i] - mean) * rstd * gamma[c] + beta[c];
            if (silu != 0) v = Activations.Silu(v);
            y[start + i] = v;
        }
    }
}
