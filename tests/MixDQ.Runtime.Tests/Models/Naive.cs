using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>
/// Direct double-precision formulas, written from the reference document independently of any backend,
/// to check model outputs against. Matrices are row-major double arrays.
/// </summary>
internal static class Naive
{
    public static double[] D(Tensor t) => t.Data.Select(v => (double)v).ToArray();

    /// <summary>y[r, o] = Σ_i x[r, i]·W[o, i] + b[o].</summary>
    public static double[] Linear(double[] x, int rows, Tensor w, Tensor? b)
    {
        int outF = w.Dim(0), inF = w.Dim(1);
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b is null ? 0 : b.Data[o];
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w.Data[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    public static double[] LayerNorm(double[] x, int width, Tensor gamma, Tensor beta, double eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / width; r++)
        {
            var row = x.AsSpan(r * width, width);
            double mean = 0;
            foreach (var v in row) mean += v;
            mean /= width;
            double var = 0;
            foreach (var v in row) var += (v - mean) * (v - mean);
            var /= width;
            for (int i = 0; i < width; i++)
                y[r * width + i] = (row[i] - mean) / Math.Sqrt(var + eps) * gamma.Data[i] + beta.Data[i];
        }
        return y;
    }

    /// <summary>Multi-head attention of one sequence [L, H·D], head h on channels [h·D, (h+1)·D), optional causal mask.</summary>
    public static double[] Attention(double[] q, double[] k, double[] v, int length, int width, int heads, bool causal)
    {
        int d = width / heads;
        var y = new double[length * width];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < length; i++)
            {
                var s = new double[length];
                double max = double.NegativeInfinity;
                for (int j = 0; j < length; j++)
                {
                    if (causal && j > i) { s[j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += q[i * width + h * d + e] * k[j * width + h * d + e];
                    s[j] = dot / Math.Sqrt(d);
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < length; j++) { s[j] = double.IsNegativeInfinity(s[j]) ? 0 : Math.Exp(s[j] - max); sum += s[j]; }
                for (int e = 0; e < d; e++)
                {
                    double acc = 0;
                    for (int j = 0; j < length; j++) acc += s[j] / sum * v[j * width + h * d + e];
                    y[i * width + h * d + e] = acc;
                }
            }
        return y;
    }

    public static double Gelu(double x) => 0.5 * x * (1 + Backends.Reference.ReferenceBackend.Erf(x / Math.Sqrt(2)));

    public static double QuickGelu(double x) => x / (1 + Math.Exp(-1.702 * x));

    /// <summary>NCHW convolution of one image [C, H, W], square kernel, zero padding (k−1)/2, stride 1.</summary>
    public static double[] Conv(double[] x, int c, int h, int w, Tensor weight, Tensor? bias)
    {
        int o = weight.Dim(0), k = weight.Dim(2), pad = (k - 1) / 2;
        var y = new double[o * h * w];
        for (int oc = 0; oc < o; oc++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++)
                {
                    double s = bias is null ? 0 : bias.Data[oc];
                    for (int ic = 0; ic < c; ic++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int iy = yy + ky - pad, ix = xx + kx - pad;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                s += x[(ic * h + iy) * w + ix] * weight.Data[((oc * c + ic) * k + ky) * k + kx];
                            }
                    y[(oc * h + yy) * w + xx] = s;
                }
        return y;
    }

    public static double[] Upsample2x(double[] x, int c, int h, int w)
    {
        var y = new double[c * 4 * h * w];
        for (int ch = 0; ch < c; ch++)
            for (int yy = 0; yy < 2 * h; yy++)
                for (int xx = 0; xx < 2 * w; xx++)
                    y[(ch * 2 * h + yy) * 2 * w + xx] = x[(ch * h + yy / 2) * w + xx / 2];
        return y;
    }

    public static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();

    public static double[] Add(double[] a, double[] b) => a.Zip(b, (p, q) => p + q).ToArray();
}
