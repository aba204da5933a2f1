namespace MixDQ.Runtime.Compiled.Tracing;

/// <summary>A named tensor of a program: an input of the forward pass, or a weight bound by name.</summary>
/// <param name="Value">The program value it defines.</param>
/// <param name="Name">Input name (<c>sample</c>) or tensor name within the component (<c>conv_norm_out.weight</c>).</param>
/// <param name="Shape">Its shape.</param>
public sealed record ProgramTensor(int Value, string Name, int[] Shape);

/// <summary>An integer-array input (token ids, positions), used by <c>embedding</c> ops by name.</summary>
public sealed record ProgramIntInput(string Name, int Length);

/// <summary>A named result of the forward pass.</summary>
public sealed record ProgramOutput(string Name, int Value);

/// <summary>
/// One call of the backend contract (<see cref="Backends.IComputeBackend"/>): <c>op</c> is the method in
/// snake case, <c>Args</c> the program values it reads, <c>Result</c> the value it defines with its
/// <c>Shape</c>; linear and conv2d ops name their prepared <c>Layer</c> (module path), every other argument
/// of the call is an attribute.
/// </summary>
public sealed record ProgramOp(string Op, int Result, int[] Args, int[] Shape, string? Layer, IReadOnlyList<KeyValuePair<string, object>> Attributes)
{
    public object? Attribute(string name) => Attributes.FirstOrDefault(a => a.Key == name).Value;
}

/// <summary>
/// The straight-line forward pass of one component at one input shape, recorded by <see cref="ForwardTracer"/>:
/// inputs, the weights it reads directly (norm affines, embedding tables), the ops in execution order and the
/// outputs. Each value has its own id, defined before use (weights as the graph is built, then inputs, then op
/// results; ids of weights no op reads are left out, so ids are not dense). The compiler writes
/// it into the plan; the source generator turns it into one C# method.
/// </summary>
public sealed record ForwardProgram(
    string Component,
    IReadOnlyList<ProgramTensor> Inputs,
    IReadOnlyList<ProgramIntInput> IntInputs,
    IReadOnlyList<ProgramTensor> Parameters,
    IReadOnlyList<ProgramOp> Ops,
    IReadOnlyList<ProgramOutput> Outputs);
