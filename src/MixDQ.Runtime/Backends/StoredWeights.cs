using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends;

/// <summary>
/// A layer's weight still where it is stored (a tensor file, an artifact), in the layer's expected shape. A backend
/// reads it in pieces straight into its own layout, so loading converts and re-lays out each element once and
/// never holds an FP32 copy of the whole weight beside the prepared one.
/// </summary>
public interface IStoredWeight
{
    /// <summary>The layer's weight shape (<c>[out, in]</c> or <c>[out, in, k, k]</c>), row-major.</summary>
    ReadOnlySpan<int> Shape { get; }

    /// <summary>Elements <paramref name="start"/> to <paramref name="start"/> + length of the row-major weight, as FP32
    /// (converted from the stored type exactly as a whole-tensor read converts them). Safe to call from several threads at once.</summary>
    void ReadFloat32(long start, Span<float> destination);

    /// <summary>The whole weight as an FP32 tensor (for a preparation that needs it all at once).</summary>
    Tensor ReadAll();
}

/// <summary>
/// A backend that prepares layers from <see cref="IStoredWeight"/>s (optional beside <see cref="IComputeBackend"/>): the
/// result must equal that of <see cref="IComputeBackend.PrepareLinear"/> / <see cref="IComputeBackend.PrepareConv2d"/> on
/// the weight read whole. Model loading uses it when the backend has it, so no FP32 copy of a weight is made.
/// </summary>
public interface IStoredWeightPreparation
{
    IPreparedLinear PrepareLinear(LayerInfo layer, IStoredWeight weight, Tensor? bias);

    IPreparedConv2d PrepareConv2d(LayerInfo layer, IStoredWeight weight, Tensor? bias, int stride, int padding);
}

/// <summary>
/// A stored weight that may already be laid out as FP32 panels (<see cref="WeightPanels"/>) in a mapped file, which a
/// backend whose kernels read panels of the same width can use in place: nothing converted, copied or allocated.
/// </summary>
internal interface IStoredWeightPanels
{
    /// <summary>Rows per panel of the stored layout; 0 when the weight is stored row-major.</summary>
    int PanelWidth { get; }

    /// <summary>The panels in the file's mapping (held mapped while the result is reachable), or null when they cannot be mapped.</summary>
    IO.MappedTensor? TryMapPanels();

    /// <summary>Floats <paramref name="start"/>.. of the stored panels as they are (a positional read, not through the mapping).</summary>
    void ReadPanels(long start, Span<float> destination);
}
