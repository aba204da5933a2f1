using ILGPU.Runtime.Cuda;

namespace MixDQ.Backends.Ilgpu.Kernels;

/// <summary>Arithmetic ILGPU 1.5.3 has no intrinsic for.</summary>
internal static class DeviceMath
{
    /// <summary>
    /// a·b + c: one fma.rn.f32 on CUDA (ILGPU emits a separate mul.f32 and add.f32 otherwise, which ptxas may or may not
    /// contract), two roundings elsewhere.
    /// </summary>
    public static float Fma(float a, float b, float c)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float d, a, b, c);
            return d;
        }
        return a * b + c;
    }
}
