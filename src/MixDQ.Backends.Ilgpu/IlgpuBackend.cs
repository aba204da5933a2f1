using System.Collections.Concurrent;
using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using MixDQ.Backends.Ilgpu.Kernels;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Unet;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Backends.Ilgpu;

/// <summary>
/// The ILGPU backend: every op of <see cref="IComputeBackend"/> as an ILGPU kernel (shared-memory-tiled implicit GEMM
/// for linear and conv2d with FP32 or FP16 weights and FP32 accumulation; integer linear and conv2d at every plan width
/// on the stored packed codes, through dp4a or mma.sync tensor-core tiles; group-reduced norms, online-softmax attention,
/// pointwise and layout kernels), on CUDA or, for tests, ILGPU's CPU accelerator. Weights are uploaded once, at prepare.
/// Known limitation until tensors can live on a device (issue 14, item 0): <see cref="Tensor"/> is a host float[], so
/// each op uploads its inputs and downloads its output; the timestep embedding (a [B, dim] table) is computed on the host.
/// </summary>
public sealed class IlgpuBackend : IComputeBackend, IDisposable
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly DeviceMemory _memory;
    private readonly IlgpuKernelSet _kernels;
    private readonly ConcurrentDictionary<string, IlgpuKernel> _specialized = new();

    private IlgpuBackend(Context context, Accelerator accelerator, IlgpuAcceleratorKind kind, bool allowTensorCores = true, bool emulateTensorCores = false)
    {
        _context = context;
        _accelerator = accelerator;
        Kind = kind;
        _memory = new DeviceMemory(accelerator);
        _kernels = new IlgpuKernelSet(accelerator, allowTensorCores, emulateTensorCores);
    }

    /// <summary>
    /// Tests only: a CPU accelerator with 32-lane warps whose integer GEMMs take the tensor-core path, its m16n8k32 products
    /// computed by warp shuffles from the same fragments mma.sync would get (everything but the instruction itself).
    /// </summary>
    internal static IlgpuBackend CreateCpuAcceleratorWithTensorCorePath()
    {
        var (context, accelerator) = IlgpuAccelerators.CreateCpuWithCudaWarps();
        return new IlgpuBackend(context, accelerator, IlgpuAcceleratorKind.Cpu, emulateTensorCores: true);
    }

    /// <summary>A backend on the first CUDA device; MIXDQ057 when there is none.</summary>
    public static IlgpuBackend CreateCuda() => Create(IlgpuAcceleratorKind.Cuda);

    /// <summary>A backend on ILGPU's CPU accelerator (tests and the CPU rehearsal of gpu-check only: it is slow).</summary>
    public static IlgpuBackend CreateCpuAccelerator() => Create(IlgpuAcceleratorKind.Cpu);

    /// <param name="kind">The accelerator.</param>
    /// <param name="allowTensorCores">False keeps integer GEMMs on dp4a even on an sm_80+ GPU (to compare the two paths).</param>
    public static IlgpuBackend Create(IlgpuAcceleratorKind kind, bool allowTensorCores = true)
    {
        var created = IlgpuAccelerators.TryCreate(kind)
            ?? throw new MixDQException(ErrorCodes.DeviceUnavailable, "no CUDA device found (is the NVIDIA driver's libcuda.so on the library path?)");
        return new IlgpuBackend(created.Context, created.Accelerator, kind, allowTensorCores);
    }

    public string Name => $"ilgpu-{(Kind == IlgpuAcceleratorKind.Cuda ? "cuda" : "cpu")}";

    public IlgpuAcceleratorKind Kind { get; }

    /// <summary>The device's name as the driver reports it.</summary>
    public string DeviceName => _accelerator.Name;

    /// <summary>Most device memory this backend held at once since creation or <see cref="ResetPeakMemory"/>.</summary>
    public long PeakDeviceBytes => _memory.PeakBytes;

    public long LiveDeviceBytes => _memory.LiveBytes;

    public void ResetPeakMemory() => _memory.ResetPeak();

    /// <summary>Time spent loading the shape-independent kernels plus every specialization so far.</summary>
    public TimeSpan CompileTime => _kernels.LoadTime + TimeSpan.FromTicks(_specialized.Values.Sum(k => k.CompileTime.Ticks));

    public int SpecializedKernelCount => _specialized.Count;

    public IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias)
    {
        const string op = nameof(PrepareLinear);
        CpuChecks.True(weight.Rank == 2 || (weight.Rank == 4 && weight.Dim(2) == 1 && weight.Dim(3) == 1), op, nameof(weight),
            $"expected [out, in] or [out, in, 1, 1], got {Tensor.FormatShape(weight.Shape)}");
        int n = weight.Dim(0), k = weight.Dim(1);
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, n);
        return new IlgpuPreparedLinear(layer, k, n, UploadWeights(layer, weight, bias, n));
    }

    public IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding)
    {
        const string op = nameof(PrepareConv2d);
        CpuChecks.Rank(op, nameof(weight), weight, 4);
        CpuChecks.True(weight.Dim(2) == weight.Dim(3), op, nameof(weight), $"expected a square kernel, got {Tensor.FormatShape(weight.Shape)}");
        CpuChecks.Positive(op, nameof(stride), stride);
        CpuChecks.True(padding >= 0, op, nameof(padding), $"must be ≥ 0, got {padding}");
        int n = weight.Dim(0);
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, n);
        return new IlgpuPreparedConv2d(layer, weight.Dim(1), n, weight.Dim(2), stride, padding, UploadWeights(layer, weight, bias, n));
    }

    private DeviceGemmWeights UploadWeights(LayerInfo layer, Tensor weight, Tensor? bias, int outChannels) =>
        DeviceGemmWeights.Upload(_kernels, _memory, weight.Data, bias?.Data, outChannels, fp16: layer.Precision.WeightBits == 16);

    /// <summary>
    /// Integer linear layers at every width the plan gives (W8/W4/W2 × A8/A4 through the integer GEMM, weight-only WxA16
    /// through the FP GEMM reading packed codes), with one or two input runs and an optional BOS row.
    /// </summary>
    public IPreparedLinear PrepareQuantizedLinear(LayerInfo layer, QuantizedLayer weights, Tensor? bias)
    {
        const string op = nameof(PrepareQuantizedLinear);
        CpuChecks.NotNull(op, nameof(layer), layer);
        CpuChecks.True(layer.WeightShape.Length is 2 or 4, op, nameof(layer), $"expected a weight [out, in] (or [out, in, 1, 1]), got {Tensor.FormatShape(layer.WeightShape)} for {layer.QualifiedName}");
        int n = layer.WeightShape[0], k = (int)(layer.ParameterCount / Math.Max(1, n));
        IntegerPrecisions.Check(layer, weights, n, k, k, Name);
        if (bias is not null) CpuChecks.Length(op, nameof(bias), bias, n);
        return new IlgpuPreparedLinear(layer, k, n, DeviceQuantizedWeights.Upload(_kernels, _memory, layer, weights, bias?.Data, 1, Name));
    }

    /// <summary>Integer conv2d (implicit GEMM over in·k·k codes per output channel) at every width <see cref="PrepareQuantizedLinear"/> takes.</summary>
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
        return new IlgpuPreparedConv2d(layer, cin, cout, ks, stride, padding,
            DeviceQuantizedWeights.Upload(_kernels, _memory, layer, weights, bias?.Data, ks * ks, Name));
    }

    /// <summary>
    /// Float layers (FP32, or FP16 weights at 16-bit weight precision; FP32 accumulation) and every integer precision of
    /// the plan format (<see cref="IntegerPrecisions.IsKnown"/>), linear and conv2d. What prepare still refuses (MIXDQ091)
    /// is layout, not precision: more than two input runs, or a run deeper than INT32 sums allow.
    /// </summary>
    public bool Supports(KernelSpec spec) => spec.Precision.IsFloat || IntegerPrecisions.IsKnown(spec.Precision);

    /// <summary>True when integer GEMMs run mma.sync tensor-core tiles (CUDA sm_80+), false for dp4a / the portable path.</summary>
    public bool UsesTensorCores => _kernels.TensorCores;

    public Tensor Linear(IPreparedLinear layer, Tensor x)
    {
        var l = CheckLinear(layer, x);
        int tokens = x.Rank >= 2 ? x.Dim(-2) : 1;
        return RunGemm(l.Weights, GemmGeometry.Linear(x.Length / l.InFeatures, l.InFeatures, l.OutFeatures), x, LinearOutputShape(x, l.OutFeatures), tokens);
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x)
    {
        var (c, g) = CheckConv(layer, x);
        return RunGemm(c.Weights, g, x, [g.Batch, g.OutChannels, g.OutHeight, g.OutWidth]);
    }

    /// <summary>
    /// Compiles the GEMM of <paramref name="spec"/> with its shape as constants (a launch with batch 0: ILGPU specializes
    /// and, on CUDA, JITs on the first launch of each distinct value set), once per backend; later calls reuse it.
    /// </summary>
    public IKernel Specialize(KernelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!Supports(spec))
            throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {Name} backend has no {spec.Precision} kernel for {spec}");
        return _specialized.GetOrAdd(spec.ToString(), _ => Compile(spec));
    }

    private IlgpuKernel Compile(KernelSpec spec)
    {
        var g = spec.Op == LayerKind.Linear
            ? GemmGeometry.Linear(0, spec.WeightShape[1], spec.WeightShape[0])
            : GemmGeometry.Conv(0, spec.InputShape[1], spec.InputShape[2], spec.InputShape[3], spec.WeightShape[2], spec.Stride, spec.Padding, spec.WeightShape[0]);
        var clock = Stopwatch.StartNew();
        Warm(spec.Precision, g);
        _accelerator.Synchronize();
        return new IlgpuKernel(spec, clock.Elapsed);
    }

    /// <summary>Launches the kernel of <paramref name="precision"/> and geometry <paramref name="g"/> (batch 0) on one-element buffers: ILGPU compiles it, nothing runs.</summary>
    private void Warm(LayerPrecision precision, GemmGeometry g)
    {
        using var x = _memory.Allocate<float>(1);
        using var y = _memory.Allocate<float>(1);
        using var floats = _memory.Allocate<float>(1);
        using var bytes = _memory.Allocate<byte>(1);
        using var ints = _memory.Allocate<int>(1);
        if (precision.IsFloat && precision.WeightBits == 16)
        {
            using var w = _memory.Allocate<Fp16Weight>(1);
            _kernels.GemmFp16.Launch(g, x.View, new DenseWeights<Fp16Weight> { Values = w.View }, floats.View, y.View);
        }
        else if (precision.IsFloat)
        {
            using var w = _memory.Allocate<Fp32Weight>(1);
            _kernels.GemmFp32.Launch(g, x.View, new DenseWeights<Fp32Weight> { Values = w.View }, floats.View, y.View);
        }
        else if (IntegerPrecisions.IsWeightOnly(precision))
        {
            switch (precision.WeightBits)
            {
                case 8: _kernels.GemmPacked8.Launch(g, x.View, new PackedWeights<Width8> { Codes = bytes.View, Scales = floats.View, Zeros = ints.View }, floats.View, y.View); break;
                case 4: _kernels.GemmPacked4.Launch(g, x.View, new PackedWeights<Width4> { Codes = bytes.View, Scales = floats.View, Zeros = ints.View }, floats.View, y.View); break;
                default: _kernels.GemmPacked2.Launch(g, x.View, new PackedWeights<Width2> { Codes = bytes.View, Scales = floats.View, Zeros = ints.View }, floats.View, y.View); break;
            }
        }
        else
        {
            _kernels.IntegerGemm(precision.WeightBits).Launch(g, bytes.View, bytes.View, ints.View, floats.View, y.View, default);
        }
    }

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel)
    {
        var l = CheckLinear(layer, x);
        CheckKernel(kernel, LayerKind.Linear).CheckCall(l.Layer, x);
        return Linear(layer, x);
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel)
    {
        var (c, _) = CheckConv(layer, x);
        CheckKernel(kernel, LayerKind.Conv2d).CheckCall(c.Layer, x, c.Stride, c.Padding);
        return Conv2d(layer, x);
    }

    private KernelSpec CheckKernel(IKernel kernel, LayerKind op)
    {
        if (kernel is not IlgpuKernel k || k.Spec.Op != op || !_specialized.ContainsKey(k.Spec.ToString()))
            throw CpuChecks.Fail(op == LayerKind.Linear ? nameof(Linear) : nameof(Conv2d), nameof(kernel), $"is not a {op} kernel specialized by this {Name} backend");
        return k.Spec;
    }

    private static IlgpuPreparedLinear CheckLinear(IPreparedLinear layer, Tensor x)
    {
        const string op = nameof(Linear);
        if (layer is not IlgpuPreparedLinear l) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the ILGPU backend ({layer?.GetType().Name ?? "null"})");
        CpuChecks.MinRank(op, nameof(x), x, 1);
        CpuChecks.True(x.Dim(-1) == l.InFeatures, op, nameof(x), $"last dimension must be {l.InFeatures} for {l.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
        return l;
    }

    private static (IlgpuPreparedConv2d Layer, GemmGeometry Geometry) CheckConv(IPreparedConv2d layer, Tensor x)
    {
        const string op = nameof(Conv2d);
        if (layer is not IlgpuPreparedConv2d c) throw CpuChecks.Fail(op, nameof(layer), $"was not prepared by the ILGPU backend ({layer?.GetType().Name ?? "null"})");
        CpuChecks.Rank(op, nameof(x), x, 4);
        CpuChecks.True(x.Dim(1) == c.InChannels, op, nameof(x), $"expected {c.InChannels} channels for {c.Layer.QualifiedName}, got {Tensor.FormatShape(x.Shape)}");
        var g = GemmGeometry.Conv(x.Dim(0), c.InChannels, x.Dim(2), x.Dim(3), c.KernelSize, c.Stride, c.Padding, c.OutChannels);
        CpuChecks.True(g.OutHeight > 0 && g.OutWidth > 0, op, nameof(x), $"{Tensor.FormatShape(x.Shape)} is smaller than the {c.KernelSize}×{c.KernelSize} kernel");
        return (c, g);
    }

    private static int[] LinearOutputShape(Tensor x, int outFeatures)
    {
        var shape = x.ShapeArray();
        shape[^1] = outFeatures;
        return shape;
    }

    private Tensor RunGemm(DeviceGemmWeights weights, GemmGeometry g, Tensor x, int[] outputShape, int tokens = 1)
    {
        if (g.Rows == 0 || g.OutChannels == 0) return Tensor.Zeros(outputShape);
        using var dx = _memory.Upload(x.Data);
        using var dy = _memory.Allocate<float>((long)g.Rows * g.OutChannels);
        weights.Run(g, dx.View, dy.View);
        if (weights.Bos is { } bos && tokens > 0)
            _kernels.BosRows(new Index1D(g.Rows / tokens * g.OutChannels), dy.View, bos.View, g.OutChannels, tokens);
        return Download(dy, outputShape);
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
        int spatial = b * c == 0 ? 0 : x.Length / (b * c), perGroup = c / groups;
        return Normalize(x, gamma, beta, segments: b * groups, segmentLength: perGroup * spatial, segmentsPerItem: groups, perGroup, spatial, eps, silu);
    }

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        const string op = nameof(LayerNorm);
        CpuChecks.MinRank(op, nameof(x), x, 1);
        int c = x.Dim(-1);
        CpuChecks.Length(op, nameof(gamma), gamma, c);
        CpuChecks.Length(op, nameof(beta), beta, c);
        return Normalize(x, gamma, beta, segments: c == 0 ? 0 : x.Length / c, segmentLength: c, segmentsPerItem: 1, c, spatial: 1, eps, silu: false);
    }

    private Tensor Normalize(Tensor x, Tensor gamma, Tensor beta, int segments, int segmentLength, int segmentsPerItem, int channelsPerSegment,
        int spatial, float eps, bool silu)
    {
        if (segments == 0 || segmentLength == 0) return Tensor.Zeros(x.ShapeArray());
        using var dx = _memory.Upload(x.Data);
        using var dg = _memory.Upload(gamma.Data);
        using var db = _memory.Upload(beta.Data);
        using var dy = _memory.Allocate<float>(x.Length);
        _kernels.Norm(new KernelConfig(segments, NormKernel.GroupSize), dx.View, dy.View, dg.View, db.View,
            segmentLength, segmentsPerItem, channelsPerSegment, spatial, eps, silu ? 1 : 0);
        return Download(dy, x.ShapeArray());
    }

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal)
    {
        const string op = nameof(Attention);
        var (b, lq, lk, hd) = CpuChecks.Attention(q, k, v, heads);
        int d = hd / heads;
        CpuChecks.True(d <= AttentionKernel.MaxHeadDim, op, nameof(heads), $"head dim {d} exceeds the kernel's {AttentionKernel.MaxHeadDim}");
        if (b == 0 || lq == 0) return Tensor.Zeros(b, lq, hd);
        using var dq = _memory.Upload(q.Data);
        using var dk = _memory.Upload(k.Data);
        using var dv = _memory.Upload(v.Data);
        using var dy = _memory.Allocate<float>(q.Length);
        _kernels.Attention(new KernelConfig(new Index3D(lq, heads, b), new Index3D(AttentionKernel.GroupSize, 1, 1)),
            dq.View, dk.View, dv.View, dy.View, lq, lk, heads, d, 1f / MathF.Sqrt(d), causal ? 1 : 0);
        return Download(dy, [b, lq, hd]);
    }

    public Tensor Activate(Tensor x, Activation activation)
    {
        CpuChecks.NotNull(nameof(Activate), nameof(x), x);
        CpuChecks.True(Enum.IsDefined(activation), nameof(Activate), nameof(activation), $"unknown activation {activation}");
        return Map(x, x.ShapeArray(), (n, dx, dy) => _kernels.Activate(n, dx, dy, (int)activation));
    }

    public Tensor Geglu(Tensor x)
    {
        CpuChecks.MinRank(nameof(Geglu), nameof(x), x, 1);
        CpuChecks.True(x.Dim(-1) % 2 == 0, nameof(Geglu), nameof(x), $"last dimension must be even, got {Tensor.FormatShape(x.Shape)}");
        int c = x.Dim(-1) / 2;
        var shape = x.ShapeArray();
        shape[^1] = c;
        return Map(x, shape, (n, dx, dy) => _kernels.Geglu(n, dx, dy, c));
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        CpuChecks.NotNull(nameof(Add), nameof(a), a);
        CpuChecks.True(b is not null && a.SameShape(b), nameof(Add), nameof(b), $"shape {(b is null ? "null" : Tensor.FormatShape(b.Shape))} differs from a {Tensor.FormatShape(a.Shape)}");
        using var db = _memory.Upload(b!.Data);
        return Map(a, a.ShapeArray(), (n, da, dy) => _kernels.Add(n, da, db.View, dy));
    }

    public Tensor AddChannelBias(Tensor x, Tensor bias)
    {
        const string op = nameof(AddChannelBias);
        CpuChecks.MinRank(op, nameof(x), x, 2);
        int bc = x.Dim(0) * x.Dim(1);
        CpuChecks.Length(op, nameof(bias), bias, bc);
        int spatial = bc == 0 ? 1 : Math.Max(1, x.Length / bc);
        using var dbias = _memory.Upload(bias.Data);
        return Map(x, x.ShapeArray(), (n, dx, dy) => _kernels.AddChannelBias(n, dx, dbias.View, dy, spatial));
    }

    public Tensor Affine(Tensor x, float scale, float shift)
    {
        CpuChecks.NotNull(nameof(Affine), nameof(x), x);
        return Map(x, x.ShapeArray(), (n, dx, dy) => _kernels.Affine(n, dx, dy, scale, shift));
    }

    public Tensor UpsampleNearest(Tensor x, int outH, int outW)
    {
        const string op = nameof(UpsampleNearest);
        CpuChecks.Rank(op, nameof(x), x, 4);
        CpuChecks.Positive(op, nameof(outH), outH);
        CpuChecks.Positive(op, nameof(outW), outW);
        int h = x.Dim(2), w = x.Dim(3);
        return Map(x, [x.Dim(0), x.Dim(1), outH, outW], (n, dx, dy) => _kernels.Upsample(n, dx, dy, h, w, outH, outW));
    }

    public Tensor Concat(Tensor a, Tensor b, int axis)
    {
        int ax = CpuChecks.Concat(a, b, axis);
        int inner = 1;
        for (int i = ax + 1; i < a.Rank; i++) inner *= a.Dim(i);
        var shape = a.ShapeArray();
        shape[ax] = a.Dim(ax) + b.Dim(ax);
        int innerA = a.Dim(ax) * inner, innerB = b.Dim(ax) * inner;
        using var db = _memory.Upload(b.Data);
        return Map(a, shape, (n, da, dy) => _kernels.Concat(n, da, db.View, dy, innerA, innerB));
    }

    public Tensor NchwToTokens(Tensor x)
    {
        CpuChecks.Rank(nameof(NchwToTokens), nameof(x), x, 4);
        int c = x.Dim(1), hw = x.Dim(2) * x.Dim(3);
        return Map(x, [x.Dim(0), hw, c], (n, dx, dy) => _kernels.Transpose(n, dx, dy, c, hw));
    }

    public Tensor TokensToNchw(Tensor x, int height, int width)
    {
        const string op = nameof(TokensToNchw);
        CpuChecks.Rank(op, nameof(x), x, 3);
        CpuChecks.True(height > 0 && width > 0 && x.Dim(1) == height * width, op, nameof(x),
            $"{Tensor.FormatShape(x.Shape)} does not hold {height}×{width} tokens");
        int c = x.Dim(2), hw = height * width;
        return Map(x, [x.Dim(0), c, height, width], (n, dx, dy) => _kernels.Transpose(n, dx, dy, hw, c));
    }

    public Tensor Embedding(Tensor table, int[] ids, int batch)
    {
        const string op = nameof(Embedding);
        CpuChecks.Rank(op, nameof(table), table, 2);
        CpuChecks.NotNull(op, nameof(ids), ids);
        CpuChecks.Positive(op, nameof(batch), batch);
        CpuChecks.True(ids.Length % batch == 0, op, nameof(ids), $"{ids.Length} ids do not split into {batch} sequences");
        int vocab = table.Dim(0), c = table.Dim(1);
        foreach (int id in ids)
            CpuChecks.True(id >= 0 && id < vocab, op, nameof(ids), $"token id {id} is outside the table's {vocab} rows");
        using var dids = _memory.Upload(ids);
        return Map(table, [batch, ids.Length / batch, c], (n, dt, dy) => _kernels.Embedding(n, dt, dids.View, dy, c));
    }

    /// <summary>On the host (<see cref="TimestepSinusoid"/>): a [B, dim] table per step, not worth a device round trip while tensors are host arrays.</summary>
    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift)
    {
        const string op = nameof(TimestepEmbedding);
        CpuChecks.NotNull(op, nameof(values), values);
        CpuChecks.True(values.Rank is 1 or 2, op, nameof(values), $"expected [B] or [B, k], got {Tensor.FormatShape(values.Shape)}");
        CpuChecks.Positive(op, nameof(dim), dim);
        int rows = values.Dim(0), perRow = values.Rank == 2 ? values.Dim(1) : 1;
        return new Tensor(TimestepSinusoid.Embed(values.Data, dim, flipSinToCos, freqShift), rows, perRow * dim);
    }

    public Tensor Reshape(Tensor x, params int[] shape)
    {
        CpuChecks.NotNull(nameof(Reshape), nameof(x), x);
        return x.Reshape(shape);
    }

    /// <summary>Runs a one-thread-per-output kernel over <paramref name="x"/> (uploaded) into a new output of <paramref name="shape"/>.</summary>
    private Tensor Map(Tensor x, int[] shape, Action<Index1D, ArrayView<float>, ArrayView<float>> launch)
    {
        long n = Tensor.ElementCount(shape);
        if (n == 0) return Tensor.Zeros(shape);
        using var dx = _memory.Upload(x.Data);
        using var dy = _memory.Allocate<float>(n);
        launch(new Index1D(checked((int)n)), dx.View, dy.View);
        return Download(dy, shape);
    }

    private Tensor Download(DeviceBuffer<float> y, int[] shape)
    {
        _accelerator.Synchronize();
        return new Tensor(y.Download(), shape);
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }
}
