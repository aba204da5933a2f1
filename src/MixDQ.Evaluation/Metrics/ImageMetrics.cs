using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.Metrics;

/// <summary>
/// Full-reference image and tensor metrics.
/// <para>
/// SSIM follows Wang et al. 2004: an 11x11 Gaussian window (sigma 1.5, weights normalised to sum 1), K1 = 0.01,
/// K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2 with L the data range (255 for bytes), local statistics from the
/// weighted window (population form), evaluated only where the window lies fully inside the image ("valid"),
/// computed per channel on RGB and averaged over positions and channels.
/// </para>
/// </summary>
public static class ImageMetrics
{
    public const int SsimWindow = 11;
    public const double SsimSigma = 1.5;
    public const double SsimK1 = 0.01;
    public const double SsimK2 = 0.03;

    private static readonly double[] Kernel1D = GaussianKernel();

    /// <summary>SSIM of two HWC byte images (data range 255).</summary>
    public static double Ssim(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int width, int height, int channels)
    {
        CheckImages(a.Length, b.Length, width, height, channels);
        var fa = new double[a.Length];
        var fb = new double[b.Length];
        for (int i = 0; i < a.Length; i++) { fa[i] = a[i]; fb[i] = b[i]; }
        return SsimCore(fa, fb, width, height, channels, 255.0);
    }

    /// <summary>SSIM of two HWC float images with the given data range (e.g. 2 for [-1,1]).</summary>
    public static double Ssim(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int width, int height, int channels, double dataRange)
    {
        CheckImages(a.Length, b.Length, width, height, channels);
        if (!(dataRange > 0)) throw new MixDQException(ErrorCodes.MetricInputInvalid, "SSIM data range must be positive.", item: nameof(dataRange));
        var fa = new double[a.Length];
        var fb = new double[b.Length];
        for (int i = 0; i < a.Length; i++) { fa[i] = a[i]; fb[i] = b[i]; }
        return SsimCore(fa, fb, width, height, channels, dataRange);
    }

    /// <summary>PSNR in dB of two byte images (peak 255); +infinity when identical.</summary>
    public static double Psnr(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        CheckLengths(a.Length, b.Length);
        double se = 0;
        for (int i = 0; i < a.Length; i++) { double d = a[i] - b[i]; se += d * d; }
        return PsnrFromMse(se / a.Length, 255.0);
    }

    /// <summary>PSNR in dB of two float signals with the given peak value; +infinity when identical.</summary>
    public static double Psnr(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double peak)
    {
        CheckLengths(a.Length, b.Length);
        if (!(peak > 0)) throw new MixDQException(ErrorCodes.MetricInputInvalid, "PSNR peak must be positive.", item: nameof(peak));
        double se = 0;
        for (int i = 0; i < a.Length; i++) { double d = (double)a[i] - b[i]; se += d * d; }
        return PsnrFromMse(se / a.Length, peak);
    }

    /// <summary>
    /// Signal-to-quantisation-noise ratio in dB: 10 log10(sum(reference^2) / sum((reference - test)^2));
    /// +infinity when identical.
    /// </summary>
    public static double Sqnr(ReadOnlySpan<float> reference, ReadOnlySpan<float> test)
    {
        CheckLengths(reference.Length, test.Length);
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i], d = r - test[i];
            signal += r * r;
            noise += d * d;
        }
        if (noise == 0) return double.PositiveInfinity;
        return 10.0 * Math.Log10(signal / noise);
    }

    private static double PsnrFromMse(double mse, double peak) =>
        mse == 0 ? double.PositiveInfinity : 10.0 * Math.Log10(peak * peak / mse);

    private static double SsimCore(double[] a, double[] b, int width, int height, int channels, double range)
    {
        double c1 = SsimK1 * range * SsimK1 * range, c2 = SsimK2 * range * SsimK2 * range;
        int outW = width - SsimWindow + 1, outH = height - SsimWindow + 1;
        double total = 0;
        for (int c = 0; c < channels; c++)
        {
            var mu1 = Filter(a, a, c, width, height, channels, product: false);
            var mu2 = Filter(b, b, c, width, height, channels, product: false);
            var s11 = Filter(a, a, c, width, height, channels, product: true);
            var s22 = Filter(b, b, c, width, height, channels, product: true);
            var s12 = Filter(a, b, c, width, height, channels, product: true);
            for (int i = 0; i < outW * outH; i++)
            {
                double m1 = mu1[i], m2 = mu2[i];
                double v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, cov = s12[i] - m1 * m2;
                total += (2 * m1 * m2 + c1) * (2 * cov + c2) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2));
            }
        }
        return total / (channels * (double)outW * outH);
    }

    /// <summary>Separable valid-mode Gaussian filter of x (or of x*y when <paramref name="product"/>) on one channel.</summary>
    private static double[] Filter(double[] x, double[] y, int channel, int width, int height, int channels, bool product)
    {
        int outW = width - SsimWindow + 1, outH = height - SsimWindow + 1;
        var rows = new double[height * outW];
        for (int r = 0; r < height; r++)
        {
            for (int o = 0; o < outW; o++)
            {
                double s = 0;
                for (int k = 0; k < SsimWindow; k++)
                {
                    int idx = (r * width + o + k) * channels + channel;
                    s += Kernel1D[k] * (product ? x[idx] * y[idx] : x[idx]);
                }
                rows[r * outW + o] = s;
            }
        }
        var result = new double[outH * outW];
        for (int o = 0; o < outH; o++)
        {
            for (int col = 0; col < outW; col++)
            {
                double s = 0;
                for (int k = 0; k < SsimWindow; k++) s += Kernel1D[k] * rows[(o + k) * outW + col];
                result[o * outW + col] = s;
            }
        }
        return result;
    }

    private static double[] GaussianKernel()
    {
        var k = new double[SsimWindow];
        double sum = 0;
        for (int i = 0; i < SsimWindow; i++)
        {
            double d = i - SsimWindow / 2;
            k[i] = Math.Exp(-d * d / (2 * SsimSigma * SsimSigma));
            sum += k[i];
        }
        for (int i = 0; i < SsimWindow; i++) k[i] /= sum;
        return k;
    }

    private static void CheckImages(int lengthA, int lengthB, int width, int height, int channels)
    {
        CheckLengths(lengthA, lengthB);
        if (width < SsimWindow || height < SsimWindow || channels < 1 || (long)width * height * channels != lengthA)
        {
            throw new MixDQException(ErrorCodes.MetricInputInvalid,
                $"SSIM needs images of at least {SsimWindow}x{SsimWindow} whose length is width*height*channels; got {width}x{height}x{channels} for {lengthA} values.");
        }
    }

    private static void CheckLengths(int lengthA, int lengthB)
    {
        if (lengthA != lengthB || lengthA == 0)
            throw new MixDQException(ErrorCodes.MetricInputInvalid, $"Metric inputs must be non-empty and of equal length; got {lengthA} and {lengthB}.");
    }
}
