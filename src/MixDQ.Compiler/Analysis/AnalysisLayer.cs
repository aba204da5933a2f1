using System.Text.RegularExpressions;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Analysis;

/// <summary>
/// One UNet layer the analysis quantizes: its group, whether its input is the up-block <c>[h, skip]</c> concatenation
/// (<see cref="SplitAt"/> = channels of h: two input quantizers), and whether it is a BOS-aware cross-attention
/// <c>attn2.to_k</c>/<c>attn2.to_v</c>.
/// </summary>
public sealed record AnalysisLayer(LayerInfo Info, LayerGroup Group, int? SplitAt, bool BosAware)
{
    public string QualifiedName => Info.QualifiedName;

    public string Name => Info.Name;

    public long Parameters => Info.ParameterCount;

    public int InputChannels => Info.WeightShape[1];

    /// <summary>Channel counts of the input quantizer segments.</summary>
    public int[] SegmentChannels(bool split) =>
        split && SplitAt is { } h ? [h, InputChannels - h] : [InputChannels];
}

/// <summary>Finds the analysis layers among the UNet's described layers.</summary>
public static partial class AnalysisLayers
{
    [GeneratedRegex(@"^up_blocks\.(\d+)\.resnets\.(\d+)\.(conv1|conv_shortcut)$", RegexOptions.CultureInvariant)]
    private static partial Regex UpBlockResnetConv();

    [GeneratedRegex(@"(^|\.)attn2\.to_[kv]$", RegexOptions.CultureInvariant)]
    private static partial Regex CrossAttentionKeyValue();

    /// <summary>
    /// The quantizable layers of the <c>unet</c> component, in graph order. The [h, skip] split of an up-block resnet's
    /// input is read off the graph itself: h has the output channels of the block's previous resnet (for resnet 0: of the
    /// previous up block's last resnet, or of the mid block).
    /// </summary>
    public static IReadOnlyList<AnalysisLayer> Of(IReadOnlyList<LayerInfo> layers)
    {
        var unet = layers.Where(l => l.Component == "unet").ToList();
        var outChannels = unet.ToDictionary(l => l.Name, l => l.WeightShape[0], StringComparer.Ordinal);
        int ResnetsIn(int block) => unet.Count(l => Regex.IsMatch(l.Name, $@"^up_blocks\.{block}\.resnets\.\d+\.conv1$"));
        var result = new List<AnalysisLayer>(unet.Count);
        foreach (var l in unet)
        {
            int? split = null;
            var m = UpBlockResnetConv().Match(l.Name);
            if (m.Success)
            {
                int block = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                int resnet = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                string? previous = resnet > 0 ? $"up_blocks.{block}.resnets.{resnet - 1}.conv1"
                    : block > 0 ? $"up_blocks.{block - 1}.resnets.{ResnetsIn(block - 1) - 1}.conv1"
                    : LastMidBlockConv(unet);
                if (previous is not null && outChannels.TryGetValue(previous, out int h) && h < l.WeightShape[1]) split = h;
            }
            result.Add(new AnalysisLayer(l, LayerGrouping.Classify(l.Component, l.Name), split, CrossAttentionKeyValue().IsMatch(l.Name)));
        }
        return result;
    }

    private static string? LastMidBlockConv(List<LayerInfo> unet) =>
        unet.LastOrDefault(l => l.Name.StartsWith("mid_block.resnets.", StringComparison.Ordinal) && l.Name.EndsWith(".conv2", StringComparison.Ordinal))?.Name;
}
