using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Analysis.Simulation;

/// <summary>Sees what the simulating backend feeds each layer's quantized path and what the layer returns.</summary>
public interface ISimulationTap
{
    /// <summary>The FP input of the layer's quantized path (token 0 already split off when BOS-aware), before input fake-quantization.</summary>
    void OnInput(LayerInfo layer, Tensor x);

    /// <summary>The layer's output; the tensor may be recycled by the pipeline afterwards, so a tap that keeps it copies it.</summary>
    void OnOutput(LayerInfo layer, Tensor y);
}

/// <summary>
/// Simulated quantization through the backend contract: a decorator over any <see cref="IComputeBackend"/> (the fast CPU
/// backend in the analysis) that runs each quantizable layer with a fake-quantized weight (quantize → dequantize, prepared
/// once per width on the inner backend and cached) and a fake-quantized input (per channel segment), and for BOS-aware
/// cross-attention projections emits token 0 in FP. Two sources of per-layer settings:
/// <list type="bullet">
/// <item>a mutable table keyed by <see cref="LayerInfo.QualifiedName"/> (<see cref="SetLayer"/>), so the sensitivity sweep
/// switches one layer at a time on a model loaded once;</item>
/// <item><see cref="PrepareQuantizedLinear"/>/<see cref="PrepareQuantizedConv2d"/>: a layer of a compiled plan, its packed
/// weight dequantized at load and its stored input quantizers and BOS row applied on every call — numerically what the
/// analysis measured, so a quantized plan runs before integer kernels exist.</item>
/// </list>
/// Not thread-safe (the analysis runs one image at a time; the inner backend parallelises each op).
/// </summary>
public sealed class SimulatedQuantBackend : IComputeBackend
{
    private readonly IComputeBackend _inner;
    private readonly Dictionary<string, LayerSimulation> _table = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedLayer> _layers = new(StringComparer.Ordinal);

    public SimulatedQuantBackend(IComputeBackend inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    public string Name => _inner.Name + "+simulated-quantization";

    public IComputeBackend Inner => _inner;

    /// <summary>Receives every quantizable layer's inputs and outputs while set (calibration, reference capture).</summary>
    public ISimulationTap? Tap { get; set; }

    /// <summary>Layers prepared so far, by qualified name.</summary>
    public IReadOnlyDictionary<string, SimulatedLayer> Layers => _layers;

    /// <summary>Sets how <paramref name="qualifiedName"/> runs from the next call on.</summary>
    public void SetLayer(string qualifiedName, LayerSimulation simulation)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        if (simulation.IsFloatingPoint && simulation.Bos == BosHandling.None) _table.Remove(qualifiedName);
        else _table[qualifiedName] = simulation;
    }

    /// <summary>Every layer back to FP.</summary>
    public void ClearLayers() => _table.Clear();

    /// <summary>Replaces the whole table.</summary>
    public void SetLayers(IEnumerable<KeyValuePair<string, LayerSimulation>> simulations)
    {
        _table.Clear();
        foreach (var (name, sim) in simulations) SetLayer(name, sim);
    }

    /// <summary>Drops the cached fake-quantized weights (they hold one FP copy per width tried).</summary>
    public void TrimCache()
    {
        foreach (var l in _layers.Values) l.ClearCache();
    }

    public IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias)
    {
        var inner = _inner.PrepareLinear(layer, weight, bias);
        return Register(new SimulatedLayer(layer, weight, bias, inner, null, 1, 0, fixedSimulation: null, bosRow: null));
    }

    public IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding)
    {
        var inner = _inner.PrepareConv2d(layer, weight, bias, stride, padding);
        return Register(new SimulatedLayer(layer, weight, bias, null, inner, stride, padding, fixedSimulation: null, bosRow: null));
    }

    public IPreparedLinear PrepareQuantizedLinear(LayerInfo layer, QuantizedLayer weights, Tensor? bias)
    {
        var w = Dequantized(layer, weights);
        var inner = _inner.PrepareLinear(layer with { Precision = LayerPrecision.Fp32 }, w, bias);
        return Register(new SimulatedLayer(layer, w, bias, inner, null, 1, 0, FixedSimulation(weights), weights.BosRow));
    }

    public IPreparedConv2d PrepareQuantizedConv2d(LayerInfo layer, QuantizedLayer weights, Tensor? bias, int stride, int padding)
    {
        var w = Dequantized(layer, weights);
        var inner = _inner.PrepareConv2d(layer with { Precision = LayerPrecision.Fp32 }, w, bias, stride, padding);
        return Register(new SimulatedLayer(layer, w, bias, null, inner, stride, padding, FixedSimulation(weights), weights.BosRow));
    }

    /// <summary>Integer widths are simulated; float ones are whatever the inner backend runs.</summary>
    public bool Supports(KernelSpec spec) =>
        spec.Precision.IsFloat
            ? _inner.Supports(spec)
            : IntegerFormat.IsWeightWidth(spec.Precision.WeightBits) && (spec.Precision.ActivationBits >= 16 || IntegerFormat.IsActivationWidth(spec.Precision.ActivationBits));

    public Tensor Linear(IPreparedLinear layer, Tensor x) => Run(Own(layer), x);

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x) => Run(Own(layer), x);

    /// <summary>Specialized calls take the generic path: the simulation is not where speed is measured.</summary>
    public IKernel Specialize(KernelSpec spec) => new GenericKernel(spec);

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel) => Linear(layer, x);

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel) => Conv2d(layer, x);

    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu) => _inner.GroupNorm(x, groups, gamma, beta, eps, silu);

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) => _inner.LayerNorm(x, gamma, beta, eps);

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal) => _inner.Attention(q, k, v, heads, causal);

    public Tensor Activate(Tensor x, Activation activation) => _inner.Activate(x, activation);

    public Tensor Geglu(Tensor x) => _inner.Geglu(x);

    public Tensor Add(Tensor a, Tensor b) => _inner.Add(a, b);

    public Tensor AddChannelBias(Tensor x, Tensor bias) => _inner.AddChannelBias(x, bias);

    public Tensor Affine(Tensor x, float scale, float shift) => _inner.Affine(x, scale, shift);

    public Tensor UpsampleNearest(Tensor x, int outH, int outW) => _inner.UpsampleNearest(x, outH, outW);

    public Tensor Concat(Tensor a, Tensor b, int axis) => _inner.Concat(a, b, axis);

    public Tensor NchwToTokens(Tensor x) => _inner.NchwToTokens(x);

    public Tensor TokensToNchw(Tensor x, int height, int width) => _inner.TokensToNchw(x, height, width);

    public Tensor Embedding(Tensor table, int[] ids, int batch) => _inner.Embedding(table, ids, batch);

    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift) => _inner.TimestepEmbedding(values, dim, flipSinToCos, freqShift);

    public Tensor Reshape(Tensor x, params int[] shape) => _inner.Reshape(x, shape);

    public void Release(Tensor tensor) => _inner.Release(tensor);

    // ------------------------------------------------------------------ the simulated layer call

    private Tensor Run(SimulatedLayer l, Tensor x)
    {
        var sim = l.Fixed ?? _table.GetValueOrDefault(l.Info.QualifiedName) ?? LayerSimulation.FloatingPoint;
        var storedRow = l.BosRow ?? sim.Stored?.BosRow;
        bool bosAware = (storedRow is not null || sim.Bos == BosHandling.FloatingPoint) && l.Kind == LayerKind.Linear && x.Rank == 3 && x.Dim(1) > 1;
        Tensor y;
        if (!bosAware)
        {
            y = RunQuantized(l, sim, x);
        }
        else
        {
            var (head, rest) = SplitFirstToken(x);
            var restOut = RunQuantized(l, sim, rest);
            var headOut = storedRow is { } row ? BroadcastRow(row, x.Dim(0)) : _inner.Linear(l.FloatLinear!, head);
            y = _inner.Concat(headOut, restOut, 1);
            _inner.Release(restOut);
            if (storedRow is null) _inner.Release(headOut);
        }
        Tap?.OnOutput(l.Info, y);
        return y;
    }

    private Tensor RunQuantized(SimulatedLayer l, LayerSimulation sim, Tensor x)
    {
        Tap?.OnInput(l.Info, x);
        var input = sim.Input is { } segments ? FakeQuantize(x, segments, l.Kind == LayerKind.Linear ? x.Rank - 1 : 1) : x;
        return l.Kind == LayerKind.Linear
            ? _inner.Linear(l.Fixed is not null ? l.FloatLinear! : l.LinearAt(sim, _inner), input)
            : _inner.Conv2d(l.Fixed is not null ? l.FloatConv! : l.ConvAt(sim, _inner), input);
    }

    /// <summary>Replays every integer layer of a compiled plan (see <see cref="PlanSimulation"/>) on this backend's FP model.</summary>
    public void Replay(IReadOnlyDictionary<string, QuantizedLayer> layers)
    {
        foreach (var (name, q) in layers)
        {
            if (!_layers.TryGetValue(name, out var l))
                throw new Runtime.Diagnostics.MixDQException(Runtime.Diagnostics.ErrorCodes.PlanInvalid, "the plan names a layer this model does not have", item: name);
            if (l.Info.WeightShape.Length == 0 || q.Weight.Rows != l.Info.WeightShape[0] || (long)q.Weight.Rows * q.Weight.RowLength != Tensor.ElementCount(l.Info.WeightShape))
                throw new Runtime.Diagnostics.MixDQException(Runtime.Diagnostics.ErrorCodes.QuantizedWeightsInvalid,
                    $"packed weight {q.Weight.Rows} × {q.Weight.RowLength} does not fit {Tensor.FormatShape(l.Info.WeightShape)}", item: name);
            q.CheckInputChannels(l.Info.WeightShape[1], name);
            SetLayer(name, LayerSimulation.Replay(q));
        }
    }

    /// <summary>Quantize → dequantize <paramref name="x"/>, each run of channels along <paramref name="axis"/> on its own grid.</summary>
    public static Tensor FakeQuantize(Tensor x, IReadOnlyList<InputQuantSegment> segments, int axis)
    {
        var shape = x.ShapeArray();
        int channels = shape[axis];
        int inner = 1;
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        int outer = x.Length / Math.Max(1, channels * inner);
        var y = new float[x.Length];
        var src = x.Data;
        for (int o = 0; o < outer; o++)
        {
            int c0 = 0;
            foreach (var segment in segments)
            {
                int start = (o * channels + c0) * inner, count = segment.Channels * inner;
                segment.Params.FakeQuantize(src.AsSpan(start, count), y.AsSpan(start, count));
                c0 += segment.Channels;
            }
            if (c0 != channels)
                throw new InvalidOperationException($"input quantizers cover {c0} channels of {channels}");
        }
        return new Tensor(y, shape);
    }

    private static (Tensor Head, Tensor Tail) SplitFirstToken(Tensor x)
    {
        int b = x.Dim(0), l = x.Dim(1), c = x.Dim(2);
        var head = new float[b * c];
        var rest = new float[b * (l - 1) * c];
        for (int i = 0; i < b; i++)
        {
            x.Data.AsSpan(i * l * c, c).CopyTo(head.AsSpan(i * c, c));
            x.Data.AsSpan(i * l * c + c, (l - 1) * c).CopyTo(rest.AsSpan(i * (l - 1) * c));
        }
        return (new Tensor(head, b, 1, c), new Tensor(rest, b, l - 1, c));
    }

    private static Tensor BroadcastRow(float[] row, int batch)
    {
        var data = new float[batch * row.Length];
        for (int i = 0; i < batch; i++) row.CopyTo(data, i * row.Length);
        return new Tensor(data, batch, 1, row.Length);
    }

    private static Tensor Dequantized(LayerInfo layer, QuantizedLayer weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (Tensor.ElementCount(layer.WeightShape) != (long)weights.Weight.Rows * weights.Weight.RowLength || weights.Weight.Rows != layer.WeightShape[0])
            throw new Runtime.Diagnostics.MixDQException(Runtime.Diagnostics.ErrorCodes.QuantizedWeightsInvalid,
                $"packed weight {weights.Weight.Rows} × {weights.Weight.RowLength} does not fit {Tensor.FormatShape(layer.WeightShape)}", item: layer.QualifiedName);
        weights.CheckInputChannels(layer.WeightShape[1], layer.QualifiedName);
        return new Tensor(weights.Weight.Dequantize(), layer.WeightShape);
    }

    private static LayerSimulation FixedSimulation(QuantizedLayer q) => new()
    {
        WeightBits = q.Weight.Bits,
        WeightScheme = q.Weight.Scheme,
        Input = q.QuantizesInput ? q.Input : null,
    };

    private SimulatedLayer Register(SimulatedLayer layer)
    {
        _layers[layer.Info.QualifiedName] = layer;
        return layer;
    }

    private static SimulatedLayer Own(object layer) =>
        layer as SimulatedLayer ?? throw new ArgumentException($"the layer was not prepared by the simulating backend ({layer?.GetType().Name ?? "null"})", nameof(layer));
}

/// <summary>A layer as the simulating backend prepared it: the FP weight, its FP preparation, and one preparation per fake-quantized width.</summary>
public sealed class SimulatedLayer : IPreparedLinear, IPreparedConv2d
{
    private readonly Dictionary<(int Bits, WeightScheme Scheme, WeightClipping Clipping), object> _cache = [];

    internal SimulatedLayer(LayerInfo info, Tensor weight, Tensor? bias, IPreparedLinear? linear, IPreparedConv2d? conv, int stride, int padding,
        LayerSimulation? fixedSimulation, float[]? bosRow)
    {
        Info = info;
        Weight = weight;
        Bias = bias;
        FloatLinear = linear;
        FloatConv = conv;
        Stride = stride;
        Padding = padding;
        Fixed = fixedSimulation;
        BosRow = bosRow;
    }

    public LayerInfo Info { get; }

    LayerInfo IPreparedLinear.Layer => Info;

    LayerInfo IPreparedConv2d.Layer => Info;

    public LayerKind Kind => Info.Kind;

    /// <summary>The FP weight as loaded (the dequantized one for a compiled integer layer).</summary>
    public Tensor Weight { get; }

    public Tensor? Bias { get; }

    internal IPreparedLinear? FloatLinear { get; }

    internal IPreparedConv2d? FloatConv { get; }

    /// <summary>Set for a layer of a compiled plan: its stored quantization, which the table cannot override.</summary>
    internal LayerSimulation? Fixed { get; }

    internal float[]? BosRow { get; }

    public int InFeatures => Info.WeightShape[1];

    public int OutFeatures => Info.WeightShape[0];

    public int InChannels => Info.WeightShape[1];

    public int OutChannels => Info.WeightShape[0];

    public int KernelSize => Info.WeightShape.Length == 4 ? Info.WeightShape[2] : 1;

    public int Stride { get; }

    public int Padding { get; }

    /// <summary>Rows × row length of the weight as the quantizer sees it.</summary>
    public (int Rows, int RowLength) Matrix => (Info.WeightShape[0], (int)(Weight.Length / Info.WeightShape[0]));

    /// <summary>The weight quantized as <paramref name="bits"/>/<paramref name="scheme"/>/<paramref name="clipping"/> say.</summary>
    public QuantizedWeight Quantize(int bits, WeightScheme scheme, WeightClipping clipping)
    {
        var (rows, rowLength) = Matrix;
        return WeightQuantizer.Quantize(Weight.Data, rows, rowLength, bits, scheme, clipping, Info.QualifiedName);
    }

    private object? _stored;
    private QuantizedLayer? _storedFor;

    internal IPreparedLinear LinearAt(LayerSimulation sim, IComputeBackend backend) =>
        sim.Stored is { } q ? (IPreparedLinear)StoredAt(q, w => backend.PrepareLinear(Info, w, Bias)) :
        sim.WeightBits is not { } bits ? FloatLinear! : (IPreparedLinear)Cached(sim, bits, w => backend.PrepareLinear(Info, w, Bias));

    internal IPreparedConv2d ConvAt(LayerSimulation sim, IComputeBackend backend) =>
        sim.Stored is { } q ? (IPreparedConv2d)StoredAt(q, w => backend.PrepareConv2d(Info, w, Bias, Stride, Padding)) :
        sim.WeightBits is not { } bits ? FloatConv! : (IPreparedConv2d)Cached(sim, bits, w => backend.PrepareConv2d(Info, w, Bias, Stride, Padding));

    internal void ClearCache()
    {
        _cache.Clear();
        _stored = null;
        _storedFor = null;
    }

    private object StoredAt(QuantizedLayer q, Func<Tensor, object> prepare)
    {
        if (!ReferenceEquals(_storedFor, q))
        {
            _stored = prepare(new Tensor(q.Weight.Dequantize(), Info.WeightShape));
            _storedFor = q;
        }
        return _stored!;
    }

    private object Cached(LayerSimulation sim, int bits, Func<Tensor, object> prepare)
    {
        var key = (bits, sim.WeightScheme, sim.WeightClipping);
        if (!_cache.TryGetValue(key, out var prepared))
        {
            var q = Quantize(bits, sim.WeightScheme, sim.WeightClipping);
            prepared = prepare(new Tensor(q.Dequantize(), Info.WeightShape));
            _cache[key] = prepared;
        }
        return prepared;
    }
}
