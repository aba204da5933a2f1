using MixDQ.Compiler.Analysis;
using MixDQ.Compiler.Analysis.Allocation;
using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Compiler.Tests;

public sealed class SimulationTests(ITestOutputHelper output)
{
    private static Tensor Random(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    private static LayerInfo Linear(string name, int n, int k) => new("unet", name, LayerKind.Linear, [n, k], LayerPrecision.Fp32);

    /// <summary>y = fq(x)·dq(W)ᵀ + b in double, the definition the simulation must meet.</summary>
    private static double[] Expected(Tensor x, QuantizedWeight w, float[] bias, ActivationQuantParams? a, int skipTokens = 0)
    {
        int k = w.RowLength, n = w.Rows, m = x.Length / k;
        var dq = w.Dequantize();
        var y = new double[m * n];
        for (int i = skipTokens; i < m; i++)
            for (int o = 0; o < n; o++)
            {
                double acc = bias[o];
                for (int j = 0; j < k; j++)
                {
                    float xv = x.Data[i * k + j];
                    if (a is { } p) xv = p.Dequantize(p.Quantize(xv));
                    acc += (double)xv * dq[o * k + j];
                }
                y[i * n + o] = acc;
            }
        return y;
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void TableLayer_RunsFakeQuantizedWeightsAndInputs_OnTheInnerBackend(int bits)
    {
        var backend = new SimulatedQuantBackend(new CpuBackend());
        var w = Random(1, 24, 40);
        var b = Random(2, 24);
        var info = Linear("blk.ff.net.2", 24, 40);
        var prepared = backend.PrepareLinear(info, w, b);
        var x = Random(3, 2, 5, 40);
        var a = ActivationQuantParams.FromRange(-0.8f, 0.9f, 8);
        backend.SetLayer(info.QualifiedName, new LayerSimulation { WeightBits = bits, Input = [new InputQuantSegment(40, a)] });
        var y = backend.Linear(prepared, x);
        var q = WeightQuantizer.Quantize(w.Data, 24, 40, bits);
        var expected = Expected(x, q, b.Data, a);
        double worst = expected.Select((e, i) => Math.Abs(e - y.Data[i])).Max();
        output.WriteLine($"W{bits}A8 max |error| vs double reference: {worst:E2}");
        Assert.True(worst < 2e-5, $"{worst}");

        backend.SetLayer(info.QualifiedName, LayerSimulation.FloatingPoint);
        var fp = backend.Linear(prepared, x);
        var fpExpected = new CpuBackend().Linear(new CpuBackend().PrepareLinear(info, w, b), x);
        Assert.Equal(fpExpected.Data, fp.Data);
    }

    [Fact]
    public void BosAwareLayer_EmitsTheFpRowAtToken0_AndQuantizesOnlyTheRest()
    {
        var backend = new SimulatedQuantBackend(new CpuBackend());
        var w = Random(4, 16, 32);
        var b = Random(5, 16);
        var info = Linear("blk.attn2.to_k", 16, 32);
        var prepared = backend.PrepareLinear(info, w, b);
        var x = Random(6, 2, 7, 32);
        for (int j = 0; j < 32; j++) x.Data[j] = 800f; // the BOS outlier of batch item 0
        var tap = new InputTap();
        backend.Tap = tap;
        var a = ActivationQuantParams.FromRange(-1, 1, 8);
        backend.SetLayer(info.QualifiedName, new LayerSimulation { WeightBits = 4, Input = [new InputQuantSegment(32, a)], Bos = BosHandling.FloatingPoint });
        var y = backend.Linear(prepared, x);
        Assert.Equal(new[] { 2, 6, 32 }, tap.Shapes.Single());
        Assert.True(tap.Max < 1.01f, "the quantized path never sees token 0");
        var q = WeightQuantizer.Quantize(w.Data, 16, 32, 4);
        for (int batch = 0; batch < 2; batch++)
        {
            var h0 = x.Data.AsSpan(batch * 7 * 32, 32).ToArray();
            var row = QuantizationPass.FloatRow(w.Data, b.Data, h0);
            for (int o = 0; o < 16; o++)
                Assert.True(Math.Abs(row[o] - y.Data[batch * 7 * 16 + o]) <= 1e-5 * Math.Abs(row[o]) + 1e-5, $"token 0, output {o}: {row[o]} vs {y.Data[batch * 7 * 16 + o]}");
        }
        var tokens = Tensor.FromSpan(x.Data.AsSpan(32, 6 * 32), 1, 6, 32); // batch 0, tokens 1..6
        var expected = Expected(tokens, q, b.Data, a);
        double worst = expected.Select((e, i) => Math.Abs(e - y.Data[16 + i])).Max();
        Assert.True(worst < 2e-5, $"{worst}");
    }

    [Fact]
    public void SplitInput_QuantizesEachChannelRunOnItsOwnGrid()
    {
        // NCHW [1, 4, 1, 2]: channels 0-1 (h) hold small values, channels 2-3 (skip) large ones.
        var x = new Tensor([0.1f, 0.2f, 0.3f, -0.1f, 10f, 20f, 30f, -5f], 1, 4, 1, 2);
        var small = ActivationQuantParams.FromRange(-0.1f, 0.3f, 4);
        var large = ActivationQuantParams.FromRange(-5f, 30f, 4);
        var y = SimulatedQuantBackend.FakeQuantize(x, [new InputQuantSegment(2, small), new InputQuantSegment(2, large)], axis: 1);
        for (int i = 0; i < 8; i++)
        {
            var grid = i < 4 ? small : large;
            Assert.Equal(grid.Dequantize(grid.Quantize(x.Data[i])), y.Data[i]);
        }
        Assert.True(Math.Abs(y.Data[0] - 0.1f) <= small.Scale / 2, "the small half keeps its resolution");
        Assert.True(large.Scale / 2 > 0.1f, "one grid over both halves would have crushed the small half");
    }

    [Fact]
    public void StoredLayer_ReplaysTheSameNumbersAsTheTable()
    {
        var w = Random(7, 12, 20);
        var b = Random(8, 12);
        var info = Linear("blk.attn2.to_v", 12, 20);
        var x = Random(9, 1, 4, 20);
        var a = ActivationQuantParams.FromRange(-1, 1, 8);
        var table = new SimulatedQuantBackend(new CpuBackend());
        var tp = table.PrepareLinear(info, w, b);
        table.SetLayer(info.QualifiedName, new LayerSimulation { WeightBits = 8, Input = [new InputQuantSegment(20, a)], Bos = BosHandling.FloatingPoint });
        var expected = table.Linear(tp, x);

        var row = QuantizationPass.FloatRow(w.Data, b.Data, x.Data.AsSpan(0, 20).ToArray());
        var stored = new QuantizedLayer(WeightQuantizer.Quantize(w.Data, 12, 20, 8), [new InputQuantSegment(20, a)], row);
        var replay = new SimulatedQuantBackend(new CpuBackend());
        var rp = replay.PrepareLinear(info, w, b);
        replay.Replay(new Dictionary<string, QuantizedLayer> { [info.QualifiedName] = stored });
        AssertSame(expected, replay.Linear(rp, x));

        var viaContract = new SimulatedQuantBackend(new CpuBackend());
        var cp = viaContract.PrepareQuantizedLinear(info with { Precision = new LayerPrecision(8, 8) }, stored, b);
        AssertSame(expected, viaContract.Linear(cp, x));

        // Tokens 1.. are bit-identical; token 0 is the stored row (double-accumulated) vs the table's FP32 GEMM of the same row.
        static void AssertSame(Tensor expected, Tensor actual)
        {
            Assert.Equal(expected.Data.AsSpan(12).ToArray(), actual.Data.AsSpan(12).ToArray());
            for (int o = 0; o < 12; o++) Assert.True(Math.Abs(expected.Data[o] - actual.Data[o]) < 1e-5, $"{expected.Data[o]} vs {actual.Data[o]}");
        }
    }

    [Fact]
    public void SplitPoints_AreReadOffTheUnetGraph()
    {
        using var session = AnalysisSession.Open(TinyModel.Directory, new CompileSettings { WeightBits = 4, ActivationBits = 8 }, ["x"]);
        var split = session.Layers.Where(l => l.SplitAt is not null).ToList();
        Assert.NotEmpty(split);
        Assert.All(split, l => Assert.Matches(@"^up_blocks\.\d+\.resnets\.\d+\.(conv1|conv_shortcut)$", l.Name));
        Assert.All(session.Layers.Where(l => l.Name.StartsWith("up_blocks.", StringComparison.Ordinal) && l.Name.EndsWith(".conv_shortcut", StringComparison.Ordinal)),
            l => Assert.NotNull(l.SplitAt));
        Assert.All(session.Layers.Where(l => l.BosAware), l => Assert.Matches(@"attn2\.to_[kv]$", l.Name));
        Assert.Equal(session.Layers.Count(l => l.Name.EndsWith("attn2.to_k", StringComparison.Ordinal)) * 2, session.Layers.Count(l => l.BosAware));
    }

    [Fact]
    public void BitProgram_FindsTheBruteForceOptimum_AndReportsInfeasibleBudgets()
    {
        var rng = new Random(11);
        var layers = Enumerable.Range(0, 7).Select(i => new BitChoice($"l{i}", rng.Next(1, 50), [2, 4, 8],
            [rng.NextDouble() * 0.5, 0.5 + rng.NextDouble() * 0.3, 0.8 + rng.NextDouble() * 0.2])).ToList();
        double target = 4.5;
        var r = BitProgram.Solve(layers, target, 0.25);
        Assert.Equal("OPTIMAL", r.Status);
        double best = double.NegativeInfinity;
        foreach (int code in Enumerable.Range(0, (int)Math.Pow(3, layers.Count)))
        {
            var widths = new int[layers.Count];
            double score = 0;
            for (int i = 0, c = code; i < layers.Count; i++, c /= 3)
            {
                widths[i] = layers[i].Widths[c % 3];
                score += layers[i].Scores[c % 3];
            }
            double avg = BitProgram.Average(layers, widths);
            if (avg >= target - 0.25 - 1e-9 && avg <= target + 0.25 + 1e-9) best = Math.Max(best, score);
        }
        double chosen = layers.Select((l, i) => l.Scores[l.Widths.ToList().IndexOf(r.Widths![i])]).Sum();
        // Scores enter CP-SAT rounded to 1e-4, so the optimum may differ from the exact one by that rounding per layer.
        Assert.InRange(best - chosen, 0, layers.Count * 0.5 / BitProgram.ScoreScale);
        Assert.InRange(BitProgram.Average(layers, r.Widths!), target - 0.25, target + 0.25);
        Assert.False(BitProgram.Solve(layers, 9, 0.02).Feasible);
    }

    private sealed class InputTap : ISimulationTap
    {
        public List<int[]> Shapes { get; } = [];
        public float Max { get; private set; } = float.NegativeInfinity;

        public void OnInput(LayerInfo layer, Tensor x)
        {
            Shapes.Add(x.ShapeArray());
            Max = Math.Max(Max, x.Data.Max());
        }

        public void OnOutput(LayerInfo layer, Tensor y)
        {
        }
    }
}
