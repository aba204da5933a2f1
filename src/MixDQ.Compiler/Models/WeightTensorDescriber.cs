using MixDQ.Runtime.Backends;

namespace MixDQ.Compiler.Models;

/// <summary>
/// A describer that needs no model graph: a layer is every <c>*.weight</c> tensor of rank 2 (linear) or
/// rank 4 (conv2d), minus CLIP embedding tables and the VAE encoder. For component classes the runtime
/// does not implement, and for tests; it does not check the weights against a graph.
/// </summary>
public sealed class WeightTensorDescriber : IModelDescriber
{
    public ComponentDescription Describe(ModelComponent component)
    {
        if (component.Weights is null) return new ComponentDescription([], _ => false);
        var layers = new List<LayerInfo>();
        foreach (var e in component.Weights.Tensors)
        {
            if (!e.Name.EndsWith(".weight", StringComparison.Ordinal)) continue;
            string name = e.Name[..^".weight".Length];
            if (!IsUsedForTextToImage(component.ClassName, name)) continue;
            LayerKind? kind = e.Shape.Length switch { 2 => LayerKind.Linear, 4 => LayerKind.Conv2d, _ => null };
            if (kind is null) continue;
            layers.Add(new LayerInfo(component.Name, name, kind.Value, e.Shape, LayerPrecision.Fp32));
        }
        layers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new ComponentDescription(layers, n => IsUsedForTextToImage(component.ClassName, n));
    }

    private static bool IsUsedForTextToImage(string className, string name) => className switch
    {
        "AutoencoderKL" => !name.StartsWith("encoder.", StringComparison.Ordinal) && !name.StartsWith("quant_conv", StringComparison.Ordinal),
        "CLIPTextModel" or "CLIPTextModelWithProjection" => !name.Contains("embeddings.", StringComparison.Ordinal) || name.EndsWith(".weight", StringComparison.Ordinal),
        _ => true,
    };
}
