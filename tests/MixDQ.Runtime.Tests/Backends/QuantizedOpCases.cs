using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>
/// The precision axis of the op table (as ggml's <c>test_mul_mat(type_a, type_b, …)</c>): integer linear and conv2d
/// layers at every width the plan can give, on awkward shapes, compared with the reference backend's exact
/// simulation (dequantized weight, fake-quantized input segments, BOS row at token 0).
/// </summary>
public static class QuantizedOpCases
{
    /// <summary>
    /// Integer paths: activation codes are identical on both sides (same division and rounding), so what remains is
    /// FP32 rounding of the epilogue (s_w·s_a·INT32) against the reference's double sums (measured ≤ 1.5e-7).
    /// </summary>
    public const double Integer = 1e-6;

    /// <summary>Weight-only paths run the FP32 GEMM on dequantized blocks: FP32 summation error (measured ≤ 7.6e-7).</summary>
    public const double WeightOnly = 5e-6;

    private static readonly LayerPrecision[] Precisions =
        [new(8, 8), new(4, 8), new(2, 8), new(8, 4), new(8, 16), new(4, 16), new(2, 16)];

    public static void Add(List<BackendOpCase> cases)
    {
        foreach (var p in Precisions)
        {
            double tol = IntegerPrecisions.IsWeightOnly(p) ? WeightOnly : Integer;
            foreach (var (m, k, n) in new[] { (1, 1, 1), (37, 45, 70), (13, 300, 33), (97, 64, 129), (5, 3, 200), (70, 520, 17) })
                cases.Add(Case("QLinear", p, $"M{m} K{k} N{n}", tol, r => Linear(r, p, [m, k], n, WeightScheme.Symmetric, null, bos: false, kernel: false)));
            cases.Add(Case("QLinear", p, "asym [2,9,64]->96 bias", tol, r => Linear(r, p, [2, 9, 64], 96, WeightScheme.Asymmetric, null, bos: false, kernel: false)));
            cases.Add(Case("QLinear", p, "BOS [2,7,24]->40", tol, r => Linear(r, p, [2, 7, 24], 40, WeightScheme.Symmetric, null, bos: true, kernel: true)));
            if (!IntegerPrecisions.IsWeightOnly(p))
                cases.Add(Case("QLinear", p, "split 19+26 [11,45]->50", tol, r => Linear(r, p, [11, 45], 50, WeightScheme.Asymmetric, [19, 26], bos: false, kernel: false)));

            foreach (var (b, ci, co, h, w, ks, s, pad) in new[]
            {
                (2, 5, 7, 9, 11, 3, 1, 1),
                (1, 6, 10, 13, 9, 3, 2, 1),
                (2, 17, 9, 6, 7, 1, 1, 0),
                (1, 40, 33, 12, 12, 3, 1, 1),
                (1, 3, 4, 7, 8, 3, 1, 0),
                (1, 8, 20, 16, 16, 3, 2, 1),
                // Output rows of whole 4-pixel panels at stride 1: the vector im2col gather.
                (2, 7, 12, 8, 8, 1, 1, 0),
                (1, 13, 17, 6, 12, 3, 1, 1),
            })
                cases.Add(Case("QConv2d", p, $"B{b} {ci}->{co} {h}x{w} k{ks} s{s} p{pad}", tol,
                    r => Conv(r, p, b, ci, co, h, w, ks, s, pad, WeightScheme.Symmetric, null, kernel: false)));
            cases.Add(Case("QConv2d", p, "asym B1 12->21 10x9 k3 s1 p1 +kernel", tol,
                r => Conv(r, p, 1, 12, 21, 10, 9, 3, 1, 1, WeightScheme.Asymmetric, null, kernel: true)));
            if (!IntegerPrecisions.IsWeightOnly(p))
            {
                cases.Add(Case("QConv2d", p, "split 5+7 B2 12->18 9x7 k3 s1 p1", tol,
                    r => Conv(r, p, 2, 12, 18, 9, 7, 3, 1, 1, WeightScheme.Asymmetric, [5, 7], kernel: false)));
                cases.Add(Case("QConv2d", p, "split 3+6 B1 9->20 5x8 k3 s1 p1", tol,
                    r => Conv(r, p, 1, 9, 20, 5, 8, 3, 1, 1, WeightScheme.Symmetric, [3, 6], kernel: false)));
            }
        }
    }

    private static BackendOpCase Case(string op, LayerPrecision p, string name, double tol, Func<Random, (KernelSpec, Func<IComputeBackend, Tensor>)> setup) =>
        new(op, $"{p} {name}", tol, r => setup(r).Item2) { SpecOf = r => setup(r).Item1 };

    /// <summary>Input quantizers over the channel runs, each calibrated on a range a little inside its data so clamping runs too.</summary>
    private static List<InputQuantSegment>? Segments(Random r, LayerPrecision p, int[] runs)
    {
        if (IntegerPrecisions.IsWeightOnly(p)) return null;
        return runs.Select(c => new InputQuantSegment(c, ActivationQuantParams.FromRange(-0.8f - 0.5f * (float)r.NextDouble(), 0.9f + 0.7f * (float)r.NextDouble(), p.ActivationBits))).ToList();
    }

    private static (KernelSpec, Func<IComputeBackend, Tensor>) Linear(Random r, LayerPrecision p, int[] xShape, int n, WeightScheme scheme, int[]? runs, bool bos, bool kernel)
    {
        int k = xShape[^1];
        var x = BackendOpCases.Rand(r, 1.5f, xShape);
        var w = BackendOpCases.Rand(r, n, k);
        var bias = BackendOpCases.Rand(r, n);
        var qw = WeightQuantizer.Quantize(w.Data, n, k, p.WeightBits, scheme);
        float[]? bosRow = bos ? BackendOpCases.Rand(r, 3f, n).Data : null;
        var layer = new QuantizedLayer(qw, Segments(r, p, runs ?? [k]), bosRow);
        var info = new LayerInfo("test", "qlinear", LayerKind.Linear, [n, k], p);
        var spec = new KernelSpec(LayerKind.Linear, [n, k], xShape, p);
        return (spec, be =>
        {
            var prepared = be.PrepareQuantizedLinear(info, layer, bias);
            return kernel ? be.Linear(prepared, x, be.Specialize(spec)) : be.Linear(prepared, x);
        });
    }

    private static (KernelSpec, Func<IComputeBackend, Tensor>) Conv(Random r, LayerPrecision p, int b, int ci, int co, int h, int w, int ks, int s, int pad,
        WeightScheme scheme, int[]? runs, bool kernel)
    {
        var x = BackendOpCases.Rand(r, 1.5f, b, ci, h, w);
        var weight = BackendOpCases.Rand(r, co, ci, ks, ks);
        var bias = BackendOpCases.Rand(r, co);
        var qw = WeightQuantizer.Quantize(weight.Data, co, ci * ks * ks, p.WeightBits, scheme);
        var layer = new QuantizedLayer(qw, Segments(r, p, runs ?? [ci]));
        var info = new LayerInfo("test", "qconv", LayerKind.Conv2d, [co, ci, ks, ks], p);
        var spec = new KernelSpec(LayerKind.Conv2d, [co, ci, ks, ks], [b, ci, h, w], p, s, pad);
        return (spec, be =>
        {
            var prepared = be.PrepareQuantizedConv2d(info, layer, bias, s, pad);
            return kernel ? be.Conv2d(prepared, x, be.Specialize(spec)) : be.Conv2d(prepared, x);
        });
    }
}
