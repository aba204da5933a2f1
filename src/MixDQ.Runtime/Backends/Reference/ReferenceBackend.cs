using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends.Reference;

/// <summary>
/// The naive, double-precision implementation of <see cref="IComputeBackend"/>: the definition of
/// each op, written for clarity, against which every fast backend is tested. Single-threaded, slow.
/// </summary>
public sealed class ReferenceBackend : IComputeBackend
{
    public string Name => "reference";

    private sealed record Linear_(LayerInfo Layer, Tensor Weight, Tensor? Bias) : IPreparedLinear
    {
        public Simulated? Simulation { get; init; }

        public int InFeatures => Weight.Dim(1);
        public int OutFeatures => Weight.Dim(0);
    }

    private sealed record Conv_(LayerInfo Layer, Tensor Weight, Tensor? Bias, int Stride, int Padding) : IPreparedConv2d
    {
        public Simulated? Simulation { get; init; }

        public int InChannels => Weight.Dim(1);
        public int OutChannels => Weight.Dim(0);
        public int KernelSize => Weight.Dim(2);
    }

    /// <summary>
    /// A quantized layer by exact simulation (the oracle of the integer kernels): the weight dequantized to FP,
    /// each input segment fake-quantized with its quantizer, the BOS row at token 0 of every sequence.
    /// </summary>
    private sealed record Simulated(QuantizedLayer Quantized)
    {
        public Tensor FakeQuantize(Tensor x, int channelAxisStride, int channels)
        {
            if (!Quantized.QuantizesInput) return x;
            var y = x.Clone();
            // Channel c of element i: (i / channelAxisStride) % channels.
            var segmentOf = new ActivationQuantParams[channels];
            int c0 = 0;
            foreach (var s in Quantized.Input)
            {
                for (int c = c0; c < c0 + s.Channels; c++) segmentOf[c] = s.Params;
                c0 += s.Channels;
            }
            for (int i = 0; i < y.Length; i++)
            {
                var q = segmentOf[i / channelAxisStride % channels];
                y.Data[i] = q.Dequantize(q.Quantize(y.Data[i]));
            }
            return y;
        }
    }

    public bool Supports(KernelSpec spec) => spec.Precision.IsFloat || IntegerPrecisions.IsKnown(spec.Precision);

    public IPreparedLinear PrepareQuantizedLinear(LayerInfo layer, QuantizedLayer weights, Tensor? bias)
    {
        int n = layer.WeightShape[0], k = (int)(layer.ParameterCount / n);
        IntegerPrecisions.Check(layer, weights, n, k, k, Name);
        return new Linear_(layer, new Tensor(weights.Weight.Dequantize(), n, k), bias) { Simulation = new Simulated(weights) };
    }

    public IPreparedConv2d PrepareQuantizedConv2d(LayerInfo layer, QuantizedLayer weights, Tensor? bias, int stride, int padding)
    {
        var shape = layer.WeightShape;
        IntegerPrecisions.Check(layer, weights, shape[0], shape[1] * shape[2] * shape[3], shape[1], Name);
        return new Conv_(layer, new Tensor(weights.Weight.Dequantize(), shape), bias, stride, padding) { Simulation = new Simulated(weights) };
    }

    public IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias)
    {
        if (weight.Rank == 4) weight = weight.Reshape(weight.Dim(0), -1);
        return new Linear_(layer, weight, bias);
    }

    public IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding)
        => new Conv_(layer, weight, bias, stride, padding);

    public Tensor Linear(IPreparedLinear layer, Tensor x)
    {
        var l = (Linear_)layer;
        int k = l.InFeatures, n = l.OutFeatures, m = x.Length / k;
        if (l.Simulation is not null) x = l.Simulation.FakeQuantize(x, 1, k);
        var shape = x.ShapeArray();
        shape[^1] = n;
        var y = Tensor.Zeros(shape);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = l.Bias?.Data[j] ?? 0;
                for (int p = 0; p < k; p++) s += (double)x.Data[i * k + p] * l.Weight.Data[j * k + p];
                y.Data[i * n + j] = (float)s;
            }
        var bos = l.Simulation?.Quantized.BosRow;
        if (bos is not null)
        {
            int tokens = x.Rank >= 2 ? x.Dim(-2) : 1;
            for (int i = 0; i < m; i += tokens) bos.CopyTo(y.Data, (long)i * n);
        }
        return y;
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x)
    {
        var c = (Conv_)layer;
        int b = x.Dim(0), ci = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        if (c.Simulation is not null) x = c.Simulation.FakeQuantize(x, h * w, ci);
        int co = c.OutChannels, k = c.KernelSize, s = c.Stride, pad = c.Padding;
        int oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
        var y = Tensor.Zeros(b, co, oh, ow);
        for (int n = 0; n < b; n++)
            for (int o = 0; o < co; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double acc = c.Bias?.Data[o] ?? 0;
                        for (int i = 0; i < ci; i++)
                            for (int ky = 0; ky < k; ky++)
                            {
                                int iy = oy * s - pad + ky;
                                if (iy < 0 || iy >= h) continue;
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int ix = ox * s - pad + kx;
                                    if (ix < 0 || ix >= w) continue;
                                    acc += (double)x.Data[((n * ci + i) * h + iy) * w + ix] * c.Weight.Data[((o * ci + i) * k + ky) * k + kx];
                                }
                            }
                        y.Data[((n * co + o) * oh + oy) * ow + ox] = (float)acc;
                    }
        return y;
    }

    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu)
    {
        int b = x.Dim(0), c = x.Dim(1), hw = x.Length / (b * c), cg = c / groups;
        var y = Tensor.Zeros(x.ShapeArray());
        for (int n = 0; n < b; n++)
            for (int g = 0; g < groups; g++)
            {
                int start = (n * c + g * cg) * hw, count = cg * hw;
                double mean = 0, var = 0;
                for (int i = 0; i < count; i++) mean += x.Data[start + i];
                mean /= count;
                for (int i = 0; i < count; i++) { double d = x.Data[start + i] - mean; var += d * d; }
                var /= count;
                double inv = 1 / Math.Sqrt(var + eps);
                for (int ch = 0; ch < cg; ch++)
                {
                    int channel = g * cg + ch;
                    for (int i = 0; i < hw; i++)
                    {
                        int idx = start + ch * hw + i;
                        double v = (x.Data[idx] - mean) * inv * gamma.Data[channel] + beta.Data[channel];
                        y.Data[idx] = (float)(silu ? Silu(v) : v);
                    }
                }
            }
        return y;
    }

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        int c = x.Dim(-1), rows = x.Length / c;
        var y = Tensor.Zeros(x.ShapeArray());
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < c; i++) mean += x.Data[r * c + i];
            mean /= c;
            for (int i = 0; i < c; i++) { double d = x.Data[r * c + i] - mean; var += d * d; }
            var /= c;
            double inv = 1 / Math.Sqrt(var + eps);
            for (int i = 0; i < c; i++)
                y.Data[r * c + i] = (float)((x.Data[r * c + i] - mean) * inv * gamma.Data[i] + beta.Data[i]);
        }
        return y;
    }

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal)
    {
        int b = q.Dim(0), lq = q.Dim(1), lk = k.Dim(1), hd = q.Dim(2), d = hd / heads;
        double scale = 1 / Math.Sqrt(d);
        var y = Tensor.Zeros(b, lq, hd);
        var scores = new double[lk];
        for (int n = 0; n < b; n++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < lq; i++)
                {
                    int keys = causal ? Math.Min(i + 1, lk) : lk;
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < keys; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++)
                            s += (double)q.Data[(n * lq + i) * hd + h * d + e] * k.Data[(n * lk + j) * hd + h * d + e];
                        scores[j] = s * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
                    for (int e = 0; e < d; e++)
                    {
                        double acc = 0;
                        for (int j = 0; j < keys; j++) acc += scores[j] * v.Data[(n * lk + j) * hd + h * d + e];
                        y.Data[(n * lq + i) * hd + h * d + e] = (float)(acc / sum);
                    }
                }
        return y;
    }

    public Tensor Activate(Tensor x, Activation activation)
    {
        var y = Tensor.Zeros(x.ShapeArray());
        for (int i = 0; i < x.Length; i++) y.Data[i] = (float)Apply(x.Data[i], activation);
        return y;
    }

    /// <summary>The definition of each activation, in double precision.</summary>
    public static double Apply(double v, Activation activation) => activation switch
    {
        Activation.Identity => v,
        Activation.Silu => Silu(v),
        Activation.Gelu => Gelu(v),
        Activation.QuickGelu => v / (1 + Math.Exp(-1.702 * v)),
        Activation.Relu => Math.Max(0, v),
        Activation.Tanh => Math.Tanh(v),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    private static double Silu(double v) => v / (1 + Math.Exp(-v));

    private static double Gelu(double v) => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)));

    /// <summary>erf to ~1e-15 (Abramowitz–Stegun would be too coarse for a reference): series / continued fraction.</summary>
    public static double Erf(double x)
    {
        if (x < 0) return -Erf(-x);
        if (x < 3)
        {
            // Maclaurin series: converges quickly for |x| < 3.
            double sum = x, term = x, x2 = x * x;
            for (int n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        // Continued fraction for erfc, accurate for x >= 3.
        double f = 0;
        for (int n = 60; n >= 1; n--) f = n / 2.0 / (x + f);
        return 1 - Math.Exp(-x * x) / Math.Sqrt(Math.PI) / (x + f);
    }

    public Tensor Geglu(Tensor x)
    {
        int c2 = x.Dim(-1), c = c2 / 2, rows = x.Length / c2;
        var shape = x.ShapeArray();
        shape[^1] = c;
        var y = Tensor.Zeros(shape);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < c; i++)
                y.Data[r * c + i] = (float)(x.Data[r * c2 + i] * Gelu(x.Data[r * c2 + c + i]));
        return y;
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        var y = Tensor.Zeros(a.ShapeArray());
        for (int i = 0; i < a.Length; i++) y.Data[i] = (float)((double)a.Data[i] + b.Data[i]);
        return y;
    }

    public Tensor AddChannelBias(Tensor x, Tensor bias)
    {
        int b = x.Dim(0), c = x.Dim(1), hw = x.Length / (b * c);
        var y = Tensor.Zeros(x.ShapeArray());
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++)
                    y.Data[(n * c + ch) * hw + i] = (float)((double)x.Data[(n * c + ch) * hw + i] + bias.Data[n * c + ch]);
        return y;
    }

    public Tensor Affine(Tensor x, float scale, float shift)
    {
        var y = Tensor.Zeros(x.ShapeArray());
        for (int i = 0; i < x.Length; i++) y.Data[i] = (float)((double)scale * x.Data[i] + shift);
        return y;
    }

    public Tensor UpsampleNearest(Tensor x, int outH, int outW)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        var y = Tensor.Zeros(b, c, outH, outW);
        for (int n = 0; n < b * c; n++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    // PyTorch 'nearest': src = floor(dst · in / out).
                    int iy = Math.Min(h - 1, (int)Math.Floor(oy * (double)h / outH));
                    int ix = Math.Min(w - 1, (int)Math.Floor(ox * (double)w / outW));
                    y.Data[(n * outH + oy) * outW + ox] = x.Data[(n * h + iy) * w + ix];
                }
        return y;
    }

    public Tensor Concat(Tensor a, Tensor b, int axis)
    {
        if (axis < 0) axis += a.Rank;
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= a.Dim(i);
        for (int i = axis + 1; i < a.Rank; i++) inner *= a.Dim(i);
        int na = a.Dim(axis) * inner, nb = b.Dim(axis) * inner;
        var shape = a.ShapeArray();
        shape[axis] = a.Dim(axis) + b.Dim(axis);
        var y = Tensor.Zeros(shape);
        for (int o = 0; o < outer; o++)
        {
            Array.Copy(a.Data, o * na, y.Data, o * (na + nb), na);
            Array.Copy(b.Data, o * nb, y.Data, o * (na + nb) + na, nb);
        }
        return y;
    }

    public Tensor NchwToTokens(Tensor x)
    {
        int b = x.Dim(0), c = x.Dim(1), hw = x.Dim(2) * x.Dim(3);
        var y = Tensor.Zeros(b, hw, c);
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++)
                    y.Data[(n * hw + i) * c + ch] = x.Data[(n * c + ch) * hw + i];
        return y;
    }

    public Tensor TokensToNchw(Tensor x, int height, int width)
    {
        int b = x.Dim(0), hw = x.Dim(1), c = x.Dim(2);
        var y = Tensor.Zeros(b, c, height, width);
        for (int n = 0; n < b; n++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < hw; i++)
                    y.Data[(n * c + ch) * hw + i] = x.Data[(n * hw + i) * c + ch];
        return y;
    }

    public Tensor Embedding(Tensor table, int[] ids, int batch)
    {
        int c = table.Dim(1), l = ids.Length / batch;
        var y = Tensor.Zeros(batch, l, c);
        for (int i = 0; i < ids.Length; i++) Array.Copy(table.Data, ids[i] * c, y.Data, i * c, c);
        return y;
    }

    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift)
    {
        // Double precision, as everywhere in this backend: the CPU backend's FP32 follows PyTorch's rounding.
        int half = dim / 2, k = values.Rank == 2 ? values.Dim(1) : 1;
        var y = Tensor.Zeros(values.Dim(0), k * dim);
        for (int n = 0; n < values.Length; n++)
        {
            for (int i = 0; i < half; i++)
            {
                double a = values.Data[n] * Math.Exp(-Math.Log(10000) * i / (half - freqShift));
                y.Data[n * dim + (flipSinToCos ? half + i : i)] = (float)Math.Sin(a);
                y.Data[n * dim + (flipSinToCos ? i : half + i)] = (float)Math.Cos(a);
            }
        }
        return y;
    }

    public Tensor Reshape(Tensor x, params int[] shape) => x.Reshape(shape);

    public IKernel Specialize(KernelSpec spec) => new GenericKernel(spec);

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel)
    {
        kernel.Spec.CheckCall(layer.Layer, x);
        return Linear(layer, x);
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel)
    {
        kernel.Spec.CheckCall(layer.Layer, x, layer.Stride, layer.Padding);
        return Conv2d(layer, x);
    }
}
