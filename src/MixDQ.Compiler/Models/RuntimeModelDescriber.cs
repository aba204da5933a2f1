using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Models;

/// <summary>
/// Describes components with the runtime's own model graphs (UNet2DConditionModel, ClipTextModel,
/// AutoencoderKLDecoder, TaesdDecoder): the layers come from <c>DescribeLayers(config)</c> and the weight
/// file is checked against <c>ExpectedTensors(config)</c> with the binding rules the runtime loads with,
/// so a model that compiles is a model the runtime can bind. Reads headers only (binding is lazy).
/// </summary>
public sealed class RuntimeModelDescriber : IModelDescriber
{
    public ComponentDescription Describe(ModelComponent component)
    {
        if (component.Weights is null || component.ConfigJson is null) return new ComponentDescription([], _ => false);
        string configPath = Path.Combine(component.Directory, "config.json");
        IReadOnlyList<LayerInfo> layers;
        IReadOnlyList<TensorInfo> expected;
        WeightBindingRules rules;
        switch (component.ClassName)
        {
            case "UNet2DConditionModel":
            {
                var cfg = UNet2DConditionConfig.Parse(component.ConfigJson, configPath);
                (layers, expected, rules) = (UNet2DConditionModel.DescribeLayers(cfg), UNet2DConditionModel.ExpectedTensors(cfg), WeightBindingRules.Strict);
                break;
            }
            case "CLIPTextModel" or "CLIPTextModelWithProjection":
            {
                var cfg = ClipTextConfig.Parse(component.ConfigJson, configPath);
                bool projection = component.ClassName == "CLIPTextModelWithProjection";
                (layers, expected, rules) = (ClipTextModel.DescribeLayers(cfg, projection, component.Name), ClipTextModel.ExpectedTensors(cfg, projection), ClipTextModel.BindingRules);
                break;
            }
            case "AutoencoderKL":
            {
                var cfg = AutoencoderKLConfig.Parse(component.ConfigJson, configPath);
                (layers, expected, rules) = (AutoencoderKLDecoder.DescribeLayers(cfg), AutoencoderKLDecoder.ExpectedTensors(cfg), AutoencoderKLDecoder.BindingRules);
                break;
            }
            case "AutoencoderTiny":
            {
                var cfg = AutoencoderTinyConfig.Parse(component.ConfigJson, configPath);
                (layers, expected, rules) = (TaesdDecoder.DescribeLayers(cfg), TaesdDecoder.ExpectedTensors(cfg), TaesdDecoder.BindingRules);
                break;
            }
            default:
                // ModelFolder only opens the classes above as networks; anything else is a programming error.
                throw new MixDQException(ErrorCodes.ConfigUnsupportedValue,
                    $"component class '{component.ClassName}' has no model graph in the runtime", configPath, component.Name);
        }

        // Throws MIXDQ024 listing every missing, unexpected or mis-shaped tensor, as loading would.
        WeightBinder.Bind(expected, component.Weights, rules);
        var expectedNames = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        bool Uses(string name) => expectedNames.Contains(name) || rules.IsKnownExtra?.Invoke(name) != true;
        return new ComponentDescription(layers.Select(l => l with { Component = component.Name }).ToList(), Uses);
    }
}
