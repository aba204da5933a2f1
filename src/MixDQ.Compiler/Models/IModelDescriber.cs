using MixDQ.Runtime.Backends;

namespace MixDQ.Compiler.Models;

/// <summary>What the runtime's graph of one component needs: its quantizable layers and the weight tensors it reads.</summary>
/// <param name="Layers">Quantizable layers (diffusers module path, kind, weight shape) in graph order; precision is ignored.</param>
/// <param name="UsesTensor">Whether a tensor of the weight file is read by the graph (the artifact keeps only those).</param>
public sealed record ComponentDescription(IReadOnlyList<LayerInfo> Layers, Func<string, bool> UsesTensor);

/// <summary>
/// Describes the network components of a model. The runtime's model graphs are the source of truth
/// (<see cref="RuntimeModelDescriber"/>); the compiler depends only on this interface.
/// </summary>
public interface IModelDescriber
{
    /// <summary>Describes <paramref name="component"/>, checking its weights against the graph (MIXDQ024 on mismatch).</summary>
    ComponentDescription Describe(ModelComponent component);
}
