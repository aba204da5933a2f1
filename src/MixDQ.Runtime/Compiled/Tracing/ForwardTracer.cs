using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;

namespace MixDQ.Runtime.Compiled.Tracing;

/// <summary>
/// Records the forward pass of each network as a <see cref="ForwardProgram"/>: the runtime's own model graph
/// runs once on a <see cref="TracingBackend"/> at the compiled input shape (batch 1), with element-less weights,
/// so the program is the graph by construction and tracing SDXL costs no weight memory. Input and output names
/// are those <c>DiffusionPipeline</c> passes to a compiled forward pass (<see cref="ProgramArguments"/>).
/// </summary>
public static class ForwardTracer
{
    /// <summary>UNet: inputs <c>sample</c> [1, C, h, w], <c>timesteps</c> [1], <c>encoder_hidden_states</c> [1, L, D]
    /// (SDXL: <c>text_embeds</c>, <c>time_ids</c> [1, 6]); output <c>sample</c>.</summary>
    public static ForwardProgram TraceUnet(UNet2DConditionConfig cfg, int latentHeight, int latentWidth, int contextLength,
        int? pooledWidth = null, Func<LayerInfo, LayerPrecision>? precision = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var tracer = new TracingBackend();
        var model = UNet2DConditionModel.Build(cfg, ModuleBuilder.Trace(UNet2DConditionModel.ComponentName, tracer, precision));
        var sample = tracer.Input("sample", 1, cfg.InChannels, latentHeight, latentWidth);
        var timesteps = tracer.Input("timesteps", 1);
        var context = tracer.Input("encoder_hidden_states", 1, contextLength, cfg.CrossAttentionDim.Max());
        Tensors.Tensor? textEmbeds = null, timeIds = null;
        if (cfg.HasTextTimeEmbedding)
        {
            const int timeIdCount = 6;
            int width = pooledWidth ?? cfg.ProjectionClassEmbeddingsInputDim!.Value - timeIdCount * cfg.AdditionTimeEmbedDim!.Value;
            textEmbeds = tracer.Input("text_embeds", 1, width);
            timeIds = tracer.Input("time_ids", 1, timeIdCount);
        }
        tracer.Output("sample", model.ForwardCore(sample, timesteps, context, textEmbeds, timeIds, CancellationToken.None));
        return tracer.ToProgram(UNet2DConditionModel.ComponentName);
    }

    /// <summary>CLIP text encoder: int inputs <c>input_ids</c>, <c>position_ids</c> (and <c>eos_rows</c> with a projection);
    /// outputs <c>hidden_states</c> (and <c>text_embeds</c>).</summary>
    public static ForwardProgram TraceTextEncoder(ClipTextConfig cfg, bool withProjection, string component, int sequenceLength,
        int outputHiddenStateIndex, Func<LayerInfo, LayerPrecision>? precision = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if (outputHiddenStateIndex >= 0 || outputHiddenStateIndex < -(cfg.NumHiddenLayers + 1))
            throw new ArgumentOutOfRangeException(nameof(outputHiddenStateIndex), outputHiddenStateIndex,
                $"must be -1 (last_hidden_state) or in [-{cfg.NumHiddenLayers + 1}, -2]");
        var tracer = new TracingBackend();
        var model = ClipTextModel.Build(cfg, ModuleBuilder.Trace(component, tracer, precision), withProjection);
        var ids = tracer.IntInput("input_ids", sequenceLength);
        var positions = tracer.IntInput("position_ids", sequenceLength);
        var eosRows = withProjection ? tracer.IntInput("eos_rows", 1) : null;
        var output = model.ForwardCore(ids, positions, eosRows, 1, outputHiddenStateIndex, CancellationToken.None);
        tracer.Output("hidden_states", output.Hidden);
        if (output.TextEmbeds is not null) tracer.Output("text_embeds", output.TextEmbeds);
        return tracer.ToProgram(component);
    }

    /// <summary>AutoencoderKL decoder: input <c>latents</c> [1, C, h, w] (already divided by the scaling factor); output <c>sample</c>.</summary>
    public static ForwardProgram TraceVaeDecoder(AutoencoderKLConfig cfg, int latentHeight, int latentWidth,
        Func<LayerInfo, LayerPrecision>? precision = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var tracer = new TracingBackend();
        var model = AutoencoderKLDecoder.Build(cfg, ModuleBuilder.Trace(AutoencoderKLDecoder.ComponentName, tracer, precision));
        var latents = tracer.Input("latents", 1, cfg.LatentChannels, latentHeight, latentWidth);
        tracer.Output("sample", model.Decode(latents, CancellationToken.None));
        return tracer.ToProgram(AutoencoderKLDecoder.ComponentName);
    }
}
