using MixDQ.Evaluation.Metrics;
using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.Tests;

public class MetricsTests
{
    private static byte[] Scene(string caption) => TinyShapesRenderer.Render(TinyShapesGrammar.Parse(caption));

    [Fact]
    public void Ssim_of_identical_images_is_one()
    {
        var a = Scene("a large red circle at the center on a blue background");
        Assert.Equal(1.0, ImageMetrics.Ssim(a, a, 64, 64, 3), 12);
    }

    [Fact]
    public void Ssim_drops_with_noise()
    {
        var a = Scene("a large red circle at the center and a small white square at the top left on a blue background");
        var rng = new Random(1);
        var b = a.Select(v => (byte)Math.Clamp(v + rng.Next(-20, 21), 0, 255)).ToArray();
        var c = a.Select(v => (byte)Math.Clamp(v + rng.Next(-60, 61), 0, 255)).ToArray();
        double sb = ImageMetrics.Ssim(a, b, 64, 64, 3), sc = ImageMetrics.Ssim(a, c, 64, 64, 3);
        Assert.InRange(sb, 0.0, 0.999);
        Assert.True(sc < sb, $"{sc} !< {sb}");
        Assert.Equal(sb, ImageMetrics.Ssim(b, a, 64, 64, 3), 12); // symmetric
    }

    [Fact]
    public void Ssim_matches_a_hand_computed_case()
    {
        // Constant images 100 and 110 (one channel, 11x11 = exactly one window): sigma terms vanish, so
        // SSIM = (2*100*110 + C1) / (100^2 + 110^2 + C1) with C1 = (0.01*255)^2 = 6.5025.
        var a = Enumerable.Repeat((byte)100, 121).ToArray();
        var b = Enumerable.Repeat((byte)110, 121).ToArray();
        double expected = (22000 + 6.5025) / (10000 + 12100 + 6.5025);
        Assert.Equal(expected, ImageMetrics.Ssim(a, b, 11, 11, 1), 10);
        // A larger constant pair averages the same value over all valid windows.
        var a2 = Enumerable.Repeat((byte)100, 20 * 16 * 3).ToArray();
        var b2 = Enumerable.Repeat((byte)110, 20 * 16 * 3).ToArray();
        Assert.Equal(expected, ImageMetrics.Ssim(a2, b2, 20, 16, 3), 10);
    }

    [Fact]
    public void Ssim_of_float_images_uses_the_data_range()
    {
        float[] a = Enumerable.Repeat(0.5f, 121).ToArray(), b = Enumerable.Repeat(0.6f, 121).ToArray();
        double c1 = 0.01 * 2 * 0.01 * 2;
        double expected = (2 * 0.5 * (double)0.6f + c1) / (0.25 + (double)0.6f * 0.6f + c1);
        Assert.Equal(expected, ImageMetrics.Ssim(a, b, 11, 11, 1, dataRange: 2.0), 6);
    }

    [Fact]
    public void Psnr_known_values()
    {
        var a = new byte[] { 10, 20, 30, 40 };
        Assert.Equal(double.PositiveInfinity, ImageMetrics.Psnr(a, a));
        var b = new byte[] { 11, 21, 31, 41 }; // MSE 1 -> 20 log10(255)
        Assert.Equal(20 * Math.Log10(255), ImageMetrics.Psnr(a, b), 10);
        var c = new byte[] { 12, 18, 32, 38 }; // MSE 4 -> 20 log10(255) - 10 log10(4)
        Assert.Equal(20 * Math.Log10(255) - 10 * Math.Log10(4), ImageMetrics.Psnr(a, c), 10);
        float[] x = [0f, 1f], y = [0.1f, 0.9f]; // MSE 0.01, peak 1 -> 20 dB
        Assert.Equal(20.0, ImageMetrics.Psnr(x, y, 1.0), 5);
    }

    [Fact]
    public void Sqnr_known_values()
    {
        float[] reference = [1f, -1f, 1f, -1f];
        Assert.Equal(double.PositiveInfinity, ImageMetrics.Sqnr(reference, reference));
        float[] test = [1.1f, -0.9f, 0.9f, -1.1f]; // signal 4, noise 0.04 -> 20 dB
        Assert.Equal(20.0, ImageMetrics.Sqnr(reference, test), 5);
        float[] test2 = [2f, -2f, 2f, -2f]; // noise = signal -> 0 dB
        Assert.Equal(0.0, ImageMetrics.Sqnr(reference, test2), 10);
    }

    [Fact]
    public void Metrics_reject_mismatched_inputs()
    {
        Assert.Equal(ErrorCodes.MetricInputInvalid, Assert.Throws<MixDQException>(() => ImageMetrics.Sqnr([1f], [1f, 2f])).Code);
        Assert.Equal(ErrorCodes.MetricInputInvalid, Assert.Throws<MixDQException>(() => ImageMetrics.Psnr(new byte[3], new byte[4])).Code);
        Assert.Equal(ErrorCodes.MetricInputInvalid, Assert.Throws<MixDQException>(() => ImageMetrics.Ssim(new byte[30], new byte[30], 5, 2, 3)).Code);
    }

    [Fact]
    public void Jacobi_square_root_squares_back()
    {
        double[] a = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2];
        var s = SymmetricEigen.Sqrt(a, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double v = 0;
                for (int k = 0; k < 3; k++) v += s[i * 3 + k] * s[k * 3 + j];
                Assert.Equal(a[i * 3 + j], v, 10);
            }
    }

    [Fact]
    public void Frechet_distance_matches_the_closed_form_for_diagonal_gaussians()
    {
        // Features given directly: set B is set A scaled by 2 and shifted by 3 on axis 0.
        // d^2 = |mu_A - mu_B|^2 + sum_i (a_i + b_i - 2 sqrt(a_i b_i)) for diagonal covariances.
        var a = new List<double[]> { new[] { 1.0, 0 }, new[] { -1.0, 0 }, new[] { 0, 1.0 }, new[] { 0, -1.0 } };
        var b = new List<double[]> { new[] { 5.0, 0 }, new[] { 1.0, 0 }, new[] { 3, 2.0 }, new[] { 3, -2.0 } };
        // Unbiased covariances: A = diag(2/3, 2/3), B = diag(8/3, 8/3) -> trace term 2*(2/3+8/3-2*4/3) = 4/3.
        Assert.Equal(9 + 4.0 / 3, FrechetDistance.FromFeatures(a, b), 9);
    }

    [Fact]
    public void Frechet_distance_is_zero_for_identical_sets_positive_for_shifted_ones_and_symmetric()
    {
        var rng = new Random(3);
        var setA = Enumerable.Range(0, 500).Select(i => TinyShapesRenderer.Render(TinyShapesScene.Random(rng, i % 2 + 1))).ToList();
        var setB = Enumerable.Range(0, 500).Select(i => TinyShapesRenderer.Render(TinyShapesScene.Random(rng, i % 2 + 1))).ToList();
        // Shifted distribution: the same kind of scenes, darkened.
        var dark = setB.Select(img => img.Select(v => (byte)(v * 3 / 4)).ToArray()).ToList();

        double same = FrechetDistance.Compute(setA, setA, 64, 64);
        double sampleNoise = FrechetDistance.Compute(setA, setB, 64, 64);
        double shifted = FrechetDistance.Compute(setA, dark, 64, 64);
        double shiftedReverse = FrechetDistance.Compute(dark, setA, 64, 64);

        Assert.True(same < 1e-9, $"identical sets: {same}");
        Assert.True(shifted > 10 * sampleNoise, $"shifted {shifted} vs two samples of one distribution {sampleNoise}");
        Assert.Equal(shifted, shiftedReverse, 6);
    }
}
