using System.Runtime.CompilerServices;
using System.Numerics;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>GroupNorm and LayerNorm: statistics in double (two passes), normalisation in float.</summary>
internal static unsafe class Normalization
{
    /// <summary>Mean and (biased) variance of <paramref name="count"/> floats, accumulated in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Mean, double Variance) Moments(float* p, long count)
    {
        int w = Vector<float>.Count;
        var s0 = Vector<double>.Zero;
        var s1 = Vector<double>.Zero;
        long i = 0;
        for (; i <= count - w; i += w)
        {
            Vector.Widen(Vector.Load(p + i), out var lo, out var hi);
            s0 += lo;
            s1 += hi;
        }
        double total = Vector.Sum(s0 + s1);
        for (; i < count; i++) total += p[i];
        double mean = total / count;

        var m = new Vector<double>(mean);
        var q0 = Vector<double>.Zero;
        var q1 = Vector<double>.Zero;
        for (i = 0; i <= count - w; i += w)
        {
            Vector.Widen(Vector.Load(p + i), out var lo, out var hi);
            lo -= m;
            hi -= m;
            q0 += lo * lo;
            q1 += hi * hi;
        }
        double squares = Vector.Sum(q0 + q1);
        for (; i < count; i++)
        {
            double dv = p[i] - mean;
            squares += dv * dv;
        }
        return (mean, squares / count);
    }

    public static void GroupNorm(CpuParallel parallel, float[] x, int batch, int channels, int groups,
        float[] gamma, float[] beta, float eps, bool silu, float[] y)
    {
        int hw = x.Length / (batch * channels), perGroup = channels / groups;
        long count = (long)perGroup * hw;
        parallel.For(batch * groups, task =>
        {
            int n = task / groups, g = task % groups;
            fixed (float* px = x, py = y)
            {
                long start = ((long)n * channels + (long)g * perGroup) * hw;
                var (mean, variance) = Moments(px + start, count);
                double inv = 1 / Math.Sqrt(variance + eps);
                for (int ch = 0; ch < perGroup; ch++)
                {
                    int channel = g * perGroup + ch;
                    long offset = start + (long)ch * hw;
                    NormalizeRow(px + offset, py + offset, hw, (float)mean, new Vector<float>((float)(inv * gamma[channel])),
                        new Vector<float>(beta[channel]), silu);
                }
            }
        });
    }

    /// <summary>y = (x − mean)·scale + shift (then SiLU); subtracting the mean first keeps precision when |mean| ≫ σ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormalizeRow(float* x, float* y, int count, float mean, Vector<float> scale, Vector<float> shift, bool silu)
    {
        int w = Vector<float>.Count, i = 0;
        var m = new Vector<float>(mean);
        for (; i <= count - w; i += w)
        {
            var v = Vector.MultiplyAddEstimate(Vector.Load(x + i) - m, scale, shift);
            Vector.Store(silu ? VectorMath.Silu(v) : v, y + i);
        }
        if (i < count)
        {
            int rest = count - i;
            float* tail = stackalloc float[w];
            new Span<float>(tail, w).Clear();
            new ReadOnlySpan<float>(x + i, rest).CopyTo(new Span<float>(tail, rest));
            var v = Vector.MultiplyAddEstimate(Vector.Load(tail) - m, scale, shift);
            Vector.Store(silu ? VectorMath.Silu(v) : v, tail);
            new ReadOnlySpan<float>(tail, rest).CopyTo(new Span<float>(y + i, rest));
        }
    }

    public static void LayerNorm(CpuParallel parallel, float[] x, int c, float[] gamma, float[] beta, float eps, float[] y)
    {
        int rows = x.Length / c;
        parallel.ForRange(rows, Math.Max(1, Elementwise.MinChunk / Math.Max(1, c)), (start, end) =>
        {
            int w = Vector<float>.Count;
            fixed (float* px = x, py = y, pg = gamma, pb = beta)
            {
                for (long r = start; r < end; r++)
                {
                    float* src = px + r * c, dst = py + r * c;
                    var (mean, variance) = Moments(src, c);
                    float inv = (float)(1 / Math.Sqrt(variance + eps)), m = (float)mean;
                    var vm = new Vector<float>(m);
                    var vi = new Vector<float>(inv);
                    int i = 0;
                    for (; i <= c - w; i += w)
                        Vector.Store(Vector.MultiplyAddEstimate((Vector.Load(src + i) - vm) * vi, Vector.Load(pg + i), Vector.Load(pb + i)), dst + i);
                    for (; i < c; i++) dst[i] = MathF.FusedMultiplyAdd((src[i] - m) * inv, pg[i], pb[i]);
                }
            }
        });
    }
}
