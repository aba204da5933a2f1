using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Quantization;

/// <summary>
/// What running one integer layer of a plan needs, as the artifact and plan store it: the packed weight, the input
/// quantizers (none: weight-only, e.g. W4A16; one or two <see cref="InputQuantSegment"/>s: integer activations), and
/// for a BOS-aware cross-attention <c>to_k</c>/<c>to_v</c> the FP output row of the BOS token, which the layer emits at
/// token 0 of every sequence instead of computing it (only tokens 1.. pass through the quantized GEMM).
/// </summary>
public sealed record QuantizedLayer
{
    public QuantizedLayer(QuantizedWeight weight, IReadOnlyList<InputQuantSegment>? input = null, float[]? bosRow = null, string? item = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        Weight = weight;
        Input = input ?? [];
        BosRow = bosRow;
        if (bosRow is not null && bosRow.Length != weight.Rows)
            throw new MixDQException(ErrorCodes.QuantizedWeightsInvalid, $"BOS row has {bosRow.Length} values for {weight.Rows} outputs", item: item);
        if (bosRow is not null && Array.Exists(bosRow, v => !float.IsFinite(v)))
            throw new MixDQException(ErrorCodes.QuantizedWeightsInvalid, "BOS row holds a non-finite value", item: item);
        if (Input.Count > 0 && Input.Any(s => s.Channels <= 0))
            throw new MixDQException(ErrorCodes.QuantizedWeightsInvalid, "an input quantizer segment covers no channels", item: item);
    }

    public QuantizedWeight Weight { get; }

    /// <summary>Input quantizers in channel order; empty when activations stay floating point.</summary>
    public IReadOnlyList<InputQuantSegment> Input { get; }

    public float[]? BosRow { get; }

    /// <summary>True when the input is quantized (WxA8/WxA4), false for weight-only layers.</summary>
    public bool QuantizesInput => Input.Count > 0;

    /// <summary>Checks that the segments cover exactly <paramref name="inChannels"/> input channels.</summary>
    public void CheckInputChannels(int inChannels, string? item = null)
    {
        if (!QuantizesInput) return;
        int total = Input.Sum(s => s.Channels);
        if (total != inChannels)
            throw new MixDQException(ErrorCodes.QuantizedWeightsInvalid, $"input quantizers cover {total} channels, the layer has {inChannels}", item: item);
    }
}
