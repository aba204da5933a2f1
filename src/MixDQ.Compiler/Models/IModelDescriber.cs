using MixDQ.Runtime.Backends;

namespace MixDQ.Compiler.Models;

/// <summary>
/// Lists the quantizable layers (linear and conv2d) of one network component. The runtime's model
/// graphs are the source of truth; the compiler only depends on this interface so that the graph
/// description can be swapped without touching planning.
/// </summary>
public interface IModelDescriber
{
    /// <summary>
    /// The component's quantizable layers (diffusers module path, kind, weight shape) in a stable order.
    /// <see cref="LayerInfo.Precision"/> is ignored: the planner decides it.
    /// </summary>
    IReadOnlyList<LayerInfo> DescribeLayers(ModelComponent component);
}
