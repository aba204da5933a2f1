using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// 512-bit twins of <see cref="VectorMath"/> functions for the hot loops that run only on the
/// AVX-512 path (<see cref="System.Numerics.Vector{T}"/> stays 256 bits wide on AVX-512 machines by
/// default, which would halve their throughput). Raw AVX-512F instructions are used on purpose: the
/// IEEE-exact <c>Vector512.Max</c> and saturating conversions cost two extra fix-up instructions each.
/// </summary>
internal static class VectorMath512
{
    /// <summary>2^x, same polynomial and clamping as <see cref="VectorMath.Exp2"/>; callers guarantee Avx512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        var underflow = Avx512F.CompareLessThan(x, Vector512.Create(VectorMath.Exp2Lowest));
        x = Avx512F.Min(Avx512F.Max(x, Vector512.Create(VectorMath.Exp2Lowest)), Vector512.Create(VectorMath.Exp2Highest));
        var ni = Avx512F.ConvertToVector512Int32(x); // rounds to nearest (the default MXCSR mode)
        var r = (x - Avx512F.ConvertToVector512Single(ni)) * Vector512.Create(VectorMath.Ln2);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Avx512F.ShiftLeftLogical(ni + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, p * scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Avx512F.Max(a, b);
}
