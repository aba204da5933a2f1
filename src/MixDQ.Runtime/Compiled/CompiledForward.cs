using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// A forward pass generated at build time for one component (see <c>ForwardProgram</c>). Returns the named
/// outputs, or null when the arguments do not have the shapes it was compiled for, in which case the
/// pipeline runs the component's model graph instead.
/// </summary>
public delegate IReadOnlyDictionary<string, Tensor>? CompiledForward(ProgramArguments arguments, CancellationToken cancellationToken);

/// <summary>The named inputs of one forward call: tensors (<c>sample</c>, <c>timesteps</c>, ...) and integer arrays (<c>input_ids</c>, ...).</summary>
public sealed class ProgramArguments
{
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _ints = new(StringComparer.Ordinal);

    /// <summary>Adds a tensor input (a null one is left out).</summary>
    public ProgramArguments With(string name, Tensor? value)
    {
        if (value is not null) _tensors[name] = value;
        return this;
    }

    /// <summary>Adds an integer-array input (a null one is left out).</summary>
    public ProgramArguments With(string name, int[]? value)
    {
        if (value is not null) _ints[name] = value;
        return this;
    }

    /// <summary>The tensor input <paramref name="name"/>, or null.</summary>
    public Tensor? Tensor(string name) => _tensors.GetValueOrDefault(name);

    /// <summary>The integer input <paramref name="name"/>, or null.</summary>
    public int[]? Ints(string name) => _ints.GetValueOrDefault(name);

    /// <summary>Whether <paramref name="value"/> is present and has exactly <paramref name="shape"/> (what generated code checks first).</summary>
    public static bool HasShape([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] Tensor? value, params int[] shape) => value is not null && value.Shape.SequenceEqual(shape);

    /// <summary>Whether <paramref name="value"/> is present with <paramref name="length"/> elements.</summary>
    public static bool HasLength([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] int[]? value, int length) => value is not null && value.Length == length;
}
