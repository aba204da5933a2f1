using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>A source of independent standard-normal samples (initial latents, ancestral and LCM noise).</summary>
public interface INoiseSource
{
    /// <summary>Fills <paramref name="destination"/> with the next N(0, 1) samples of the stream.</summary>
    void FillStandardNormal(Span<float> destination);
}

/// <summary>
/// Seeded Gaussian noise that gives the same floats on every platform and runtime:
/// <list type="bullet">
/// <item>Philox4x32-10 (Salmon et al., SC'11; Random123's known-answer vectors hold), key = the 64-bit seed
/// (low word, high word), counter = (block index low, high, 0, 0).</item>
/// <item>Each block's four words make two doubles: u1 = (⌊(w1·2³²+w0) / 2¹¹⌋ + 1)·2⁻⁵³ ∈ (0, 1] and
/// u2 = ⌊(w3·2³²+w2) / 2¹¹⌋·2⁻⁵³ ∈ [0, 1).</item>
/// <item>Box–Muller in double: r = √(−2 ln u1); sample 2k = r·cos 2πu2, sample 2k+1 = r·sin 2πu2, each
/// rounded to float. ln, sin and cos are evaluated by <see cref="DeterministicMath"/> (only +, ×, ÷ and √,
/// which IEEE 754 rounds exactly), not by the platform's libm, whose last bit differs between systems.</item>
/// </list>
/// Sample n of a seed is the same however the stream is cut into <see cref="FillStandardNormal"/> calls.
/// Not thread-safe: one instance per generation. It does not reproduce PyTorch's <c>randn</c>.
/// </summary>
public sealed class GaussianNoise : INoiseSource
{
    private const double TwoPow53Inverse = 1.0 / (1UL << 53);

    private readonly uint _key0;
    private readonly uint _key1;

    public GaussianNoise(long seed)
    {
        Seed = seed;
        _key0 = (uint)(ulong)seed;
        _key1 = (uint)((ulong)seed >> 32);
    }

    public long Seed { get; }

    /// <summary>Samples drawn so far.</summary>
    public long Position { get; private set; }

    public void FillStandardNormal(Span<float> destination)
    {
        int i = 0;
        if ((Position & 1) != 0 && destination.Length > 0)
        {
            destination[i++] = PairAt(Position >> 1).Second;
            Position++;
        }
        for (; i + 1 < destination.Length; i += 2)
        {
            var (first, second) = PairAt(Position >> 1);
            destination[i] = first;
            destination[i + 1] = second;
            Position += 2;
        }
        if (i < destination.Length)
        {
            destination[i] = PairAt(Position >> 1).First;
            Position++;
        }
    }

    /// <summary>A new tensor of <paramref name="shape"/> filled from <paramref name="source"/>.</summary>
    public static Tensor Sample(INoiseSource source, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
        {
            if (d <= 0)
                throw new MixDQException(ErrorCodes.InvalidArgument, $"noise shape {Tensor.FormatShape(shape)} has a non-positive dimension", item: nameof(shape));
        }
        var tensor = Tensor.Zeros(shape);
        source.FillStandardNormal(tensor.Span);
        return tensor;
    }

    private (float First, float Second) PairAt(long block)
    {
        var (w0, w1, w2, w3) = Philox4x32.Generate((uint)block, (uint)((ulong)block >> 32), 0, 0, _key0, _key1);
        double u1 = ((((ulong)w1 << 32 | w0) >> 11) + 1) * TwoPow53Inverse;
        double u2 = (((ulong)w3 << 32 | w2) >> 11) * TwoPow53Inverse;
        double radius = Math.Sqrt(-2.0 * DeterministicMath.Log(u1));
        var (sin, cos) = DeterministicMath.SinCosTwoPi(u2);
        return ((float)(radius * cos), (float)(radius * sin));
    }
}

/// <summary>The Philox4x32-10 counter-based generator (Random123).</summary>
internal static class Philox4x32
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    public static (uint, uint, uint, uint) Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }
        return (c0, c1, c2, c3);
    }
}

/// <summary>
/// ln and sin/cos from basic IEEE operations only, so results are bit-identical on every platform
/// (System.Math defers to the C runtime, which may differ in the last bit). Accurate to a few ulps.
/// </summary>
internal static class DeterministicMath
{
    private const double Ln2Hi = 6.93147180369123816490e-01; // fdlibm split of ln 2: hi has 32 trailing zero bits
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double Sqrt2 = 1.4142135623730951;
    private const double HalfPi = Math.PI / 2;

    private static readonly double[] AtanhCoefficients = Enumerable.Range(0, 13).Select(k => 1.0 / (2 * k + 1)).ToArray();
    private static readonly double[] SinCoefficients = TaylorCoefficients(first: 1, count: 9);
    private static readonly double[] CosCoefficients = TaylorCoefficients(first: 0, count: 10);

    /// <summary>Natural logarithm of a positive normal double.</summary>
    public static double Log(double x)
    {
        if (!(x > 0) || !double.IsNormal(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "must be a positive normal number");
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000F_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L);
        if (m > Sqrt2)
        {
            m *= 0.5;
            exponent++;
        }
        // ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …), s = (m−1)/(m+1), |s| ≤ 0.172.
        double s = (m - 1.0) / (m + 1.0);
        double s2 = s * s;
        double poly = 0;
        for (int k = AtanhCoefficients.Length - 1; k >= 0; k--) poly = poly * s2 + AtanhCoefficients[k];
        return exponent * Ln2Hi + (exponent * Ln2Lo + 2.0 * s * poly);
    }

    /// <summary>(sin 2πu, cos 2πu) for u in [0, 1).</summary>
    public static (double Sin, double Cos) SinCosTwoPi(double u)
    {
        double t = u * 4.0;            // exact
        double quarter = Math.Round(t); // exact
        double a = (t - quarter) * HalfPi; // t − quarter is exact and in [−0.5, 0.5], so |a| ≤ π/4
        double a2 = a * a;
        double sin = Horner(SinCoefficients, a2) * a;
        double cos = Horner(CosCoefficients, a2);
        return ((int)quarter & 3) switch
        {
            0 => (sin, cos),
            1 => (cos, -sin),
            2 => (-sin, -cos),
            _ => (-cos, sin),
        };
    }

    private static double Horner(double[] coefficients, double x)
    {
        double acc = 0;
        for (int k = coefficients.Length - 1; k >= 0; k--) acc = acc * x + coefficients[k];
        return acc;
    }

    /// <summary>(−1)ᵏ / (2k + first)! for k = 0..count−1 (Taylor series of sin when first = 1, cos when 0).</summary>
    private static double[] TaylorCoefficients(int first, int count)
    {
        var c = new double[count];
        for (int k = 0; k < count; k++)
        {
            double factorial = 1;
            for (int n = 2; n <= 2 * k + first; n++) factorial *= n;
            c[k] = (k % 2 == 0 ? 1.0 : -1.0) / factorial;
        }
        return c;
    }
}
