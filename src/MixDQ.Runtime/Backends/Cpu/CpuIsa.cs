using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>The instruction set the CPU backend's GEMM micro-kernels are written for.</summary>
internal enum CpuIsa
{
    /// <summary><see cref="Vector{T}"/> arithmetic only: runs anywhere .NET runs (ARM, x86 without AVX).</summary>
    Portable,

    /// <summary>256-bit AVX2 with FMA3.</summary>
    Avx2,

    /// <summary>512-bit AVX-512F.</summary>
    Avx512,
}

internal static class CpuIsaDetector
{
    /// <summary>The widest instruction set this process can run.</summary>
    public static CpuIsa Best
    {
        get
        {
            if (Avx512F.IsSupported) return CpuIsa.Avx512;
            if (Avx2.IsSupported && Fma.IsSupported) return CpuIsa.Avx2;
            return CpuIsa.Portable;
        }
    }

    public static bool IsSupported(CpuIsa isa) => isa switch
    {
        CpuIsa.Portable => true,
        CpuIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        CpuIsa.Avx512 => Avx512F.IsSupported,
        _ => false,
    };
}
