using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// Assigns MixDQ's content/quality groups by layer name, the rule of the MixDQ reference code
/// (quant_content.py / quant_quality.py): in the UNet, a layer is <b>content</b> when its path has an
/// <c>attn2</c> (cross-attention: to_q/to_k/to_v/to_out.0) or an <c>ff</c> (the transformer
/// feed-forward, ff.net.0.proj and ff.net.2) segment; every other UNet layer (ResNets, self-attention,
/// proj_in/out, samplers, conv_in/out, time and added embeddings) is <b>quality</b>. Layers of the text
/// encoders are on the text path, so they are content too; the VAE decoder only shapes pixels: quality.
/// </summary>
public static class LayerGrouping
{
    public static LayerGroup Classify(string component, string layerName)
    {
        if (component.StartsWith("text_encoder", StringComparison.Ordinal)) return LayerGroup.Content;
        if (component != "unet") return LayerGroup.Quality;
        foreach (var segment in layerName.Split('.'))
        {
            if (segment is "attn2" or "ff") return LayerGroup.Content;
        }
        return LayerGroup.Quality;
    }
}
