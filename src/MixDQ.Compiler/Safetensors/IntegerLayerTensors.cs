using System.Runtime.InteropServices;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Safetensors;

/// <summary>
/// The artifact tensors of one integer layer <c>P</c> (PLAN-FORMAT.md, "Integer layers"): <c>P.weight.packed</c> U8
/// [out, rowBytes], <c>P.weight.scale</c> F32 [out], <c>P.weight.zero_point</c> U8 [out] (asymmetric only), <c>P.bos</c>
/// F32 [out] (BOS-aware only), <c>P.input_quant</c> F32 [segments, 3] rows (channels, scale, zeroPoint) (integer inputs
/// only). The float <c>P.bias</c> is written with the other float tensors.
/// </summary>
public static class IntegerLayerTensors
{
    public static IEnumerable<SafetensorsStreamEntry> Of(string qualifiedName, QuantizedLayer layer)
    {
        var w = layer.Weight;
        byte[] packed = w.Packed.ToArray();
        yield return new SafetensorsStreamEntry(qualifiedName + ".weight.packed", DType.U8, [w.Rows, w.RowBytes], s => s.Write(packed));
        float[] scales = w.Scales.ToArray();
        yield return Floats(qualifiedName + ".weight.scale", scales, w.Rows);
        if (w.Scheme == WeightScheme.Asymmetric)
        {
            byte[] zeroPoints = w.ZeroPoints.ToArray();
            yield return new SafetensorsStreamEntry(qualifiedName + ".weight.zero_point", DType.U8, [w.Rows], s => s.Write(zeroPoints));
        }
        if (layer.BosRow is { } bos)
            yield return Floats(qualifiedName + ".bos", bos, bos.Length);
        if (layer.QuantizesInput)
        {
            var rows = layer.Input.SelectMany(seg => new[] { seg.Channels, seg.Params.Scale, (float)seg.Params.ZeroPoint }).ToArray();
            yield return Floats(qualifiedName + ".input_quant", rows, layer.Input.Count, 3);
        }
    }

    private static SafetensorsStreamEntry Floats(string name, float[] values, params int[] shape) =>
        new(name, DType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(values.AsSpan())));
}
