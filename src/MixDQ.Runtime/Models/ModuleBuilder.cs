using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// The one code path that both describes a module tree (expected tensor names and shapes, quantizable
/// layers) and builds it (reads the bound weights and prepares them on a backend). A module's constructor
/// asks the builder for its parameters by diffusers name; in describe mode nothing is read or allocated,
/// so the expected list and the real graph can never drift apart.
/// </summary>
internal sealed class ModuleBuilder
{
    private readonly IComputeBackend? _backend;
    private readonly BoundWeights? _weights;
    private readonly Func<LayerInfo, LayerPrecision>? _precision;
    private readonly Compiled.Tracing.TracingBackend? _tracer;
    private readonly List<TensorInfo> _expected = [];
    private readonly List<LayerInfo> _layers = [];
    private readonly Dictionary<string, object> _bindings = new(StringComparer.Ordinal);

    private ModuleBuilder(string component, IComputeBackend? backend, BoundWeights? weights, Func<LayerInfo, LayerPrecision>? precision,
        Compiled.Tracing.TracingBackend? tracer = null)
    {
        Component = component;
        _backend = backend;
        _weights = weights;
        _precision = precision;
        _tracer = tracer;
    }

    /// <summary>A builder that only records names, shapes and layers.</summary>
    public static ModuleBuilder Describe(string component) => new(component, null, null, null);

    /// <summary>Runs <paramref name="graph"/> (a module's constructor) on a describing builder: names, shapes and layers, no weights.</summary>
    public static ModuleBuilder Describe(string component, Action<ModuleBuilder> graph)
    {
        var b = Describe(component);
        graph(b);
        return b;
    }

    /// <summary>A builder that reads <paramref name="weights"/> and prepares layers on <paramref name="backend"/>.</summary>
    public static ModuleBuilder Build(string component, IComputeBackend backend, BoundWeights weights, Func<LayerInfo, LayerPrecision>? precision)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        return new(component, backend, weights, precision);
    }

    /// <summary>
    /// A builder whose modules run on <paramref name="tracer"/> with element-less weights, so that a forward
    /// pass records the component's program (every op, shape and weight name) without reading a file.
    /// </summary>
    public static ModuleBuilder Trace(string component, Compiled.Tracing.TracingBackend tracer, Func<LayerInfo, LayerPrecision>? precision)
    {
        ArgumentNullException.ThrowIfNull(tracer);
        return new(component, tracer, null, precision, tracer);
    }

    public string Component { get; }

    public bool IsDescribing => _weights is null && _tracer is null;

    /// <summary>
    /// What each name was bound to while building: prepared layers by module path (<c>conv_in</c>) and
    /// plain parameters by tensor name (<c>conv_norm_out.weight</c>); generated forward passes bind to these.
    /// </summary>
    public IReadOnlyDictionary<string, object> Bindings => _bindings;

    /// <summary>The backend (build mode only).</summary>
    public IComputeBackend? Backend => _backend;

    public IReadOnlyList<TensorInfo> Expected => _expected;

    public IReadOnlyList<LayerInfo> Layers => _layers;

    public LinearOp Linear(string path, int outFeatures, int inFeatures, bool bias = true)
    {
        var info = Layer(path, LayerKind.Linear, [outFeatures, inFeatures]);
        Expect(path + ".weight", outFeatures, inFeatures);
        if (bias) Expect(path + ".bias", outFeatures);
        if (IsDescribing) return new LinearOp(info, null, null);
        if (TryQuantized(path, info, inFeatures, bias) is { } q)
        {
            var qLinear = _backend!.PrepareQuantizedLinear(info, q.Layer, q.Bias);
            _bindings[path] = qLinear;
            return new LinearOp(info, _backend, qLinear);
        }
        var b = bias ? Read(path + ".bias") : null;
        var prepared = PrepareLinear(info, path + ".weight", b);
        _bindings[path] = prepared;
        return new LinearOp(info, _backend, prepared);
    }

    public ConvOp Conv(string path, int outChannels, int inChannels, int kernel, int stride = 1, int padding = -1, bool bias = true)
    {
        if (padding < 0) padding = (kernel - 1) / 2;
        var info = Layer(path, LayerKind.Conv2d, [outChannels, inChannels, kernel, kernel]);
        Expect(path + ".weight", outChannels, inChannels, kernel, kernel);
        if (bias) Expect(path + ".bias", outChannels);
        if (IsDescribing) return new ConvOp(info, null, null);
        if (TryQuantized(path, info, inChannels, bias) is { } q)
        {
            var qConv = _backend!.PrepareQuantizedConv2d(info, q.Layer, q.Bias, stride, padding);
            _bindings[path] = qConv;
            return new ConvOp(info, _backend, qConv);
        }
        var b = bias ? Read(path + ".bias") : null;
        var prepared = PrepareConv2d(info, path + ".weight", b, stride, padding);
        _bindings[path] = prepared;
        return new ConvOp(info, _backend, prepared);
    }

    public GroupNormOp GroupNorm(string path, int channels, int groups, double eps)
    {
        var (g, b) = Affine(path, channels);
        return new GroupNormOp(_backend, g, b, groups, (float)eps);
    }

    public LayerNormOp LayerNorm(string path, int channels, double eps)
    {
        var (g, b) = Affine(path, channels);
        return new LayerNormOp(_backend, g, b, (float)eps);
    }

    /// <summary>A plain parameter (an embedding table); null in describe mode.</summary>
    public Tensor? Parameter(string name, params int[] shape)
    {
        Expect(name, shape);
        return IsDescribing ? null : ReadParameter(name);
    }

    private (Tensor? Gamma, Tensor? Beta) Affine(string path, int channels)
    {
        Expect(path + ".weight", channels);
        Expect(path + ".bias", channels);
        return IsDescribing ? (null, null) : (ReadParameter(path + ".weight"), ReadParameter(path + ".bias"));
    }

    private LayerInfo Layer(string path, LayerKind kind, int[] shape)
    {
        var info = new LayerInfo(Component, path, kind, shape, LayerPrecision.Fp32);
        if (_precision is not null) info = info with { Precision = _precision(info) };
        _layers.Add(info);
        return info;
    }

    /// <summary>
    /// An integer layer of the plan read from its artifact tensors (null for a float layer stored as float); a plan and
    /// an artifact that disagree on which it is are MIXDQ068. Tracing never reads weights, so it keeps the float path.
    /// </summary>
    private (Quantization.QuantizedLayer Layer, Tensor? Bias)? TryQuantized(string path, LayerInfo info, int inChannels, bool bias)
    {
        if (_tracer is not null) return null;
        if (!QuantizedLayerReader.IsInteger(info) && !QuantizedLayerReader.HasPacked(_weights!.Source, path)) return null;
        var layer = QuantizedLayerReader.Read(_weights!.Source, path, info, inChannels);
        return (layer, bias ? Read(path + ".bias") : null);
    }

    private void Expect(string name, params int[] shape) => _expected.Add(new TensorInfo(name, DType.F32, shape));

    /// <summary>A weight by name: read from the bound file, or an element-less stand-in the tracer knows by name.</summary>
    private Tensor Read(string name) =>
        _tracer is not null ? _tracer.Parameter(Component, name, _expected.Last(e => e.Name == name).Shape.ToArray()) : _weights!.Read(name);

    /// <summary>From the weight where it is stored when the backend can read it so (no FP32 copy of it), else from the weight read whole.</summary>
    private IPreparedLinear PrepareLinear(LayerInfo info, string weightName, Tensor? bias)
    {
        if (_tracer is not null || _backend is not IStoredWeightPreparation stored) return _backend!.PrepareLinear(info, Read(weightName), bias);
        using var weight = _weights!.Open(weightName);
        return stored.PrepareLinear(info, weight, bias);
    }

    private IPreparedConv2d PrepareConv2d(LayerInfo info, string weightName, Tensor? bias, int stride, int padding)
    {
        if (_tracer is not null || _backend is not IStoredWeightPreparation stored) return _backend!.PrepareConv2d(info, Read(weightName), bias, stride, padding);
        using var weight = _weights!.Open(weightName);
        return stored.PrepareConv2d(info, weight, bias, stride, padding);
    }

    private Tensor ReadParameter(string name)
    {
        var t = Read(name);
        _bindings[name] = t;
        return t;
    }
}

/// <summary>Thrown when a describe-only module tree is run (a programming error, never user input).</summary>
internal static class DescribeOnly
{
    public static InvalidOperationException Error() => new("this module was built to describe its tensors only and cannot run");
}

/// <summary>A quantizable linear layer bound to its backend.</summary>
internal sealed class LinearOp(LayerInfo info, IComputeBackend? backend, IPreparedLinear? prepared)
{
    public LayerInfo Info { get; } = info;

    public Tensor Forward(Tensor x) => (backend ?? throw DescribeOnly.Error()).Linear(prepared!, x);
}

/// <summary>A quantizable 2-D convolution bound to its backend.</summary>
internal sealed class ConvOp(LayerInfo info, IComputeBackend? backend, IPreparedConv2d? prepared)
{
    public LayerInfo Info { get; } = info;

    public Tensor Forward(Tensor x) => (backend ?? throw DescribeOnly.Error()).Conv2d(prepared!, x);
}

internal sealed class GroupNormOp(IComputeBackend? backend, Tensor? gamma, Tensor? beta, int groups, float eps)
{
    public int Groups => groups;

    public float Eps => eps;

    /// <summary>GroupNorm, optionally fused with the SiLU that follows it.</summary>
    public Tensor Forward(Tensor x, bool silu = false) =>
        (backend ?? throw DescribeOnly.Error()).GroupNorm(x, groups, gamma!, beta!, eps, silu);
}

internal sealed class LayerNormOp(IComputeBackend? backend, Tensor? gamma, Tensor? beta, float eps)
{
    public Tensor Forward(Tensor x) => (backend ?? throw DescribeOnly.Error()).LayerNorm(x, gamma!, beta!, eps);
}
