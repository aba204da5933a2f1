using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>
/// One op case: <see cref="Setup"/> draws the inputs from a seeded generator and returns the call to
/// make on a backend, so the reference and the backend under test see identical inputs.
/// <see cref="Tolerance"/> bounds max|a − b| / max(1, max|ref|); 0 means bit-exact.
/// </summary>
public sealed record BackendOpCase(string Op, string Name, double Tolerance, Func<Random, Func<IComputeBackend, Tensor>> Setup)
{
    public string Id => $"{Op}/{Name}";

    /// <summary>The kernel spec of a case a backend may not support (integer precisions); null for ops every backend runs.</summary>
    public Func<Random, KernelSpec>? SpecOf { get; init; }

    public override string ToString() => Id;
}

/// <summary>The table of op cases (ggml test-backend-ops style): every op, awkward sizes.</summary>
public static class BackendOpCases
{
    private const double Fp32 = 1e-4;
    private const double Exact = 0;

    public static readonly IReadOnlyList<BackendOpCase> All = Build();

    public static BackendOpCase Get(string id) => All.Single(c => c.Id == id);

    private static List<BackendOpCase> Build()
    {
        var cases = new List<BackendOpCase>();
        void Add(string op, string name, double tol, Func<Random, Func<IComputeBackend, Tensor>> setup) => cases.Add(new(op, name, tol, setup));

        // Linear: M, N, K off the vector width and the block sizes; K over one K block (256);
        // M over one M block (96); rank-3 input; the [out, in, 1, 1] weight of a 1x1 conv.
        // "Linear+kernel" / "Conv2d+kernel": the same calls through a kernel specialized for their shape.
        foreach (bool kernel in new[] { false, true })
        {
            string op = kernel ? "Linear+kernel" : "Linear";
            foreach (var (m, k, n, bias) in new[] { (1, 1, 1, false), (37, 45, 70, true), (13, 300, 33, false), (200, 520, 40, true), (97, 64, 129, true), (5, 3, 200, true) })
                Add(op, $"M{m} K{k} N{n}{(bias ? " bias" : "")}", Fp32, r => LinearCase(r, [m, k], n, k, bias, rank4: false, kernel));
            Add(op, "batch2 [2,9,64]->96", Fp32, r => LinearCase(r, [2, 9, 64], 96, 64, bias: true, rank4: false, kernel));
            Add(op, "weight [N,K,1,1]", Fp32, r => LinearCase(r, [2, 7, 24], 10, 24, bias: true, rank4: true, kernel));
        }

        // Conv2d: 3x3 stride 1 and 2 with odd H/W, 1x1, channel counts off every block, depth over one
        // K block, output rows shorter and longer than a 32-pixel panel, no padding, batch 2.
        foreach (var (b, ci, co, h, w, k, s, p, bias) in new[]
        {
            (2, 5, 7, 9, 11, 3, 1, 1, true),
            (1, 6, 10, 13, 9, 3, 2, 1, true),
            (2, 17, 9, 6, 7, 1, 1, 0, true),
            (1, 40, 33, 12, 12, 3, 1, 1, false),
            (1, 8, 16, 16, 16, 3, 2, 1, true),
            (1, 3, 4, 7, 8, 3, 1, 0, true),
            (1, 4, 11, 5, 45, 3, 1, 1, true),
            (2, 3, 5, 11, 35, 3, 2, 1, false),
            (1, 9, 300, 4, 4, 1, 1, 0, true),
        })
        {
            Add("Conv2d", $"B{b} {ci}->{co} {h}x{w} k{k} s{s} p{p}{(bias ? " bias" : "")}", Fp32, r => ConvCase(r, b, ci, co, h, w, k, s, p, bias, kernel: false));
            Add("Conv2d+kernel", $"B{b} {ci}->{co} {h}x{w} k{k} s{s} p{p}{(bias ? " bias" : "")}", Fp32, r => ConvCase(r, b, ci, co, h, w, k, s, p, bias, kernel: true));
        }

        // GroupNorm: C/G odd, one group, a large mean (precision of the statistics), rank 3, fused SiLU.
        foreach (var (shape, g, silu, offset) in new[]
        {
            (new[] { 2, 12, 5, 7 }, 4, false, 0f),
            (new[] { 1, 15, 9, 9 }, 5, true, 0f),
            (new[] { 2, 6, 4, 3 }, 1, true, 10f),
            (new[] { 2, 8, 33 }, 2, false, -3f),
            (new[] { 1, 32, 16, 16 }, 32, true, 0.5f),
        })
            Add("GroupNorm", $"{Tensor.FormatShape(shape)} G{g}{(silu ? " silu" : "")}{(offset != 0 ? $" mean{offset}" : "")}", Fp32, r =>
            {
                var x = Offset(Rand(r, shape), offset);
                var gamma = Rand(r, shape[1]);
                var beta = Rand(r, shape[1]);
                return be => be.GroupNorm(x, g, gamma, beta, 1e-5f, silu);
            });

        foreach (var (shape, offset) in new[] { (new[] { 3, 5, 37 }, 0f), (new[] { 2, 64 }, 4f), (new[] { 1, 1 }, 0f), (new[] { 4, 771 }, -2f) })
            Add("LayerNorm", $"{Tensor.FormatShape(shape)}{(offset != 0 ? $" mean{offset}" : "")}", Fp32, r =>
            {
                var x = Offset(Rand(r, shape), offset);
                var gamma = Rand(r, shape[^1]);
                var beta = Rand(r, shape[^1]);
                return be => be.LayerNorm(x, gamma, beta, 1e-5f);
            });

        // Attention: Lq ≠ Lk both ways, causal, head dim 64 and odd, Lk over the key tile (256) and
        // Lq over the query tile (64), batch 2.
        foreach (var (b, lq, lk, heads, d, causal) in new[]
        {
            (2, 16, 16, 2, 64, false),
            (1, 23, 77, 3, 8, false),
            (2, 40, 40, 2, 64, true),
            (1, 19, 21, 1, 33, false),
            (1, 70, 300, 2, 40, false),
            (1, 300, 300, 1, 64, true),
            (1, 10, 20, 2, 16, true),
            (1, 20, 10, 2, 16, true),
            (2, 1, 5, 5, 3, false),
        })
            Add("Attention", $"B{b} Lq{lq} Lk{lk} H{heads} D{d}{(causal ? " causal" : "")}", Fp32, r =>
            {
                var q = Rand(r, 2f, b, lq, heads * d);
                var k = Rand(r, 2f, b, lk, heads * d);
                var v = Rand(r, 1f, b, lk, heads * d);
                return be => be.Attention(q, k, v, heads, causal);
            });

        // Activations over a range wide enough to reach the saturated tails, length off the vector width.
        foreach (var act in Enum.GetValues<Activation>())
            Add("Activate", $"{act} n1003", Fp32, r =>
            {
                var x = Rand(r, 12f, 1003);
                return be => be.Activate(x, act);
            });

        foreach (var shape in new[] { new[] { 2, 5, 74 }, new[] { 3, 128 }, new[] { 1, 2 } })
            Add("Geglu", Tensor.FormatShape(shape), Fp32, r =>
            {
                var x = Rand(r, 4f, shape);
                return be => be.Geglu(x);
            });

        Add("Add", "[7,13]", Fp32, r =>
        {
            var a = Rand(r, 7, 13);
            var b = Rand(r, 7, 13);
            return be => be.Add(a, b);
        });
        Add("AddChannelBias", "[2,5,3,7]", Fp32, r =>
        {
            var x = Rand(r, 2, 5, 3, 7);
            var bias = Rand(r, 2, 5);
            return be => be.AddChannelBias(x, bias);
        });
        Add("Affine", "n1003", Fp32, r =>
        {
            var x = Rand(r, 3f, 1003);
            return be => be.Affine(x, 0.37f, -1.2f);
        });

        foreach (var (shape, oh, ow) in new[] { (new[] { 1, 3, 5, 7 }, 10, 14), (new[] { 2, 2, 5, 7 }, 8, 11), (new[] { 1, 2, 9, 9 }, 4, 5), (new[] { 1, 1, 3, 3 }, 3, 3) })
            Add("UpsampleNearest", $"{Tensor.FormatShape(shape)}->{oh}x{ow}", Exact, r =>
            {
                var x = Rand(r, shape);
                return be => be.UpsampleNearest(x, oh, ow);
            });

        foreach (var (sa, sb, axis) in new[]
        {
            (new[] { 2, 3, 4, 5 }, new[] { 2, 2, 4, 5 }, 1),
            (new[] { 2, 3, 4 }, new[] { 2, 3, 7 }, -1),
            (new[] { 1, 3 }, new[] { 4, 3 }, 0),
            (new[] { 3, 5, 2 }, new[] { 3, 1, 2 }, 1),
        })
            Add("Concat", $"{Tensor.FormatShape(sa)}+{Tensor.FormatShape(sb)} axis{axis}", Exact, r =>
            {
                var a = Rand(r, sa);
                var b = Rand(r, sb);
                return be => be.Concat(a, b, axis);
            });

        foreach (var shape in new[] { new[] { 2, 37, 5, 7 }, new[] { 1, 70, 33, 35 } })
        {
            Add("NchwToTokens", Tensor.FormatShape(shape), Exact, r =>
            {
                var x = Rand(r, shape);
                return be => be.NchwToTokens(x);
            });
            Add("TokensToNchw", Tensor.FormatShape(shape), Exact, r =>
            {
                var x = Rand(r, shape[0], shape[2] * shape[3], shape[1]);
                return be => be.TokensToNchw(x, shape[2], shape[3]);
            });
        }

        Add("Embedding", "[50,9] ids 2x7", Exact, r =>
        {
            var table = Rand(r, 50, 9);
            int[] ids = Enumerable.Range(0, 14).Select(_ => r.Next(50)).ToArray();
            return be => be.Embedding(table, ids, 2);
        });

        // FP32 angles t·freq (t up to 999) carry ~1e-4 absolute error against the double reference.
        foreach (var (shape, dim, flip, shift) in new[] { (new[] { 2 }, 32, true, 0), (new[] { 1, 6 }, 256, true, 0), (new[] { 3 }, 33, false, 1) })
        {
            Add("TimestepEmbedding", $"{Tensor.FormatShape(shape)} dim{dim}{(flip ? " flip" : "")} shift{shift}", 1e-3, r =>
            {
                var t = new Tensor(Enumerable.Range(0, (int)Tensor.ElementCount(shape)).Select(_ => (float)r.Next(1000)).ToArray(), shape);
                return be => be.TimestepEmbedding(t, dim, flip, shift);
            });
        }

        Add("Reshape", "[2,3,4]->[6,4]", Exact, r =>
        {
            var x = Rand(r, 2, 3, 4);
            return be => be.Reshape(x, 6, 4);
        });

        QuantizedOpCases.Add(cases);
        return cases;
    }

    internal static Func<IComputeBackend, Tensor> LinearCase(Random r, int[] xShape, int n, int k, bool bias, bool rank4, bool kernel)
    {
        var x = Rand(r, xShape);
        var w = rank4 ? Rand(r, n, k, 1, 1) : Rand(r, n, k);
        var b = bias ? Rand(r, n) : null;
        var info = new LayerInfo("test", "linear", LayerKind.Linear, w.ShapeArray(), LayerPrecision.Fp32);
        return be => kernel
            ? be.Linear(be.PrepareLinear(info, w, b), x, be.Specialize(new KernelSpec(LayerKind.Linear, w.ShapeArray(), x.ShapeArray(), LayerPrecision.Fp32)))
            : be.Linear(be.PrepareLinear(info, w, b), x);
    }

    internal static Func<IComputeBackend, Tensor> ConvCase(Random r, int b, int ci, int co, int h, int w, int k, int s, int p, bool bias, bool kernel)
    {
        var x = Rand(r, b, ci, h, w);
        var weight = Rand(r, co, ci, k, k);
        var bt = bias ? Rand(r, co) : null;
        var info = new LayerInfo("test", "conv", LayerKind.Conv2d, weight.ShapeArray(), LayerPrecision.Fp32);
        return be => kernel
            ? be.Conv2d(be.PrepareConv2d(info, weight, bt, s, p), x, be.Specialize(new KernelSpec(LayerKind.Conv2d, weight.ShapeArray(), x.ShapeArray(), LayerPrecision.Fp32, s, p)))
            : be.Conv2d(be.PrepareConv2d(info, weight, bt, s, p), x);
    }

    public static Tensor Rand(Random r, params int[] shape) => Rand(r, 1f, shape);

    /// <summary>Uniform in [−scale, scale].</summary>
    public static Tensor Rand(Random r, float scale, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(r.NextDouble() * 2 - 1) * scale;
        return t;
    }

    private static Tensor Offset(Tensor t, float offset)
    {
        for (int i = 0; i < t.Length; i++) t.Data[i] += offset;
        return t;
    }
}
