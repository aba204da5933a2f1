using System.Runtime.InteropServices;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>
/// A float layer weight of an FP32 artifact written as <c>P.weight.panels</c> (<see cref="WeightPanels"/>, PLAN-FORMAT.md
/// "Float weights stored as panels"): the layout the CPU backend's kernels read, so loading maps it and uses it in place.
/// </summary>
public static class PanelTensor
{
    /// <summary>
    /// The entry that replaces <c>{layer}.weight</c> (read from <paramref name="entry"/> of <paramref name="source"/>, converted to
    /// FP32), or null when the stored tensor does not have the layer's element count (the runtime then reports the mismatch).
    /// </summary>
    public static SafetensorsStreamEntry? Create(string component, LayerInfo layer, SafetensorsFile source, TensorInfo entry)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.ElementCount != layer.ParameterCount || layer.WeightShape[0] < 1) return null;
        int rows = layer.WeightShape[0], cols = (int)(layer.ParameterCount / rows), width = WeightPanels.WidthOf(layer.Kind);
        int[] shape = WeightPanels.StoredShape(rows, cols, width);
        return new SafetensorsStreamEntry($"{component}/{layer.Name}{WeightPanels.Suffix}", DType.F32, shape, stream =>
        {
            var weight = source.ReadFloat32(entry.Name);
            var panels = new float[(long)shape[0] * cols * width];
            WeightPanels.Pack(weight.Data, rows, cols, width, panels);
            stream.Write(MemoryMarshal.AsBytes(panels.AsSpan()));
        });
    }
}
