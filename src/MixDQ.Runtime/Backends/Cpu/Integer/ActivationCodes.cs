using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Activation codes on the fly, exactly as <see cref="ActivationQuantParams.Quantize(float)"/>: clamp(round-half-even(x / s)
/// + z, 0, 2^b − 1), with the division (not a reciprocal multiply) so the vector and scalar paths agree bit for bit,
/// NaN (the zero point) included.
/// </summary>
internal static unsafe class ActivationCodes
{
    /// <summary>Codes of x[0..n) into dst; returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Quantize(float* x, byte* dst, int n, in ActivationQuantParams q, bool simd)
    {
        float scale = q.Scale;
        int zp = q.ZeroPoint, max = IntegerFormat.MaxCode(q.Bits), sum = 0, i = 0;
        if (simd && Avx2.IsSupported)
        {
            // Clamping |x/s| to 2^16 before the conversion keeps it in int range and changes no code.
            var vs = Vector256.Create(scale);
            var lo = Vector256.Create(-65536f);
            var hi = Vector256.Create(65536f);
            var vz = Vector256.Create(zp);
            var vmax = Vector256.Create(max);
            var vsum = Vector256<int>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var c0 = Code(Avx.LoadVector256(x + i), vs, lo, hi, vz, vmax);
                var c1 = Code(Avx.LoadVector256(x + i + 8), vs, lo, hi, vz, vmax);
                vsum += c0 + c1;
                var words = Vector256.Narrow(c0.AsUInt32(), c1.AsUInt32());
                Vector128.Store(Vector128.Narrow(words.GetLower(), words.GetUpper()), dst + i);
            }
            sum = Vector256.Sum(vsum);
        }
        for (; i < n; i++)
        {
            int c = Math.Clamp((int)MathF.Round(x[i] / scale) + zp, 0, max);
            dst[i] = (byte)c;
            sum += c;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Code(Vector256<float> x, Vector256<float> scale, Vector256<float> lo, Vector256<float> hi,
        Vector256<int> zp, Vector256<int> max)
    {
        // NaN lanes become 0 (code = zero point), as the scalar (int) conversion of NaN gives; maxps alone would turn
        // them into the lower clamp (code 0).
        var q = Avx.Divide(x, scale);
        q = Avx.And(q, Avx.CompareOrdered(q, q));
        var v = Avx.RoundToNearestInteger(Avx.Min(Avx.Max(q, lo), hi));
        var c = Avx.ConvertToVector256Int32(v) + zp;
        return Avx2.Min(Avx2.Max(c, Vector256<int>.Zero), max);
    }
}
