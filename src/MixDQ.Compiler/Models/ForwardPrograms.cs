using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Runtime.Models.Configs;

namespace MixDQ.Compiler.Models;

/// <summary>
/// Traces the forward pass of each network the pipeline runs (text encoders, UNet, VAE decoder) at the shapes
/// of a default generation: batch 1, the UNet's <c>sample_size</c> latents (64 when unset), and the text
/// encoder's <c>max_position_embeddings</c> tokens. The generated code runs these; other shapes take the graph.
/// </summary>
public static class ForwardPrograms
{
    public static IReadOnlyList<ForwardProgram> Trace(ModelFolder folder, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        bool sdxl = folder.PipelineClass == "StableDiffusionXLPipeline";
        var programs = new List<ForwardProgram>();
        int contextLength = 77;
        int? pooledWidth = null;
        foreach (string name in sdxl ? new[] { "text_encoder", "text_encoder_2" } : ["text_encoder"])
        {
            if (Config(folder, name) is not { } te) continue;
            var cfg = ClipTextConfig.Parse(te.Json, te.Path);
            bool projection = name == "text_encoder_2";
            progress?.Report($"tracing {name}");
            programs.Add(ForwardTracer.TraceTextEncoder(cfg, projection, name, cfg.MaxPositionEmbeddings, sdxl ? -2 : -1));
            contextLength = cfg.MaxPositionEmbeddings;
            if (projection) pooledWidth = cfg.ProjectionDim;
        }
        int latentH = 64, latentW = 64;
        if (Config(folder, "unet") is { } unet)
        {
            var cfg = UNet2DConditionConfig.Parse(unet.Json, unet.Path);
            (latentH, latentW) = (cfg.SampleHeight ?? 64, cfg.SampleWidth ?? 64);
            progress?.Report("tracing unet");
            programs.Add(ForwardTracer.TraceUnet(cfg, latentH, latentW, contextLength, pooledWidth));
        }
        if (Config(folder, "vae") is { } vae && folder.Find("vae")!.ClassName == "AutoencoderKL")
        {
            progress?.Report("tracing vae decoder");
            programs.Add(ForwardTracer.TraceVaeDecoder(AutoencoderKLConfig.Parse(vae.Json, vae.Path), latentH, latentW));
        }
        return programs;
    }

    private static (string Json, string Path)? Config(ModelFolder folder, string component) =>
        folder.Find(component) is { Role: ComponentRole.Network, ConfigJson: { } json } c ? (json, Path.Combine(c.Directory, "config.json")) : null;
}
