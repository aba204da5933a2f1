using System.Numerics;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// The fast FP32 CPU implementation of <see cref="IComputeBackend"/>: SIMD (AVX-512F, AVX2+FMA, or a
/// portable <see cref="Vector{T}"/> path, chosen once from what the processor supports), cache-blocked
/// GEMM on a register-blocked micro-kernel shared by linear layers, convolutions and attention, and
/// multithreaded on a bounded number of threads. Ops have the semantics of
/// <see cref="Reference.ReferenceBackend"/> to FP32 rounding. Layers prepared with <see cref="PrepareQuantizedLinear"/> /
/// <see cref="PrepareQuantizedConv2d"/> run integer kernels (W8/W4/W2 with A8/A4 through INT32 GEMMs, or weight-only
/// W8/W4/W2 with FP activations, see <see cref="IntegerIsa"/>); the others in FP32. Instances are thread-safe: ops share only the pool of released outputs
/// (<see cref="Release"/>), which is locked.
/// </summary>
public sealed class CpuBackend : IComputeBackend, IStoredWeightPreparation
{
    private readonly CpuParallel _parallel;
    private readonly GemmEngine _gemm;
    private readonly OutputPool _outputs = new();
    private readonly IntegerIsa _integerIsa;

    /// <summary>Creates the backend.</summary>
    /// <param name="threads">Most threads one op uses; <see cref="Environment.ProcessorCount"/> when null.</param>
    public CpuBackend(int? threads = null)
        : this(threads, CpuIsaDetector.Best, IntegerIsaDetector.Default)
    {
    }

    /// <summary>Creates the backend on a given instruction set (tests force the portable path with this).</summary>
    internal CpuBackend(int? threads, CpuIsa isa)
        : this(threads, isa, isa == CpuIsa.Portable ? IntegerIsa.Portable : IntegerIsaDetector.Default)
    {
    }

    /// <summary>Creates the backend on given FP and integer instruction sets (tests run every path the machine has).</summary>
    internal CpuBackend(int? threads, CpuIsa isa, IntegerIsa integerIsa)
    {
        int count = threads ?? Environment.ProcessorCount;
        CpuChecks.True(count >= 1, nameof(CpuBackend), nameof(threads), $"must be ≥ 1, got {count}");
        CpuChecks.True(CpuIsaDetector.IsSupported(isa), nameof(CpuBackend), "isa", $"{isa} is not supported by this processor");
        _parallel = new CpuParallel(count);
        _gemm = GemmEngine.Create(isa);
        CpuChecks.True(IntegerIsaDetector.IsSupported(integerIsa), nameof(CpuBackend), "integerIsa", $"{integerIsa} is not supported by this processor");
        _integerIsa = integerIsa;
    }

    public string Name => "cpu";

    /// <summary>Most threads one op uses.</summary>
    public int Threads => _parallel.Threads;

    /// <summary>The instruction set of the GEMM micro-kernel, e.g. <c>AVX-512F 8x32</c>.</summary>
    public string InstructionSet => _gemm.Isa switch
    {
        CpuIsa.Avx512 => $"AVX-512F {_gemm.Mr}x{_gemm.Nr}",
        CpuIsa.Avx2 => $"AVX2+FMA {_gemm.Mr}x{_gemm.Nr}",
        _ => $"portable Vector<float>[{Vector<float>.Count}] {_gemm.Mr}x{_gemm.Nr}",
    };

    internal CpuIsa Isa => _gemm.Isa;

    /// <summary>The integer kernels' path, e.g. <c>AVX-VNNI vpdpbusd 4x16</c>.</summary>
    public string IntegerInstructionSet => IntegerIsaDetector.Describe(_integerIsa);

    /// <summary>The integer kernels' path.</summary>
    public IntegerIsa IntegerIsa => _integerIsa;

    /// <summary>AVX-only helpers (transposes) follow the chosen ISA, so forcing the portable path tests their fallback.</summary>
    private bool UseAvx => _gemm.Isa != CpuIsa.Portable;

    /// <summary>An output tensor left uninitialised (possibly released storage): every op writes each element of its output.</summary>
    private Tensor Output(params int[] shape) => new(_outputs.Rent(checked((int)Tensor.ElementCount(shape))), shape);

    /// <summary>Outputs served from released storage so far (<see cref="Release"/>).</summary>
    public long ReusedOutputs => _outputs.Reused;

    /// <summary>
    /// Activation memory: the peak, since <see cref="ResetPeakActivationBytes"/>, of op-output bytes handed out and not
    /// yet handed back through <see cref="Release"/>. Generated model code releases every intermediate at its last use,
    /// so there this is the peak live activation set of a generation; the model graphs release nothing, so there it is
    /// every op output the generation allocated (an upper bound). Kernel scratch (packing, activation codes) is not counted.
    /// </summary>
    public long PeakActivationBytes => _outputs.PeakBytes;

    /// <summary>Starts a new <see cref="PeakActivationBytes"/> measurement at zero (e.g. before one generation).</summary>
    public void ResetPeakActivationBytes() => _outputs.ResetPeak();

    public void Release(Tensor tensor)
    {
        CpuChecks.NotNull(nameof(Release), nameof(tensor), tensor);
        if (!_outputs.Return(tensor.Data))
            throw CpuChecks.Fail(nameof(Release), nameof(tensor),
                $"{Tensor.FormatShape(tensor.Shape)} is not an output of this backend still in use (released twice, or not made by an op)");
    }

    public IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias)
    {
        CpuChecks.NotNull(nameof(PrepareLinear), nameof(weight), weight);
        var (n, k) = LinearDims(layer, weight.Shape, bias);
        var packed = PackedPanels.Pack(weight.Data, n, k, _gemm.Nr);
        return new CpuPreparedLinear(layer, k, n, packed, bias?.Data.ToArray(), _gemm);
    }

    /// <summary>The FP32 layer packed straight from where its weight is stored (converted and packed in one pass, in parallel).</summary>
    public IPreparedLinear PrepareLinear(LayerInfo layer, IStoredWeight weight, Tensor? bias)
    {
        CpuChecks.NotNull(nameof(PrepareLinear), nameof(weight), weight);
        // Integer layers are prepared from the whole weight: that overload is where their preparation plugs in.
        if (layer is { Precision.IsFloat: false }) return PrepareLinear(layer, weight.ReadAll(), bias);
        var (n, k) = LinearDims(layer, weight.Shape, bias);
        var packed = PackedPanels.Pack(weight, n, k, _gemm.Nr, _parallel);
        return new CpuPreparedLinear(layer, k, n, packed, bias?.Data.ToArray(), _gemm);
    }

    /// <summary>Checks a linear layer's weight shape ([out, in] or [out, in, kh, kw]) and bias; returns N (out) and K (in).</summary>
    private static (int N, int K) LinearDims(LayerInfo layer, ReadOnlySpan<int> shape, Tensor? bias)
    {
        const string op = nameof(PrepareLinear);
        CpuChecks.NotNull(op, nameof(layer), layer);
        CpuChecks.True(shape.Length is 2 or 4, op, "weight", $"expected [out, in] (or [out, in, kh, kw]), got {Tensor.FormatShape(shape)} for {layer.QualifiedName}");
        long total = Tensor.ElementCount(shape);
        int n = shape[0], k = n == 0 ? 0 : (int)(total / n);
        CpuChecks.True(n >= 1 && k >= 1, op, "weight", $"empty weight {Tensor.FormatShape(shape)} for {layer.QualifiedName}");
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, n);
        return (n, k);
    }

    public IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding)
    {
        CpuChecks.NotNull(nameof(PrepareConv2d), nameof(weight), weight);
        var (cout, cin, ks) = ConvDims(layer, weight.Shape, bias, stride, padding);
        var packed = PackedPanels.Pack(weight.Data, cout, cin * ks * ks, _gemm.Mr);
        return new CpuPreparedConv2d(layer, cin, cout, ks, stride, padding, packed, bias?.Data.ToArray(), _gemm);
    }

    /// <summary>The FP32 convolution packed straight from where its weight is stored (converted and packed in one pass, in parallel).</summary>
    public IPreparedConv2d PrepareConv2d(LayerInfo layer, IStoredWeight weight, Tensor? bias, int stride, int padding)
    {
        CpuChecks.NotNull(nameof(PrepareConv2d), nameof(weight), weight);
        if (layer is { Precision.IsFloat: false }) return PrepareConv2d(layer, weight.ReadAll(), bias, stride, padding);
        var (cout, cin, ks) = ConvDims(layer, weight.Shape, bias, stride, padding);
        var packed = PackedPanels.Pack(weight, cout, cin * ks * ks, _gemm.Mr, _parallel);
        return new CpuPreparedConv2d(layer, cin, cout, ks, stride, padding, packed, bias?.Data.ToArray(), _gemm);
    }

    /// <summary>Checks a convolution's weight shape [out, in, k, k], bias, stride and padding; returns out, in and k.</summary>
    private static (int Out, int In, int Kernel) ConvDims(LayerInfo layer, ReadOnlySpan<int> shape, Tensor? bias, int stride, int padding)
    {
        const string op = nameof(PrepareConv2d);
        CpuChecks.NotNull(op, nameof(layer), layer);
        CpuChecks.True(shape.Length == 4, op, "weight", $"expected rank 4, got {Tensor.FormatShape(shape)}");
        int cout = shape[0], cin = shape[1], ks = shape[2];
        CpuChecks.True(cout >= 1 && cin >= 1 && ks >= 1 && shape[3] == ks, op, "weight",
            $"expected a non-empty square kernel [out, in, k, k], got {Tensor.FormatShape(shape)} for {layer.QualifiedName}");
        CpuChecks.Positive(op, nameof(stride), stride);
        CpuChecks.True(padding >= 0, op, nameof(padding), $"must be ≥ 0, got {padding}");
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, cout);
        return (cout, cin, ks);
    }

    public bool Supports(KernelSpec spec) => spec.Precision.IsFloat || IntegerPrecisions.IsKnown(spec.Precision);

    public IPreparedLinear PrepareQuantizedLinear(LayerInfo layer, QuantizedLayer weights, Tensor? bias)
    {
        const string op = nameof(PrepareQuantizedLinear);
        CpuChecks.NotNull(op, nameof(layer), layer);
        CpuChecks.True(layer.WeightShape.Length is 2 or 4, op, nameof(layer), $"expected a weight [out, in] (or [out, in, 1, 1]), got {Tensor.FormatShape(layer.WeightShape)} for {layer.QualifiedName}");
        int n = layer.WeightShape[0], k = (int)(layer.ParameterCount / Math.Max(1, n));
        IntegerPrecisions.Check(layer, weights, n, k, k, Name);
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, n);
        return new CpuQuantizedLinear(layer, k, n, IntegerWeights.Create(weights, 1, bias?.Data.ToArray(), _integerIsa, layer.QualifiedName), _gemm);
    }

    public IPreparedConv2d PrepareQuantizedConv2d(LayerInfo layer, QuantizedLayer weights, Tensor? bias, int stride, int padding)
    {
        const string op = nameof(PrepareQuantizedConv2d);
        CpuChecks.NotNull(op, nameof(layer), layer);
        var shape = layer.WeightShape;
        CpuChecks.True(shape.Length == 4 && shape[0] >= 1 && shape[1] >= 1 && shape[2] >= 1 && shape[3] == shape[2], op, nameof(layer),
            $"expected a square kernel [out, in, k, k], got {Tensor.FormatShape(shape)} for {layer.QualifiedName}");
        CpuChecks.Positive(op, nameof(stride), stride);
        CpuChecks.True(padding >= 0, op, nameof(padding), $"must be ≥ 0, got {padding}");
        int cout = shape[0], cin = shape[1], ks = shape[2];
        IntegerPrecisions.Check(layer, weights, cout, cin * ks * ks, cin, Name);
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, cout);
        return new CpuQuantizedConv2d(layer, cin, cout, ks, stride, padding, IntegerWeights.Create(weights, ks * ks, bias?.Data.ToArray(), _integerIsa, layer.QualifiedName), _gemm);
    }

    /// <summary>Weight bytes a prepared layer keeps resident (FP32 panels, or integer panels with their scales): memory accounting.</summary>
    public static long ResidentWeightBytes(object prepared) => prepared switch
    {
        CpuPreparedLinear l => 4L * (l.Weights.PanelCount * l.Weights.PanelStride + (l.Bias?.Length ?? 0)),
        CpuPreparedConv2d c => 4L * (c.Weights.PanelCount * c.Weights.PanelStride + (c.Bias?.Length ?? 0)),
        CpuQuantizedLinear q => q.Weights.ResidentBytes,
        CpuQuantizedConv2d q => q.Weights.ResidentBytes,
        _ => 0,
    };

    private Tensor QuantizedLinear(CpuQuantizedLinear q, Tensor x, int[] shape, LinearSchedule schedule)
    {
        var y = Output(shape);
        int m = x.Length / q.InFeatures;
        if (m == 0) return y;
        if (q.Weights.QuantizesInput)
            IntegerLinearDriver.Run(_parallel, q.Weights, x.Data, m, q.InFeatures, q.OutFeatures, y.Data, x.Rank >= 2 ? x.Dim(-2) : 1);
        else
        {
            WeightOnlyLinearDriver.Run(q.Engine, _parallel, x.Data, schedule, q.Weights.Stored!, q.Weights.Bias, y.Data);
            BosRows.Write(q.Weights.Bos, y.Data, m, q.OutFeatures, x.Rank >= 2 ? x.Dim(-2) : 1);
        }
        return y;
    }

    private Tensor QuantizedConv2d(CpuQuantizedConv2d q, Tensor x, in ConvGeometry g, int[] shape, in ConvSchedule schedule)
    {
        var y = Output(shape);
        if (y.Length == 0) return y;
        if (q.Weights.QuantizesInput) IntegerConv2dDriver.Run(_parallel, q.Weights, x.Data, x.Dim(0), g, q.OutChannels, y.Data);
        else WeightOnlyConv2dDriver.Run(q.Engine, _parallel, x.Data, schedule, q.Weights.Stored!, q.Weights.Bias, y.Data);
        return y;
    }

    public Tensor Linear(IPreparedLinear layer, Tensor x)
    {
        const string op = nameof(Linear);
        if (layer is CpuQuantizedLinear q)
        {
            CpuChecks.MinRank(op, nameof(x), x, 1);
            CpuChecks.True(x.Dim(-1) == q.InFeatures, op, nameof(x), $"last dimension must be {q.InFeatures} for {q.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
            var qShape = x.ShapeArray();
            qShape[^1] = q.OutFeatures;
            return QuantizedLinear(q, x, qShape, LinearSchedule.For(q.Engine, _parallel.Threads, x.Length / q.InFeatures, q.InFeatures, q.OutFeatures));
        }
        if (layer is not CpuPreparedLinear l) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the CPU backend ({layer?.GetType().Name ?? "null"})");
        CpuChecks.MinRank(op, nameof(x), x, 1);
        CpuChecks.True(x.Dim(-1) == l.InFeatures, op, nameof(x), $"last dimension must be {l.InFeatures} for {l.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
        var shape = x.ShapeArray();
        shape[^1] = l.OutFeatures;
        var y = Output(shape);
        int m = x.Length / l.InFeatures;
        if (m > 0) LinearDriver.Run(l.Engine, _parallel, x.Data, LinearSchedule.For(l.Engine, _parallel.Threads, m, l.InFeatures, l.OutFeatures), l.Weights, l.Bias, y.Data);
        return y;
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x)
    {
        const string op = nameof(Conv2d);
        if (layer is CpuQuantizedConv2d q)
        {
            CpuChecks.Rank(op, nameof(x), x, 4);
            CpuChecks.True(x.Dim(1) == q.InChannels, op, nameof(x), $"expected {q.InChannels} channels for {q.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
            var qg = new ConvGeometry(q.InChannels, x.Dim(2), x.Dim(3), q.KernelSize, q.Stride, q.Padding);
            CpuChecks.True(qg.Height + 2 * qg.Padding >= qg.Kernel && qg.Width + 2 * qg.Padding >= qg.Kernel, op, nameof(x),
                $"input {Tensor.FormatShape(x.Shape)} is smaller than the {qg.Kernel}x{qg.Kernel} kernel of {q.Layer.QualifiedName}");
            return QuantizedConv2d(q, x, qg, [x.Dim(0), q.OutChannels, qg.OutHeight, qg.OutWidth], ConvSchedule.For(q.Engine, _parallel.Threads, x.Dim(0), qg, q.OutChannels));
        }
        if (layer is not CpuPreparedConv2d c) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the CPU backend ({layer?.GetType().Name ?? "null"})");
        CpuChecks.Rank(op, nameof(x), x, 4);
        CpuChecks.True(x.Dim(1) == c.InChannels, op, nameof(x), $"expected {c.InChannels} channels for {c.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
        var g = new ConvGeometry(c.InChannels, x.Dim(2), x.Dim(3), c.KernelSize, c.Stride, c.Padding);
        CpuChecks.True(g.Height + 2 * g.Padding >= g.Kernel && g.Width + 2 * g.Padding >= g.Kernel, op, nameof(x),
            $"input {Tensor.FormatShape(x.Shape)} is smaller than the {g.Kernel}x{g.Kernel} kernel of {c.Layer.QualifiedName}");
        var y = Output(x.Dim(0), c.OutChannels, g.OutHeight, g.OutWidth);
        if (y.Length > 0) Conv2dDriver.Run(c.Engine, _parallel, x.Data, ConvSchedule.For(c.Engine, _parallel.Threads, x.Dim(0), g, c.OutChannels), c.Weights, c.Bias, y.Data);
        return y;
    }

    /// <summary>
    /// Plans the GEMM of one call shape once: blocking, task partition and output shape are computed here instead of
    /// on every call (the same plan the generic op computes, so results are identical bit for bit).
    /// </summary>
    public IKernel Specialize(KernelSpec spec)
    {
        const string op = nameof(Specialize);
        CpuChecks.NotNull(op, nameof(spec), spec);
        if (!Supports(spec))
            throw new Diagnostics.MixDQException(Diagnostics.ErrorCodes.PrecisionNotSupported, $"the {Name} backend has no kernel for {spec}", item: spec.ToString());
        var w = spec.WeightShape;
        var x = spec.InputShape;
        if (spec.Op == LayerKind.Linear)
        {
            bool weightOk = w.Length == 2 || (w.Length == 4 && w[2] == 1 && w[3] == 1); // [out, in] or a 1x1 conv's [out, in, 1, 1]
            CpuChecks.True(weightOk && x.Length >= 1 && x[^1] == w[1] && w[0] >= 1 && w[1] >= 1, op, nameof(spec), $"not a linear call: {spec}");
            int m = (int)(Tensor.ElementCount(x) / w[1]);
            return new CpuKernel(spec, spec.OutputShape(), LinearSchedule.For(_gemm, _parallel.Threads, m, w[1], w[0]), default);
        }
        CpuChecks.True(w.Length == 4 && x.Length == 4 && x[1] == w[1] && w[2] == w[3] && spec.Stride >= 1 && spec.Padding >= 0
            && x[2] + 2 * spec.Padding >= w[2] && x[3] + 2 * spec.Padding >= w[2], op, nameof(spec), $"not a conv2d call: {spec}");
        var g = new ConvGeometry(w[1], x[2], x[3], w[2], spec.Stride, spec.Padding);
        return new CpuKernel(spec, spec.OutputShape(), default, ConvSchedule.For(_gemm, _parallel.Threads, x[0], g, w[0]));
    }

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel)
    {
        const string op = nameof(Linear);
        if (kernel is not CpuKernel k || k.Spec.Op != LayerKind.Linear) throw CpuChecks.Fail(op, nameof(kernel), "is not a linear kernel of the CPU backend");
        if (layer is CpuQuantizedLinear q)
        {
            k.Spec.CheckCall(q.Layer, x);
            return QuantizedLinear(q, x, k.OutputShape, k.Linear);
        }
        if (layer is not CpuPreparedLinear l) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the CPU backend ({layer?.GetType().Name ?? "null"})");
        k.Spec.CheckCall(l.Layer, x);
        var y = Output(k.OutputShape);
        if (k.Linear.M > 0) LinearDriver.Run(l.Engine, _parallel, x.Data, k.Linear, l.Weights, l.Bias, y.Data);
        return y;
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel)
    {
        const string op = nameof(Conv2d);
        if (kernel is not CpuKernel k || k.Spec.Op != LayerKind.Conv2d) throw CpuChecks.Fail(op, nameof(kernel), "is not a conv2d kernel of the CPU backend");
        if (layer is CpuQuantizedConv2d q)
        {
            k.Spec.CheckCall(q.Layer, x, q.Stride, q.Padding);
            return QuantizedConv2d(q, x, k.Conv.Geometry, k.OutputShape, k.Conv);
        }
        if (layer is not CpuPreparedConv2d c) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the CPU backend ({layer?.GetType().Name ?? "null"})");
        k.Spec.CheckCall(c.Layer, x, c.Stride, c.Padding);
        var y = Output(k.OutputShape);
        if (y.Length > 0) Conv2dDriver.Run(c.Engine, _parallel, x.Data, k.Conv, c.Weights, c.Bias, y.Data);
        return y;
    }

    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu)
    {
        const string op = nameof(GroupNorm);
        CpuChecks.MinRank(op, nameof(x), x, 2);
        CpuChecks.Positive(op, nameof(groups), groups);
        int b = x.Dim(0), c = x.Dim(1);
        CpuChecks.True(c % groups == 0, op, nameof(groups), $"{c} channels do not split into {groups} groups");
        CpuChecks.Length(op, nameof(gamma), gamma, c);
        CpuChecks.Length(op, nameof(beta), beta, c);
        var y = Output(x.ShapeArray());
        if (x.Length > 0) Normalization.GroupNorm(_parallel, x.Data, b, c, groups, gamma.Data, beta.Data, eps, silu, y.Data);
        return y;
    }

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        const string op = nameof(LayerNorm);
        CpuChecks.MinRank(op, nameof(x), x, 1);
        int c = x.Dim(-1);
        CpuChecks.Length(op, nameof(gamma), gamma, c);
        CpuChecks.Length(op, nameof(beta), beta, c);
        var y = Output(x.ShapeArray());
        if (x.Length > 0) Normalization.LayerNorm(_parallel, x.Data, c, gamma.Data, beta.Data, eps, y.Data);
        return y;
    }

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal)
    {
        var (b, lq, lk, hd) = CpuChecks.Attention(q, k, v, heads);
        var y = Output(b, lq, hd);
        if (y.Length > 0) AttentionDriver.Run(_gemm, _parallel, q.Data, k.Data, v.Data, b, lq, lk, heads, causal, y.Data);
        return y;
    }

    public Tensor Activate(Tensor x, Activation activation)
    {
        CpuChecks.NotNull(nameof(Activate), nameof(x), x);
        CpuChecks.True(Enum.IsDefined(activation), nameof(Activate), nameof(activation), $"unknown activation {(int)activation}");
        var y = Output(x.ShapeArray());
        Elementwise.Activate(_parallel, activation, x.Data, y.Data);
        return y;
    }

    public Tensor Geglu(Tensor x)
    {
        const string op = nameof(Geglu);
        CpuChecks.MinRank(op, nameof(x), x, 1);
        int c2 = x.Dim(-1);
        CpuChecks.True(c2 % 2 == 0, op, nameof(x), $"last dimension must be even, got {Tensor.FormatShape(x.Shape)}");
        var shape = x.ShapeArray();
        shape[^1] = c2 / 2;
        var y = Output(shape);
        if (y.Length > 0) Elementwise.Geglu(_parallel, x.Data, x.Length / c2, c2 / 2, y.Data);
        return y;
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        CpuChecks.NotNull(nameof(Add), nameof(a), a);
        CpuChecks.NotNull(nameof(Add), nameof(b), b);
        CpuChecks.True(a.SameShape(b), nameof(Add), nameof(b), $"shapes differ: {Tensor.FormatShape(a.Shape)} and {Tensor.FormatShape(b.Shape)}");
        var y = Output(a.ShapeArray());
        Elementwise.Add(_parallel, a.Data, b.Data, y.Data);
        return y;
    }

    public Tensor AddChannelBias(Tensor x, Tensor bias)
    {
        const string op = nameof(AddChannelBias);
        CpuChecks.MinRank(op, nameof(x), x, 2);
        int b = x.Dim(0), c = x.Dim(1);
        CpuChecks.Length(op, nameof(bias), bias, (long)b * c);
        var y = Output(x.ShapeArray());
        if (y.Length > 0) Elementwise.AddPlaneBias(_parallel, x.Data, bias.Data, x.Length / (b * c), y.Data);
        return y;
    }

    public Tensor Affine(Tensor x, float scale, float shift)
    {
        CpuChecks.NotNull(nameof(Affine), nameof(x), x);
        var y = Output(x.ShapeArray());
        Elementwise.Affine(_parallel, x.Data, scale, shift, y.Data);
        return y;
    }

    public Tensor UpsampleNearest(Tensor x, int outH, int outW)
    {
        const string op = nameof(UpsampleNearest);
        CpuChecks.Rank(op, nameof(x), x, 4);
        CpuChecks.Positive(op, nameof(outH), outH);
        CpuChecks.Positive(op, nameof(outW), outW);
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        CpuChecks.True(h >= 1 && w >= 1, op, nameof(x), $"empty image {Tensor.FormatShape(x.Shape)}");
        var y = Output(b, c, outH, outW);
        if (y.Length > 0) Layout.UpsampleNearest(_parallel, x.Data, b * c, h, w, outH, outW, y.Data);
        return y;
    }

    public Tensor Concat(Tensor a, Tensor b, int axis)
    {
        int ax = CpuChecks.Concat(a, b, axis);
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= a.Dim(i);
        for (int i = ax + 1; i < a.Rank; i++) inner *= a.Dim(i);
        var shape = a.ShapeArray();
        shape[ax] = a.Dim(ax) + b.Dim(ax);
        var y = Output(shape);
        if (y.Length > 0) Layout.Concat(_parallel, a.Data, b.Data, outer, a.Dim(ax) * inner, b.Dim(ax) * inner, y.Data);
        return y;
    }

    public Tensor NchwToTokens(Tensor x)
    {
        CpuChecks.Rank(nameof(NchwToTokens), nameof(x), x, 4);
        int b = x.Dim(0), c = x.Dim(1), hw = x.Dim(2) * x.Dim(3);
        var y = Output(b, hw, c);
        if (y.Length > 0) Layout.Transpose(_parallel, x.Data, y.Data, b, c, hw, UseAvx);
        return y;
    }

    public Tensor TokensToNchw(Tensor x, int height, int width)
    {
        const string op = nameof(TokensToNchw);
        CpuChecks.Rank(op, nameof(x), x, 3);
        CpuChecks.True(height >= 0 && width >= 0 && (long)height * width == x.Dim(1), op, nameof(x),
            $"{Tensor.FormatShape(x.Shape)} does not hold {height}x{width} tokens");
        int b = x.Dim(0), hw = x.Dim(1), c = x.Dim(2);
        var y = Output(b, c, height, width);
        if (y.Length > 0) Layout.Transpose(_parallel, x.Data, y.Data, b, hw, c, UseAvx);
        return y;
    }

    public Tensor Embedding(Tensor table, int[] ids, int batch)
    {
        const string op = nameof(Embedding);
        CpuChecks.Rank(op, nameof(table), table, 2);
        CpuChecks.NotNull(op, nameof(ids), ids);
        CpuChecks.Positive(op, nameof(batch), batch);
        CpuChecks.True(ids.Length % batch == 0, op, nameof(ids), $"{ids.Length} ids do not split into {batch} sequences");
        int vocab = table.Dim(0), c = table.Dim(1);
        for (int i = 0; i < ids.Length; i++)
            CpuChecks.True((uint)ids[i] < (uint)vocab, op, nameof(ids), $"id {ids[i]} at {i} is outside the table's {vocab} rows");
        var y = Output(batch, ids.Length / batch, c);
        for (int i = 0; i < ids.Length; i++) Array.Copy(table.Data, (long)ids[i] * c, y.Data, (long)i * c, c);
        return y;
    }

    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift)
    {
        const string op = nameof(TimestepEmbedding);
        CpuChecks.True(values.Rank is 1 or 2, op, nameof(values), $"must be [B] or [B, k], got {Tensor.FormatShape(values.Shape)}");
        CpuChecks.Positive(op, nameof(dim), dim);
        int k = values.Rank == 2 ? values.Dim(1) : 1;
        var y = Output(values.Dim(0), k * dim);
        Models.Unet.TimestepSinusoid.Embed(values.Data, dim, flipSinToCos, freqShift, y.Data);
        return y;
    }

    public Tensor Reshape(Tensor x, params int[] shape) => x.Reshape(shape);
}
