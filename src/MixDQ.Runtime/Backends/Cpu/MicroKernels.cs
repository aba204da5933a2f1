// The register-blocked GEMM micro-kernels. Each one keeps an Mr×Nr tile of C in vector registers
// and, per k, loads one packed row of B (Nr floats) and broadcasts Mr packed values of A, so that
// every loaded byte feeds several FMAs. The bodies are unrolled by hand (C# has no templates over
// integers) and written out in full so that the JIT keeps every accumulator in a register.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// An Mr×Nr register-blocked GEMM micro-kernel:
/// C[r, j] = (accumulate ? C[r, j] : 0) + Σ_{k &lt; kc} a[k·aStep + r] · b[k·Nr + j],
/// for 0 ≤ r &lt; Mr, 0 ≤ j &lt; Nr; C has row stride <c>ldc</c>. B is a packed panel (Nr floats per k);
/// A is a packed panel when <c>aStep</c> = Mr, or any row-major matrix read column-wise otherwise.
/// </summary>
internal unsafe interface IMicroKernel
{
    static abstract int Mr { get; }

    static abstract int Nr { get; }

    static abstract void Run(int kc, float* a, nint aStep, float* b, float* c, nint ldc, bool accumulate);
}

/// <summary>AVX-512F: 8 rows × 32 columns (16 zmm accumulators).</summary>
internal readonly unsafe struct Avx512Kernel8x32 : IMicroKernel
{
    public static int Mr => 8;

    public static int Nr => 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, nint aStep, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + 1 * ldc); c11 = Vector512.Load(c + 1 * ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 16);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += aStep;
            b += 32;
        }

        Vector512.Store(c00, c); Vector512.Store(c01, c + 16);
        Vector512.Store(c10, c + 1 * ldc); Vector512.Store(c11, c + 1 * ldc + 16);
        Vector512.Store(c20, c + 2 * ldc); Vector512.Store(c21, c + 2 * ldc + 16);
        Vector512.Store(c30, c + 3 * ldc); Vector512.Store(c31, c + 3 * ldc + 16);
        Vector512.Store(c40, c + 4 * ldc); Vector512.Store(c41, c + 4 * ldc + 16);
        Vector512.Store(c50, c + 5 * ldc); Vector512.Store(c51, c + 5 * ldc + 16);
        Vector512.Store(c60, c + 6 * ldc); Vector512.Store(c61, c + 6 * ldc + 16);
        Vector512.Store(c70, c + 7 * ldc); Vector512.Store(c71, c + 7 * ldc + 16);
    }
}

/// <summary>AVX2 + FMA3: 6 rows × 16 columns (12 ymm accumulators of the 16 registers).</summary>
internal readonly unsafe struct Avx2Kernel6x16 : IMicroKernel
{
    public static int Mr => 6;

    public static int Nr => 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, nint aStep, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + 1 * ldc); c11 = Vector256.Load(c + 1 * ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += aStep;
            b += 16;
        }

        Vector256.Store(c00, c); Vector256.Store(c01, c + 8);
        Vector256.Store(c10, c + 1 * ldc); Vector256.Store(c11, c + 1 * ldc + 8);
        Vector256.Store(c20, c + 2 * ldc); Vector256.Store(c21, c + 2 * ldc + 8);
        Vector256.Store(c30, c + 3 * ldc); Vector256.Store(c31, c + 3 * ldc + 8);
        Vector256.Store(c40, c + 4 * ldc); Vector256.Store(c41, c + 4 * ldc + 8);
        Vector256.Store(c50, c + 5 * ldc); Vector256.Store(c51, c + 5 * ldc + 8);
    }
}

/// <summary>Portable: 4 rows × 2 <see cref="Vector{T}"/> columns, multiply then add (no FMA assumed).</summary>
internal readonly unsafe struct PortableKernel4x2V : IMicroKernel
{
    private static int W => Vector<float>.Count;

    public static int Mr => 4;

    public static int Nr => 2 * W;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, nint aStep, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate)
        {
            c00 = Vector.Load(c); c01 = Vector.Load(c + W);
            c10 = Vector.Load(c + 1 * ldc); c11 = Vector.Load(c + 1 * ldc + W);
            c20 = Vector.Load(c + 2 * ldc); c21 = Vector.Load(c + 2 * ldc + W);
            c30 = Vector.Load(c + 3 * ldc); c31 = Vector.Load(c + 3 * ldc + W);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector.Load(b); var b1 = Vector.Load(b + W);
            var a0 = new Vector<float>(a[0]); c00 = a0 * b0 + c00; c01 = a0 * b1 + c01;
            var a1 = new Vector<float>(a[1]); c10 = a1 * b0 + c10; c11 = a1 * b1 + c11;
            var a2 = new Vector<float>(a[2]); c20 = a2 * b0 + c20; c21 = a2 * b1 + c21;
            var a3 = new Vector<float>(a[3]); c30 = a3 * b0 + c30; c31 = a3 * b1 + c31;
            a += aStep;
            b += 2 * W;
        }

        Vector.Store(c00, c); Vector.Store(c01, c + W);
        Vector.Store(c10, c + 1 * ldc); Vector.Store(c11, c + 1 * ldc + W);
        Vector.Store(c20, c + 2 * ldc); Vector.Store(c21, c + 2 * ldc + W);
        Vector.Store(c30, c + 3 * ldc); Vector.Store(c31, c + 3 * ldc + W);
    }
}
