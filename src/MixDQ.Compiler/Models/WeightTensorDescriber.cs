using MixDQ.Runtime.Backends;

namespace MixDQ.Compiler.Models;

/// <summary>
/// Interim describer until the runtime's model graphs (<c>UNet2DConditionModel.DescribeLayers</c> and
/// friends) are available: a layer is every <c>*.weight</c> tensor of rank 2 (linear) or rank 4
/// (conv2d), minus the ones text-to-image never runs as a matrix product:
/// CLIP embedding tables (<c>*embeddings.*</c>) and the VAE encoder (only <c>decoder.*</c> and
/// <c>post_quant_conv</c> are used to decode). Ordered by name.
/// </summary>
public sealed class WeightTensorDescriber : IModelDescriber
{
    public IReadOnlyList<LayerInfo> DescribeLayers(ModelComponent component)
    {
        if (component.Weights is null) return [];
        var layers = new List<LayerInfo>();
        foreach (var e in component.Weights.Entries)
        {
            if (!e.Name.EndsWith(".weight", StringComparison.Ordinal)) continue;
            string name = e.Name[..^".weight".Length];
            if (!IsUsedForTextToImage(component.ClassName, name)) continue;
            LayerKind? kind = e.Shape.Length switch { 2 => LayerKind.Linear, 4 => LayerKind.Conv2d, _ => null };
            if (kind is null) continue;
            layers.Add(new LayerInfo(component.Name, name, kind.Value, e.Shape, LayerPrecision.Fp32));
        }
        layers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return layers;
    }

    private static bool IsUsedForTextToImage(string className, string layerName) => className switch
    {
        "AutoencoderKL" => layerName.StartsWith("decoder.", StringComparison.Ordinal) || layerName == "post_quant_conv",
        "AutoencoderTiny" => layerName.StartsWith("decoder.", StringComparison.Ordinal),
        "CLIPTextModel" or "CLIPTextModelWithProjection" => !layerName.Contains("embeddings.", StringComparison.Ordinal),
        _ => true,
    };
}
