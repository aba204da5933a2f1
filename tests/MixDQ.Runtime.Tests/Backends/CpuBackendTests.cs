using System.Numerics;
using System.Runtime.Intrinsics;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>What the op table does not cover: function accuracy, argument errors, ISA selection.</summary>
public class CpuBackendTests(ITestOutputHelper output)
{
    private static float[] Sweep(double from, double to, double step)
    {
        var xs = new List<float>();
        for (double x = from; x <= to; x += step) xs.Add((float)x);
        xs.AddRange([0f, 1e-30f, -1e-30f, 1e-7f, -3e-5f, 0.4999f, 0.5f, 0.5001f]);
        return [.. xs];
    }

    private static float[] Apply(float[] xs, Func<Vector<float>, Vector<float>> f)
    {
        int w = Vector<float>.Count;
        var padded = new float[(xs.Length + w - 1) / w * w];
        xs.CopyTo(padded, 0);
        var ys = new float[padded.Length];
        for (int i = 0; i < padded.Length; i += w) f(new Vector<float>(padded, i)).CopyTo(ys, i);
        return ys[..xs.Length];
    }

    /// <summary>Largest |got − want| / |want| over the points where want is not zero (and got must be 0 where it is).</summary>
    private static (double Error, float At) MaxRelativeError(float[] xs, float[] got, Func<double, double> want)
    {
        double worst = 0;
        float at = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double w = want(xs[i]);
            double e = w == 0 ? Math.Abs(got[i]) : Math.Abs(got[i] - w) / Math.Abs(w);
            if (!(e <= worst))
            {
                worst = double.IsNaN(e) ? double.PositiveInfinity : e;
                at = xs[i];
            }
        }
        return (worst, at);
    }

    [Fact]
    public void Erf_relative_error_is_below_1e6_everywhere()
    {
        var xs = Sweep(-9, 9, 1e-3);
        var (error, at) = MaxRelativeError(xs, Apply(xs, VectorMath.Erf), ReferenceBackend.Erf);
        output.WriteLine($"erf: max relative error {error:G3} at x = {at}");
        Assert.True(error < 1e-6, $"erf relative error {error:G3} at x = {at}");
    }

    [Fact]
    public void Gelu_relative_error_is_below_1e6_including_the_negative_tail()
    {
        // Down to x = −12, where GELU is about −2e-32: the tail keeps its relative accuracy.
        var xs = Sweep(-12, 12, 1e-3);
        var got = new CpuBackend(1).Activate(new Tensor(xs, xs.Length), Activation.Gelu).Data;
        var (error, at) = MaxRelativeError(xs, got, ExactGelu);
        output.WriteLine($"gelu: max relative error {error:G3} at x = {at}");
        Assert.True(error < 1e-6, $"GELU relative error {error:G3} at x = {at}");
    }

    /// <summary>
    /// x·Φ(x) in double without the 1 + erf cancellation of the reference (which leaves it only
    /// ~1e-16 absolute accuracy, useless for relative checks of the tail): for x &lt; −3√2,
    /// Φ(x) = ½·erfc(|x|/√2) from the continued fraction e^{−z²}/(√π·(z + ½/(z + 1/(z + 3/2/(z + …))))).
    /// </summary>
    private static double ExactGelu(double x)
    {
        double z = -x / Math.Sqrt(2);
        if (z < 3) return ReferenceBackend.Apply(x, Activation.Gelu);
        double f = 0;
        for (int n = 60; n >= 1; n--) f = n / 2.0 / (z + f);
        return x * 0.5 * Math.Exp(-z * z) / Math.Sqrt(Math.PI) / (z + f);
    }

    [Theory]
    [InlineData(Activation.Silu, 1e-6)]
    // 1.702·x is rounded to float before the exponential: in the far tail (|1.702·x| ≈ 68) that
    // rounding alone moves the result by |1.702·x|·2^-24 ≈ 4e-6 relative.
    [InlineData(Activation.QuickGelu, 1e-5)]
    [InlineData(Activation.Tanh, 1e-6)]
    public void Activation_relative_error_is_small(Activation activation, double bound)
    {
        // SiLU and quick GELU lose relative accuracy only where they underflow (x < −80).
        var xs = Sweep(-40, 40, 1e-3);
        var got = new CpuBackend(1).Activate(new Tensor(xs, xs.Length), activation).Data;
        var (error, at) = MaxRelativeError(xs, got, v => ReferenceBackend.Apply(v, activation));
        output.WriteLine($"{activation}: max relative error {error:G3} at x = {at}");
        Assert.True(error < bound, $"{activation} relative error {error:G3} at x = {at}");
    }

    [Fact]
    public void Exp_is_accurate_and_underflows_to_exact_zero()
    {
        var xs = Sweep(-87, 88, 1e-2);
        var (error, at) = MaxRelativeError(xs, Apply(xs, VectorMath.Exp), Math.Exp);
        output.WriteLine($"exp: max relative error {error:G3} at x = {at}");
        Assert.True(error < 3e-7, $"exp relative error {error:G3} at x = {at}");
        Assert.Equal(0f, VectorMath.Exp(new Vector<float>(float.NegativeInfinity))[0]);
        Assert.Equal(0f, VectorMath.Exp(new Vector<float>(-100f))[0]);
    }

    [Fact]
    public void Exp2_is_accurate_on_both_widths_and_underflows_to_exact_zero()
    {
        var xs = Sweep(-126, 127, 7e-3);
        var (error, at) = MaxRelativeError(xs, Apply(xs, VectorMath.Exp2), v => Math.Pow(2, v));
        output.WriteLine($"exp2: max relative error {error:G3} at x = {at}");
        Assert.True(error < 3e-7, $"exp2 relative error {error:G3} at x = {at}");
        Assert.Equal(0f, VectorMath.Exp2(new Vector<float>(float.NegativeInfinity))[0]);
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;

        var wide = new float[xs.Length];
        for (int i = 0; i + 16 <= xs.Length; i += 16)
            VectorMath512.Exp2(Vector512.Create(xs.AsSpan(i, 16))).CopyTo(wide.AsSpan(i, 16));
        int done = xs.Length / 16 * 16;
        var (wideError, wideAt) = MaxRelativeError(xs[..done], wide[..done], v => Math.Pow(2, v));
        output.WriteLine($"exp2 (512-bit): max relative error {wideError:G3} at x = {wideAt}");
        Assert.True(wideError < 3e-7, $"512-bit exp2 relative error {wideError:G3} at x = {wideAt}");
        Assert.Equal(0f, VectorMath512.Exp2(Vector512.Create(float.NegativeInfinity))[0]);
    }

    [Fact]
    public void Portable_path_can_be_forced_and_reports_itself()
    {
        var portable = new CpuBackend(1, CpuIsa.Portable);
        Assert.Equal(CpuIsa.Portable, portable.Isa);
        Assert.StartsWith("portable", portable.InstructionSet);
        Assert.Equal(1, portable.Threads);
        Assert.Equal(CpuIsaDetector.Best, new CpuBackend().Isa);
        Assert.Equal(Environment.ProcessorCount, new CpuBackend().Threads);
    }

    [Fact]
    public void Concurrent_ops_on_one_instance_give_the_same_results_as_sequential_ones()
    {
        // Per-thread scratch and shared packed weights must not leak between callers.
        var r = new Random(3);
        var backend = new CpuBackend(2);
        var info = new LayerInfo("test", "linear", LayerKind.Linear, [70, 130], LayerPrecision.Fp32);
        var linear = backend.PrepareLinear(info, BackendOpCases.Rand(r, 70, 130), BackendOpCases.Rand(r, 70));
        var inputs = Enumerable.Range(0, 8).Select(_ => BackendOpCases.Rand(r, 150, 130)).ToArray();
        var q = BackendOpCases.Rand(r, 1, 100, 64);
        var sequential = inputs.Select(x => backend.Linear(linear, x).Data).ToArray();
        var attention = backend.Attention(q, q, q, 2, causal: true).Data;

        var concurrent = new float[inputs.Length][];
        var concurrentAttention = new float[inputs.Length][];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            concurrent[i] = backend.Linear(linear, inputs[i]).Data;
            concurrentAttention[i] = backend.Attention(q, q, q, 2, causal: true).Data;
        });
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(sequential[i], concurrent[i]);
            Assert.Equal(attention, concurrentAttention[i]);
        }
    }

    [Fact]
    public void Thread_count_below_one_is_rejected()
    {
        var e = Assert.Throws<MixDQException>(() => new CpuBackend(0));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
    }

    public static TheoryData<string, Action<CpuBackend>, string> BadInputs()
    {
        var info = new LayerInfo("unet", "down.0.proj", LayerKind.Linear, [4, 3], LayerPrecision.Fp32);
        var convInfo = new LayerInfo("unet", "conv_in", LayerKind.Conv2d, [4, 3, 3, 3], LayerPrecision.Fp32);
        var reference = new ReferenceBackend();
        return new()
        {
            { "Linear.x", be => be.Linear(be.PrepareLinear(info, Tensor.Zeros(4, 3), null), Tensor.Zeros(2, 5)), "down.0.proj" },
            { "Linear.layer", be => be.Linear(reference.PrepareLinear(info, Tensor.Zeros(4, 3), null), Tensor.Zeros(2, 3)), "CPU backend" },
            { "PrepareLinear.bias", be => be.PrepareLinear(info, Tensor.Zeros(4, 3), Tensor.Zeros(5)), "5" },
            { "PrepareConv2d.stride", be => be.PrepareConv2d(convInfo, Tensor.Zeros(4, 3, 3, 3), null, 0, 1), "≥ 1" },
            { "Conv2d.x", be => be.Conv2d(be.PrepareConv2d(convInfo, Tensor.Zeros(4, 3, 3, 3), null, 1, 1), Tensor.Zeros(1, 2, 8, 8)), "conv_in" },
            { "Conv2d.x", be => be.Conv2d(be.PrepareConv2d(convInfo, Tensor.Zeros(4, 3, 3, 3), null, 1, 0), Tensor.Zeros(1, 3, 2, 2)), "smaller" },
            { "GroupNorm.groups", be => be.GroupNorm(Tensor.Zeros(1, 6, 2, 2), 4, Tensor.Zeros(6), Tensor.Zeros(6), 1e-5f, false), "groups" },
            { "LayerNorm.gamma", be => be.LayerNorm(Tensor.Zeros(2, 8), Tensor.Zeros(7), Tensor.Zeros(8), 1e-5f), "8" },
            { "Attention.heads", be => be.Attention(Tensor.Zeros(1, 4, 10), Tensor.Zeros(1, 4, 10), Tensor.Zeros(1, 4, 10), 3, false), "heads" },
            { "Attention.v", be => be.Attention(Tensor.Zeros(1, 4, 8), Tensor.Zeros(1, 5, 8), Tensor.Zeros(1, 4, 8), 2, false), "differ" },
            { "Geglu.x", be => be.Geglu(Tensor.Zeros(2, 5)), "even" },
            { "Add.b", be => be.Add(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)), "differ" },
            { "AddChannelBias.bias", be => be.AddChannelBias(Tensor.Zeros(2, 3, 4, 4), Tensor.Zeros(3)), "6" },
            { "Concat.b", be => be.Concat(Tensor.Zeros(2, 3), Tensor.Zeros(3, 3), 1), "differ" },
            { "Concat.axis", be => be.Concat(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3), 2), "axis" },
            { "TokensToNchw.x", be => be.TokensToNchw(Tensor.Zeros(1, 10, 4), 3, 3), "3x3" },
            { "UpsampleNearest.outH", be => be.UpsampleNearest(Tensor.Zeros(1, 1, 2, 2), 0, 4), "≥ 1" },
            { "Embedding.ids", be => be.Embedding(Tensor.Zeros(5, 2), [1, 5], 1), "id 5" },
            { "Embedding.ids", be => be.Embedding(Tensor.Zeros(5, 2), [1, 2, 3], 2), "split" },
        };
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_gives_MixDQ050_naming_the_op_and_tensor(string item, Action<CpuBackend> call, string messagePart)
    {
        var e = Assert.Throws<MixDQException>(() => call(new CpuBackend(2)));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal(item, e.Item);
        Assert.Contains(messagePart, e.Message);
    }
}

/// <summary>Long-sequence attention runs alone so that the allocation count is this test's own.</summary>
[CollectionDefinition(nameof(SerialBackendCollection), DisableParallelization = true)]
public sealed class SerialBackendCollection;

[Collection(nameof(SerialBackendCollection))]
public class CpuLongAttentionTests(ITestOutputHelper output)
{
    [Fact]
    public void Attention_over_4096_tokens_is_exact_on_sampled_rows_and_never_holds_the_score_matrix()
    {
        const int batch = 1, tokens = 4096, heads = 2, d = 64, hd = heads * d;
        var r = new Random(5);
        var q = BackendOpCases.Rand(r, 2f, batch, tokens, hd);
        var k = BackendOpCases.Rand(r, 2f, batch, tokens, hd);
        var v = BackendOpCases.Rand(r, 1f, batch, tokens, hd);
        var backend = new CpuBackend(2);
        backend.Attention(q, k, v, heads, causal: false); // warm up the JIT and the per-thread scratch

        long before = GC.GetTotalAllocatedBytes(precise: true);
        var y = backend.Attention(q, k, v, heads, causal: false);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        long inputs = 3L * q.Length * sizeof(float), scores = (long)heads * tokens * tokens * sizeof(float);
        output.WriteLine($"allocated {allocated / 1e6:F1} MB; inputs {inputs / 1e6:F1} MB; one score matrix per head would be {scores / 1e6:F0} MB");
        Assert.True(allocated < inputs + 2 * y.Length * sizeof(float) + (8 << 20), $"allocated {allocated} bytes");

        foreach (int i in new[] { 0, 1, 63, 64, 1000, 4095 })
            for (int h = 0; h < heads; h++)
            {
                var expected = ExactRow(q, k, v, i, h, d);
                for (int e = 0; e < d; e++)
                    Assert.True(Math.Abs(expected[e] - y.Data[i * hd + h * d + e]) <= 1e-4 * Math.Max(1, Math.Abs(expected[e])),
                        $"row {i} head {h} channel {e}: expected {expected[e]}, got {y.Data[i * hd + h * d + e]}");
            }
    }

    /// <summary>One query row of softmax(q·kᵀ/√d)·v, in double.</summary>
    private static double[] ExactRow(Tensor q, Tensor k, Tensor v, int i, int h, int d)
    {
        int lk = k.Dim(1), hd = q.Dim(2);
        var s = new double[lk];
        double max = double.NegativeInfinity;
        for (int j = 0; j < lk; j++)
        {
            double dot = 0;
            for (int e = 0; e < d; e++) dot += (double)q.Data[i * hd + h * d + e] * k.Data[j * hd + h * d + e];
            s[j] = dot / Math.Sqrt(d);
            max = Math.Max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < lk; j++) sum += s[j] = Math.Exp(s[j] - max);
        var row = new double[d];
        for (int j = 0; j < lk; j++)
            for (int e = 0; e < d; e++) row[e] += s[j] * v.Data[j * hd + h * d + e];
        for (int e = 0; e < d; e++) row[e] /= sum;
        return row;
    }
}
