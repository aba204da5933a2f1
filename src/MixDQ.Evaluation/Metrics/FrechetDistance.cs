using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.Metrics;

/// <summary>
/// An FID-style Fréchet distance between two image sets, over fixed hand-made features instead of an
/// Inception network (so it needs no weights and is exactly reproducible):
/// <list type="bullet">
/// <item>per-channel 8-bin colour histograms (24 values, fractions of pixels), and</item>
/// <item>the image average-pooled to 8x8 RGB (192 values in [0,1]);</item>
/// <item>the 216 raw features are projected to <see cref="FeatureDimension"/> = 64 dimensions by a fixed
/// Gaussian matrix (SplitMix64 seeded with <see cref="ProjectionSeed"/>, Box–Muller, scaled 1/sqrt(216)).</item>
/// </list>
/// d² = |mu1 − mu2|² + Tr(C1 + C2 − 2 (C1^½ C2 C1^½)^½) with unbiased covariances; the matrix square roots
/// come from a Jacobi eigen-decomposition of symmetric matrices.
/// </summary>
public static class FrechetDistance
{
    public const int FeatureDimension = 64;
    public const ulong ProjectionSeed = 0x5EED_F1D0UL;
    private const int HistogramBins = 8;
    private const int PoolCells = 8;
    private const int RawDimension = 3 * HistogramBins + PoolCells * PoolCells * 3;

    private static readonly double[] Projection = BuildProjection();

    /// <summary>The 64 projected features of one HWC RGB byte image (width and height multiples of 8).</summary>
    public static double[] Features(ReadOnlySpan<byte> rgbHwc, int width, int height)
    {
        if (width % PoolCells != 0 || height % PoolCells != 0 || rgbHwc.Length != width * height * 3)
        {
            throw new MixDQException(ErrorCodes.MetricInputInvalid,
                $"Fréchet features need an RGB image with sides divisible by {PoolCells}; got {width}x{height} with {rgbHwc.Length} bytes.");
        }
        var raw = new double[RawDimension];
        int pixels = width * height;
        int cw = width / PoolCells, ch = height / PoolCells;
        double poolScale = 1.0 / (cw * ch * 255.0);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 3;
                int cell = (y / ch) * PoolCells + x / cw;
                for (int c = 0; c < 3; c++)
                {
                    byte v = rgbHwc[p + c];
                    raw[c * HistogramBins + v * HistogramBins / 256] += 1.0 / pixels;
                    raw[3 * HistogramBins + cell * 3 + c] += v * poolScale;
                }
            }
        }
        var f = new double[FeatureDimension];
        for (int i = 0; i < FeatureDimension; i++)
        {
            double s = 0;
            for (int j = 0; j < RawDimension; j++) s += Projection[i * RawDimension + j] * raw[j];
            f[i] = s;
        }
        return f;
    }

    /// <summary>Fréchet distance (squared, as FID reports it) between two image sets of 64x64 (or any 8-divisible size) RGB images.</summary>
    public static double Compute(IReadOnlyList<byte[]> setA, IReadOnlyList<byte[]> setB, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(setA);
        ArgumentNullException.ThrowIfNull(setB);
        return FromFeatures(setA.Select(i => Features(i, width, height)).ToList(), setB.Select(i => Features(i, width, height)).ToList());
    }

    /// <summary>Fréchet distance between two feature sets (rows of equal dimension, at least 2 rows each).</summary>
    public static double FromFeatures(IReadOnlyList<double[]> a, IReadOnlyList<double[]> b)
    {
        if (a.Count < 2 || b.Count < 2)
            throw new MixDQException(ErrorCodes.MetricInputInvalid, $"The Fréchet distance needs at least 2 samples per set; got {a.Count} and {b.Count}.");
        int d = a[0].Length;
        if (a.Concat(b).Any(r => r.Length != d))
            throw new MixDQException(ErrorCodes.MetricInputInvalid, "All feature rows must have the same dimension.");
        var (mu1, c1) = MeanCovariance(a, d);
        var (mu2, c2) = MeanCovariance(b, d);
        double meanTerm = 0;
        for (int i = 0; i < d; i++) meanTerm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        var s1 = SymmetricEigen.Sqrt(c1, d);
        var middle = Multiply(Multiply(s1, c2, d), s1, d);
        Symmetrise(middle, d);
        var (w, _) = SymmetricEigen.Decompose(middle, d);
        double traceSqrt = w.Sum(x => Math.Sqrt(Math.Max(x, 0)));
        double trace = 0;
        for (int i = 0; i < d; i++) trace += c1[i * d + i] + c2[i * d + i];
        return Math.Max(meanTerm + trace - 2 * traceSqrt, 0);
    }

    private static (double[] Mean, double[] Covariance) MeanCovariance(IReadOnlyList<double[]> rows, int d)
    {
        var mu = new double[d];
        foreach (var r in rows) for (int i = 0; i < d; i++) mu[i] += r[i];
        for (int i = 0; i < d; i++) mu[i] /= rows.Count;
        var cov = new double[d * d];
        foreach (var r in rows)
        {
            for (int i = 0; i < d; i++)
            {
                double di = r[i] - mu[i];
                for (int j = i; j < d; j++) cov[i * d + j] += di * (r[j] - mu[j]);
            }
        }
        for (int i = 0; i < d; i++)
        {
            for (int j = i; j < d; j++)
            {
                cov[i * d + j] /= rows.Count - 1;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        return (mu, cov);
    }

    private static double[] Multiply(double[] x, double[] y, int n)
    {
        var r = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                double xik = x[i * n + k];
                if (xik == 0) continue;
                for (int j = 0; j < n; j++) r[i * n + j] += xik * y[k * n + j];
            }
        return r;
    }

    private static void Symmetrise(double[] m, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double avg = 0.5 * (m[i * n + j] + m[j * n + i]);
                m[i * n + j] = avg;
                m[j * n + i] = avg;
            }
    }

    private static double[] BuildProjection()
    {
        // SplitMix64 + Box–Muller: fixed forever so distances stay comparable across versions and platforms.
        ulong state = ProjectionSeed;
        var p = new double[FeatureDimension * RawDimension];
        double scale = 1.0 / Math.Sqrt(RawDimension);
        for (int i = 0; i < p.Length; i += 2)
        {
            double u1 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            p[i] = radius * Math.Cos(2 * Math.PI * u2) * scale;
            if (i + 1 < p.Length) p[i + 1] = radius * Math.Sin(2 * Math.PI * u2) * scale;
        }
        return p;
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
