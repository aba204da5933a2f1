using System.Numerics;
using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Transcendental functions on <see cref="Vector{T}"/> lanes, written with portable vector operations
/// only (so they run the same everywhere), accurate to a few float ulps.
/// </summary>
internal static class VectorMath
{
    private const float ExpLowest = -87.33654f; // below this e^x is subnormal: return 0
    private const float ExpHighest = 88.0f;      // e^88 ≈ 1.65e38 stays finite
    public const float Log2E = 1.44269504088896341f;
    public const float Ln2 = 0.693147180559945309f;
    public const float Exp2Lowest = -126f;  // below this 2^x is subnormal: return 0
    public const float Exp2Highest = 127f;
    private const float Ln2Hi = 0.693359375f;       // 9 significant bits: n·Ln2Hi is exact
    private const float Ln2Lo = -2.12194440e-4f;    // ln 2 − Ln2Hi

    /// <summary>
    /// e^x: Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, Cephes' degree-6 polynomial for e^r
    /// (relative error ≈ 1e-7), and 2^n built in the exponent bits. Returns exactly 0 for
    /// x &lt; −87.3 (so −∞ gives 0, as softmax masking needs) and saturates at e^88.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var underflow = Vector.LessThan(x, new Vector<float>(ExpLowest));
        x = Vector.Min(Vector.Max(x, new Vector<float>(ExpLowest)), new Vector<float>(ExpHighest));
        var n = Vector.Round(x * new Vector<float>(Log2E));
        var r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2Hi), x);
        return Vector.ConditionalSelect(underflow, Vector<float>.Zero, ExpReduced(n, r, new Vector<float>(Ln2Lo)));
    }

    /// <summary>
    /// 2^x: x = n + f with n = round(x) and |f| ≤ ½ (exact), then e^(f·ln2) by the polynomial of
    /// <see cref="Exp"/>. Returns exactly 0 for x &lt; −126 (so −∞ gives 0) and saturates at 2^127.
    /// Softmax uses it on log2-scaled scores, which saves the Cody–Waite step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp2(Vector<float> x)
    {
        var underflow = Vector.LessThan(x, new Vector<float>(Exp2Lowest));
        x = Vector.Min(Vector.Max(x, new Vector<float>(Exp2Lowest)), new Vector<float>(Exp2Highest));
        var n = Vector.Round(x);
        var r = (x - n) * new Vector<float>(Ln2);
        return Vector.ConditionalSelect(underflow, Vector<float>.Zero, ExpReduced(n, r, Vector<float>.Zero));
    }

    /// <summary>
    /// e^(hi + lo) for hi + lo ≤ 0, with lo a correction far below hi's ulp (as from an exact
    /// product split): hi − n·ln2_hi is exact (n·ln2_hi has at most 16 bits and is close to hi), so
    /// lo is not lost to rounding when hi is large, as it would be in e^(float)(hi + lo).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpSplit(Vector<float> hi, Vector<float> lo)
    {
        var a = hi + lo;
        var underflow = Vector.LessThan(a, new Vector<float>(ExpLowest));
        var n = Vector.Round(Vector.Max(a, new Vector<float>(ExpLowest)) * new Vector<float>(Log2E));
        var r = Vector.MultiplyAddEstimate(n, new Vector<float>(-Ln2Hi), hi) + lo;
        return Vector.ConditionalSelect(underflow, Vector<float>.Zero, ExpReduced(n, r, new Vector<float>(Ln2Lo)));
    }

    /// <summary>2^n·e^(r − n·ln2Lo) for |r| ≲ ln2/2: Cephes' degree-6 polynomial, 2^n built in the exponent bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpReduced(Vector<float> n, Vector<float> r, Vector<float> ln2Lo)
    {
        r = Vector.MultiplyAddEstimate(n, -ln2Lo, r);
        var p = new Vector<float>(1.9875691500e-4f);
        p = Vector.MultiplyAddEstimate(p, r, new Vector<float>(1.3981999507e-3f));
        p = Vector.MultiplyAddEstimate(p, r, new Vector<float>(8.3334519073e-3f));
        p = Vector.MultiplyAddEstimate(p, r, new Vector<float>(4.1665795894e-2f));
        p = Vector.MultiplyAddEstimate(p, r, new Vector<float>(1.6666665459e-1f));
        p = Vector.MultiplyAddEstimate(p, r, new Vector<float>(5.0000001201e-1f));
        p = Vector.MultiplyAddEstimate(p, r * r, r) + Vector<float>.One;
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23));
        return p * scale;
    }

    /// <summary>x·σ(x) = x / (1 + e^−x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Silu(Vector<float> x) => x / (Vector<float>.One + Exp(-x));

    /// <summary>x·σ(1.702·x), CLIP's quick GELU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> QuickGelu(Vector<float> x) => x / (Vector<float>.One + Exp(x * new Vector<float>(-1.702f)));

    /// <summary>tanh: Cephes' odd minimax polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Tanh(Vector<float> x)
    {
        var ax = Vector.Abs(x);
        var z = x * x;
        var p = new Vector<float>(-5.70498872745e-3f);
        p = Vector.MultiplyAddEstimate(p, z, new Vector<float>(2.06390887954e-2f));
        p = Vector.MultiplyAddEstimate(p, z, new Vector<float>(-5.37397155531e-2f));
        p = Vector.MultiplyAddEstimate(p, z, new Vector<float>(1.33314422036e-1f));
        p = Vector.MultiplyAddEstimate(p, z, new Vector<float>(-3.33332819422e-1f));
        var small = Vector.MultiplyAddEstimate(x * z, p, x);
        var large = Vector<float>.One - new Vector<float>(2f) / (Exp(ax + ax) + Vector<float>.One);
        return Vector.ConditionalSelect(Vector.LessThan(ax, new Vector<float>(0.625f)), small, Vector.CopySign(large, x));
    }

    /// <summary>erf(x): relative error below 1e-6 over the whole line (see <see cref="ErfcPositive"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Erf(Vector<float> x)
    {
        var z = Vector.Abs(x);
        var (squareHi, squareLo) = SquareSplit(x);
        var large = Vector.CopySign(Vector<float>.One - ErfcPositive(z, squareHi, squareLo), x);
        return Vector.ConditionalSelect(Vector.LessThan(z, new Vector<float>(0.5f)), ErfSeries(x), large);
    }

    /// <summary>
    /// Exact GELU x·Φ(x), Φ(x) = ½·erfc(−x/√2). Φ is taken from erfc directly on the negative side,
    /// so the tiny values there keep their relative accuracy (no 1 + erf cancellation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Gelu(Vector<float> x)
    {
        var half = new Vector<float>(0.5f);
        var u = x * new Vector<float>(0.70710678118654752f);
        var z = Vector.Abs(u);
        // z² = x²/2 from the exact split of x² (halving is exact), not from the rounded u.
        var (squareHi, squareLo) = SquareSplit(x);
        var tail = half * ErfcPositive(z, squareHi * half, squareLo * half);
        var phiLarge = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One - tail, tail);
        var phiSmall = Vector.MultiplyAddEstimate(half, ErfSeries(u), half);
        return x * Vector.ConditionalSelect(Vector.LessThan(z, half), phiSmall, phiLarge);
    }

    /// <summary>erf(u) for |u| &lt; 0.5: its Maclaurin series to u^15 (truncation error &lt; 1e-10 relative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ErfSeries(Vector<float> u)
    {
        var w = u * u;
        var p = new Vector<float>(-1f / 75600);
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(1f / 9360));
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(-1f / 1320));
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(1f / 216));
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(-1f / 42));
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(1f / 10));
        p = Vector.MultiplyAddEstimate(p, w, new Vector<float>(-1f / 3));
        p = Vector.MultiplyAddEstimate(p, w, Vector<float>.One);
        return u * p * new Vector<float>(1.12837916709551257f);
    }

    /// <summary>x² = hi + lo exactly (lo from a fused multiply-add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float> Hi, Vector<float> Lo) SquareSplit(Vector<float> x)
    {
        var hi = x * x;
        return (hi, Vector.FusedMultiplyAdd(x, x, -hi));
    }

    /// <summary>
    /// erfc(z) for z ≥ 0, given z² = zzHi + zzLo: the Chebyshev fit t·exp(−z² + P(t)), t = 1/(1 + z/2),
    /// of Numerical Recipes (§6.2, fractional error &lt; 1.2e-7 everywhere). The exponent is kept in two
    /// parts because z² reaches ~100 in the tail, where one float rounding of it alone would cost
    /// 1e-5 relative.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ErfcPositive(Vector<float> z, Vector<float> zzHi, Vector<float> zzLo)
    {
        var t = Vector<float>.One / Vector.MultiplyAddEstimate(z, new Vector<float>(0.5f), Vector<float>.One);
        var p = new Vector<float>(0.17087277f);
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(-0.82215223f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(1.48851587f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(-1.13520398f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(0.27886807f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(-0.18628806f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(0.09678418f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(0.37409196f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(1.00002368f));
        p = Vector.MultiplyAddEstimate(p, t, new Vector<float>(-1.26551223f));
        return t * ExpSplit(-zzHi, p - zzLo);
    }
}
