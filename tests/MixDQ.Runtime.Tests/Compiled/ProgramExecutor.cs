using System.Globalization;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Compiled;

/// <summary>
/// Test-only interpreter of a <see cref="ForwardProgram"/>: runs its ops in order on a real backend, with prepared
/// layers and parameters looked up by qualified name (<c>unet/conv_in</c>, <c>unet/conv_norm_out.weight</c>), as
/// generated code binds them. The product turns programs into C# instead; this is what that code must equal.
/// Every result is checked against the shape the trace recorded.
/// </summary>
internal static class ProgramExecutor
{
    /// <summary>
    /// A <see cref="CompiledForward"/> over <paramref name="program"/>: null when an argument does not have the
    /// traced shape (as generated code does), else the program's outputs. <paramref name="onCall"/> sees every call.
    /// </summary>
    public static CompiledForward Compile(ForwardProgram program, IComputeBackend backend, Func<string, object?> binding,
        Action<bool>? onCall = null) => (arguments, ct) =>
    {
        bool fits = program.Inputs.All(i => ProgramArguments.HasShape(arguments.Tensor(i.Name), i.Shape))
                    && program.IntInputs.All(i => ProgramArguments.HasLength(arguments.Ints(i.Name), i.Length));
        onCall?.Invoke(fits);
        return fits ? Run(program, backend, binding, arguments, ct) : null;
    };

    /// <summary>Runs every op of <paramref name="program"/> on <paramref name="backend"/> and returns its outputs by name.</summary>
    public static IReadOnlyDictionary<string, Tensor> Run(ForwardProgram program, IComputeBackend backend, Func<string, object?> binding,
        ProgramArguments arguments, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(arguments);
        var values = new Dictionary<int, Tensor>();
        foreach (var input in program.Inputs)
            values.Add(input.Value, arguments.Tensor(input.Name) ?? throw new InvalidOperationException($"input '{input.Name}' is missing"));
        foreach (var p in program.Parameters)
        {
            string name = program.Component + "/" + p.Name;
            var t = binding(name) as Tensor ?? throw new InvalidOperationException($"parameter '{name}' is not bound");
            if (!t.Shape.SequenceEqual(p.Shape))
                throw new InvalidOperationException($"parameter '{name}' is {t} but the program reads {Tensor.FormatShape(p.Shape)}");
            values.Add(p.Value, t);
        }

        foreach (var op in program.Ops)
        {
            ct.ThrowIfCancellationRequested();
            Tensor Arg(int i) => values[op.Args[i]];
            var result = op.Op switch
            {
                "linear" => backend.Linear(Layer<IPreparedLinear>(program, op, binding), Arg(0)),
                "conv2d" => backend.Conv2d(Layer<IPreparedConv2d>(program, op, binding), Arg(0)),
                "group_norm" => backend.GroupNorm(Arg(0), Int(op, "groups"), Arg(1), Arg(2), Float(op, "eps"), Bool(op, "silu")),
                "layer_norm" => backend.LayerNorm(Arg(0), Arg(1), Arg(2), Float(op, "eps")),
                "attention" => backend.Attention(Arg(0), Arg(1), Arg(2), Int(op, "heads"), Bool(op, "causal")),
                "activate" => backend.Activate(Arg(0), Enum.Parse<Activation>(String(op, "activation"))),
                "geglu" => backend.Geglu(Arg(0)),
                "add" => backend.Add(Arg(0), Arg(1)),
                "add_channel_bias" => backend.AddChannelBias(Arg(0), Arg(1)),
                "affine" => backend.Affine(Arg(0), Float(op, "scale"), Float(op, "shift")),
                "upsample_nearest" => backend.UpsampleNearest(Arg(0), Int(op, "height"), Int(op, "width")),
                "concat" => backend.Concat(Arg(0), Arg(1), Int(op, "axis")),
                "nchw_to_tokens" => backend.NchwToTokens(Arg(0)),
                "tokens_to_nchw" => backend.TokensToNchw(Arg(0), Int(op, "height"), Int(op, "width")),
                "embedding" => backend.Embedding(Arg(0),
                    arguments.Ints(String(op, "ids")) ?? throw new InvalidOperationException($"int input '{String(op, "ids")}' is missing"),
                    Int(op, "batch")),
                "timestep_embedding" => backend.TimestepEmbedding(Arg(0), Int(op, "dim"), Bool(op, "flip"), Int(op, "freqShift")),
                "reshape" => backend.Reshape(Arg(0), op.Shape),
                _ => throw new NotSupportedException($"op '{op.Op}' (value {op.Result})"),
            };
            if (!result.Shape.SequenceEqual(op.Shape))
                throw new InvalidOperationException(
                    $"{op.Op} (value {op.Result}) gave {result} but the trace recorded {Tensor.FormatShape(op.Shape)}");
            values.Add(op.Result, result);
        }
        return program.Outputs.ToDictionary(o => o.Name, o => values[o.Value], StringComparer.Ordinal);
    }

    private static T Layer<T>(ForwardProgram program, ProgramOp op, Func<string, object?> binding) where T : class
    {
        string name = program.Component + "/" + (op.Layer ?? throw new InvalidOperationException($"{op.Op} (value {op.Result}) names no layer"));
        return binding(name) as T ?? throw new InvalidOperationException($"layer '{name}' is not bound as {typeof(T).Name}");
    }

    private static object Attr(ProgramOp op, string name) =>
        op.Attribute(name) ?? throw new InvalidOperationException($"{op.Op} (value {op.Result}) has no attribute '{name}'");

    private static int Int(ProgramOp op, string name) => Convert.ToInt32(Attr(op, name), CultureInfo.InvariantCulture);

    private static float Float(ProgramOp op, string name) => Convert.ToSingle(Attr(op, name), CultureInfo.InvariantCulture);

    private static bool Bool(ProgramOp op, string name) => (bool)Attr(op, name);

    private static string String(ProgramOp op, string name) => (string)Attr(op, name);
}
