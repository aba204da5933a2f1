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
}
