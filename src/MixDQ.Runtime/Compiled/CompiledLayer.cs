using MixDQ.Runtime.Backends;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// MixDQ's two layer groups: content layers (cross-attention, feed-forward, text path) are judged by
/// SSIM of the image, quality layers (everything else) by SQNR of the UNet output.
/// </summary>
public enum LayerGroup
{
    Content,
    Quality,
}

/// <summary>One quantizable layer of a compiled plan, as generated code exposes it (<c>MyModel.Plan.Layers</c>).</summary>
public sealed record CompiledLayer(
    string Component,
    string Name,
    LayerKind Kind,
    IReadOnlyList<int> WeightShape,
    LayerPrecision Precision,
    LayerGroup Group,
    long WeightBytes)
{
    /// <summary><c>component/name</c>, the key <see cref="LayerInfo.QualifiedName"/> uses.</summary>
    public string QualifiedName => $"{Component}/{Name}";

    public long Parameters => WeightShape.Aggregate(1L, (a, d) => a * d);

    public long Fp32WeightBytes => Parameters * 4;

    /// <summary>Integer layers: <c>sym</c> or <c>asym</c> per-channel weights; null for float layers.</summary>
    public string? WeightScheme { get; init; }

    /// <summary>Input quantizers of an integer layer: 0 (weight-only), 1, or 2 for a split [h, skip] input.</summary>
    public int InputQuantizers { get; init; }

    /// <summary>True when the artifact stores the layer's FP BOS output row (BOS-aware cross-attention to_k/to_v).</summary>
    public bool BosRow { get; init; }

    /// <summary>The sensitivity that decided the layer's widths (null when the analysis did not measure it).</summary>
    public LayerSensitivity? Sensitivity { get; init; }
}

/// <summary>
/// A layer's measured sensitivity at its chosen widths: <c>ssim</c> (content layers: SSIM of the image vs FP, 1 = no
/// change) or <c>sqnr</c> (quality layers: SQNR of the UNet output vs FP in dB); null where the width is floating point.
/// </summary>
public sealed record LayerSensitivity(string Metric, double? Weight, double? Activation);
