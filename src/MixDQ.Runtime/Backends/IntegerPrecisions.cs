using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends;

/// <summary>
/// The integer precisions a plan may give a layer and the checks every backend makes before preparing one, so that a
/// quantized layer whose stored data disagrees with its plan entry fails at load, naming the layer (MIXDQ090/091).
/// </summary>
public static class IntegerPrecisions
{
    /// <summary>
    /// W2/W4/W8 with A4/A8 (integer activations) or A16/A32 (weight-only): what the CPU and reference backends run.
    /// Float precisions are not integer precisions.
    /// </summary>
    public static bool IsKnown(LayerPrecision p) =>
        !p.IsFloat && IntegerFormat.IsWeightWidth(p.WeightBits) && (IntegerFormat.IsActivationWidth(p.ActivationBits) || p.ActivationBits is 16 or 32);

    /// <summary>True when activations stay floating point (W8A16, W4A16, W2A16).</summary>
    public static bool IsWeightOnly(LayerPrecision p) => p.ActivationBits >= 16;

    /// <summary>
    /// Checks <paramref name="weights"/> against <paramref name="layer"/>: precision widths, rows × depth, input
    /// quantizers covering <paramref name="inChannels"/> channels at the activation width, a BOS row only on a linear.
    /// </summary>
    public static void Check(LayerInfo layer, QuantizedLayer weights, int outputs, int depth, int inChannels, string backend)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(weights);
        string item = layer.QualifiedName;
        var p = layer.Precision;
        if (!IsKnown(p))
            throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {backend} backend has no {p} {layer.Kind} kernel", item: item);
        var w = weights.Weight;
        if (w.Bits != p.WeightBits)
            throw Invalid($"the plan gives {p} but the packed weight is {w.Bits}-bit", item);
        if (w.Rows != outputs || w.RowLength != depth)
            throw Invalid($"packed weight is {w.Rows} × {w.RowLength} codes, the layer needs {outputs} × {depth}", item);
        if (IsWeightOnly(p) && weights.QuantizesInput)
            throw Invalid($"{p} keeps activations in floating point but the layer has input quantizers", item);
        if (!IsWeightOnly(p))
        {
            if (!weights.QuantizesInput)
                throw Invalid($"{p} quantizes activations but the layer has no input quantizer", item);
            foreach (var s in weights.Input)
                if (s.Params.Bits != p.ActivationBits)
                    throw Invalid($"an input quantizer is {s.Params.Bits}-bit, the plan gives {p}", item);
            weights.CheckInputChannels(inChannels, item);
        }
        if (weights.BosRow is not null && layer.Kind != LayerKind.Linear)
            throw Invalid("only a linear layer (cross-attention to_k/to_v) has a BOS row", item);
    }

    private static MixDQException Invalid(string message, string item) => new(ErrorCodes.QuantizedWeightsInvalid, message, item: item);
}
