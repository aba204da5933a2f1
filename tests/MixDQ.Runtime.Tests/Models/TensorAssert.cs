using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

internal static class TensorAssert
{
    public static void Finite(Tensor t)
    {
        for (int i = 0; i < t.Length; i++)
            Assert.True(float.IsFinite(t.Data[i]), $"element {i} of {t} is {t.Data[i]}");
    }

    /// <summary>Finite, and not a constant (a graph that lost its input would often give one).</summary>
    public static void FiniteAndVaried(Tensor t)
    {
        Finite(t);
        double mean = t.Data.Average(v => (double)v);
        double var = t.Data.Average(v => (v - mean) * (v - mean));
        Assert.True(var > 1e-8, $"{t} is (nearly) constant: variance {var}");
    }

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)expected[i] - actual[i]) / (1 + Math.Abs(expected[i]));
            if (d > worst) { worst = d; at = i; }
        }
        Assert.True(worst <= tolerance,
            $"{what} differs by {worst:G3} (relative) at {at}: expected {(at >= 0 ? expected[at] : 0)}, actual {(at >= 0 ? actual[at] : 0)}");
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a.Data[i] - b.Data[i]));
        return worst;
    }
}
