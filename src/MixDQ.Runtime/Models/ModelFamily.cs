namespace MixDQ.Runtime.Models;

/// <summary>The two pipeline families the runtime runs.</summary>
public enum ModelFamily
{
    /// <summary>StableDiffusionPipeline: SD 1.x / 2.x / SD-Turbo (one CLIP text encoder).</summary>
    StableDiffusion,
    /// <summary>StableDiffusionXLPipeline: SDXL / SDXL-Turbo (two text encoders, text_time conditioning).</summary>
    StableDiffusionXL,
}
