using ILGPU;
using ILGPU.Algorithms;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>
/// Sum and max of one value per thread across an explicitly grouped kernel's group, through a shared-memory tree
/// (plain barriers, so it runs the same on CUDA and on the CPU accelerator whatever its warp size). The group size must
/// be the power of two the scratch was allocated for; every thread gets the result.
/// </summary>
internal static class GroupReduce
{
    public static float Sum(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX, size = Group.DimX;
        scratch[t] = value;
        Group.Barrier();
        for (int half = size / 2; half > 0; half /= 2)
        {
            if (t < half) scratch[t] += scratch[t + half];
            Group.Barrier();
        }
        float result = scratch[0];
        Group.Barrier(); // the scratch is reused by the next reduction
        return result;
    }

    public static float Max(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX, size = Group.DimX;
        scratch[t] = value;
        Group.Barrier();
        for (int half = size / 2; half > 0; half /= 2)
        {
            if (t < half) scratch[t] = XMath.Max(scratch[t], scratch[t + half]);
            Group.Barrier();
        }
        float result = scratch[0];
        Group.Barrier();
        return result;
    }
}
