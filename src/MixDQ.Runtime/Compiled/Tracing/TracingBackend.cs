using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Compiled.Tracing;

/// <summary>
/// A backend that computes nothing: each op checks its operands, infers the result's shape and appends a
/// <see cref="ProgramOp"/>. Run the model graphs on it (weights and activations are element-less
/// <see cref="Tensor.ShapeOnly"/> tensors) and the ops recorded are exactly the calls the graph makes on a real
/// backend, in order: the forward pass as a straight-line program.
/// </summary>
public sealed class TracingBackend : IComputeBackend
{
    private readonly Dictionary<Tensor, int> _values = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<int[], string> _intInputs = new(ReferenceEqualityComparer.Instance);
    private readonly List<ProgramTensor> _inputs = [];
    private readonly List<ProgramIntInput> _intInputList = [];
    private readonly List<ProgramTensor> _parameters = [];
    private readonly List<ProgramOp> _ops = [];
    private readonly List<ProgramOutput> _outputs = [];
    private int _next;

    public string Name => "trace";

    /// <summary>Declares an input of the forward pass.</summary>
    public Tensor Input(string name, params int[] shape)
    {
        var t = Tensor.ShapeOnly(shape);
        _inputs.Add(new ProgramTensor(Define(t), name, shape));
        return t;
    }

    /// <summary>Declares an integer-array input (its contents are not used while tracing).</summary>
    public int[] IntInput(string name, int length)
    {
        var ids = new int[length];
        _intInputs.Add(ids, name);
        _intInputList.Add(new ProgramIntInput(name, length));
        return ids;
    }

    /// <summary>A weight the graph reads by name (component-relative tensor name).</summary>
    internal Tensor Parameter(string component, string name, int[] shape)
    {
        var t = Tensor.ShapeOnly(shape);
        _parameters.Add(new ProgramTensor(Define(t), name, shape));
        return t;
    }

    /// <summary>Marks <paramref name="value"/> as the output <paramref name="name"/>.</summary>
    public void Output(string name, Tensor value) => _outputs.Add(new ProgramOutput(name, Id(value, "output " + name)));

    /// <summary>The program recorded so far; weights no op reads (those of prepared layers) are left out.</summary>
    public ForwardProgram ToProgram(string component)
    {
        var used = _ops.SelectMany(o => o.Args).ToHashSet();
        return new ForwardProgram(component, _inputs.ToList(), _intInputList.ToList(),
            _parameters.Where(p => used.Contains(p.Value)).ToList(), _ops.ToList(), _outputs.ToList());
    }

    // ---------------------------------------------------------------- the contract

    public IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias) =>
        new TracedLinear(layer, weight.Dim(1), weight.Dim(0));

    public IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding) =>
        new TracedConv2d(layer, weight.Dim(1), weight.Dim(0), weight.Dim(2), stride, padding);

    public Tensor Linear(IPreparedLinear layer, Tensor x)
    {
        Require(x.Rank >= 2 && x.Dim(-1) == layer.InFeatures, "linear", $"{layer.Layer.Name} takes [..., {layer.InFeatures}], got {x}");
        var shape = x.ShapeArray();
        shape[^1] = layer.OutFeatures;
        return Record("linear", [x], shape, layer.Layer.Name);
    }

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x)
    {
        Require(x.Rank == 4 && x.Dim(1) == layer.InChannels, "conv2d", $"{layer.Layer.Name} takes [B, {layer.InChannels}, H, W], got {x}");
        int Out(int n) => (n + 2 * layer.Padding - layer.KernelSize) / layer.Stride + 1;
        return Record("conv2d", [x], [x.Dim(0), layer.OutChannels, Out(x.Dim(2)), Out(x.Dim(3))], layer.Layer.Name,
            ("stride", layer.Stride), ("padding", layer.Padding));
    }

    public IKernel Specialize(KernelSpec spec) => new GenericKernel(spec);

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel) => Linear(layer, x);

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel) => Conv2d(layer, x);

    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu)
    {
        Require(x.Rank >= 2 && x.Dim(1) % groups == 0, "group_norm", $"{x} does not split into {groups} groups");
        return Record("group_norm", [x, gamma, beta], x.ShapeArray(), null, ("groups", groups), ("eps", eps), ("silu", silu));
    }

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) =>
        Record("layer_norm", [x, gamma, beta], x.ShapeArray(), null, ("eps", eps));

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal)
    {
        Require(q.Rank == 3 && k.Rank == 3 && v.Rank == 3 && k.Dim(1) == v.Dim(1) && q.Dim(2) == k.Dim(2), "attention", $"q {q}, k {k}, v {v}");
        return Record("attention", [q, k, v], [q.Dim(0), q.Dim(1), v.Dim(2)], null, ("heads", heads), ("causal", causal));
    }

    public Tensor Activate(Tensor x, Activation activation) =>
        Record("activate", [x], x.ShapeArray(), null, ("activation", activation.ToString()));

    public Tensor Geglu(Tensor x)
    {
        var shape = x.ShapeArray();
        shape[^1] /= 2;
        return Record("geglu", [x], shape, null);
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        Require(a.SameShape(b), "add", $"{a} + {b}");
        return Record("add", [a, b], a.ShapeArray(), null);
    }

    public Tensor AddChannelBias(Tensor x, Tensor bias) => Record("add_channel_bias", [x, bias], x.ShapeArray(), null);

    public Tensor Affine(Tensor x, float scale, float shift) =>
        Record("affine", [x], x.ShapeArray(), null, ("scale", scale), ("shift", shift));

    public Tensor UpsampleNearest(Tensor x, int outH, int outW) =>
        Record("upsample_nearest", [x], [x.Dim(0), x.Dim(1), outH, outW], null, ("height", outH), ("width", outW));

    public Tensor Concat(Tensor a, Tensor b, int axis)
    {
        int ax = axis < 0 ? a.Rank + axis : axis;
        var shape = a.ShapeArray();
        shape[ax] += b.Dim(ax);
        return Record("concat", [a, b], shape, null, ("axis", axis));
    }

    public Tensor NchwToTokens(Tensor x) =>
        Record("nchw_to_tokens", [x], [x.Dim(0), x.Dim(2) * x.Dim(3), x.Dim(1)], null);

    public Tensor TokensToNchw(Tensor x, int height, int width) =>
        Record("tokens_to_nchw", [x], [x.Dim(0), x.Dim(2), height, width], null, ("height", height), ("width", width));

    public Tensor Embedding(Tensor table, int[] ids, int batch)
    {
        Require(_intInputs.TryGetValue(ids, out string? name), "embedding", "the ids are not an input of the traced forward pass");
        return Record("embedding", [table], [batch, ids.Length / batch, table.Dim(1)], null, ("ids", name!), ("batch", batch));
    }

    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift)
    {
        int k = values.Rank == 2 ? values.Dim(1) : 1;
        return Record("timestep_embedding", [values], [values.Dim(0), k * dim], null, ("dim", dim), ("flip", flipSinToCos), ("freqShift", freqShift));
    }

    public Tensor Reshape(Tensor x, params int[] shape)
    {
        var y = x.Reshape(shape); // resolves -1 and checks the element count
        return Record("reshape", [x], y.ShapeArray(), null);
    }

    // ---------------------------------------------------------------- recording

    private Tensor Record(string op, Tensor[] args, int[] shape, string? layer, params (string Key, object Value)[] attributes)
    {
        var ids = new int[args.Length];
        for (int i = 0; i < args.Length; i++) ids[i] = Id(args[i], op);
        var result = Tensor.ShapeOnly(shape);
        int id = Define(result);
        _ops.Add(new ProgramOp(op, id, ids, shape, layer, attributes.Select(a => new KeyValuePair<string, object>(a.Key, a.Value)).ToList()));
        return result;
    }

    private int Define(Tensor t)
    {
        _values.Add(t, _next);
        return _next++;
    }

    private int Id(Tensor t, string op) =>
        _values.TryGetValue(t, out int id) ? id
            : throw new InvalidOperationException($"{op}: a tensor made outside the backend reached the traced graph ({t}); route it through an op");

    private static void Require(bool condition, string op, string message)
    {
        if (!condition) throw new InvalidOperationException($"trace {op}: {message}");
    }

    private sealed record TracedLinear(LayerInfo Layer, int InFeatures, int OutFeatures) : IPreparedLinear;

    private sealed record TracedConv2d(LayerInfo Layer, int InChannels, int OutChannels, int KernelSize, int Stride, int Padding) : IPreparedConv2d;
}
