using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>Which decoder turns latents into pixels.</summary>
public enum DecoderKind
{
    /// <summary>The folder's AutoencoderKL decoder.</summary>
    Vae,
    /// <summary>The tiny TAESD decoder (a <c>taesd</c> folder inside or beside the model).</summary>
    Taesd,
}

/// <summary>Per-call settings of DiffusionPipeline.Generate. Unset values take the model's defaults.</summary>
public sealed record GenerationOptions
{
    /// <summary>Seed of the initial noise (and of ancestral-sampler noise).</summary>
    public int Seed { get; init; }

    /// <summary>Denoising steps; null = the model's default (1 for turbo models).</summary>
    public int? Steps { get; init; }

    /// <summary>Image width in pixels, a multiple of the VAE factor; null = the model's default size.</summary>
    public int? Width { get; init; }

    /// <summary>Image height in pixels; null = the model's default size.</summary>
    public int? Height { get; init; }

    /// <summary>
    /// Unscaled standard-normal initial latents [1, C, H/f, W/f] (as diffusers' <c>latents=</c>); the
    /// pipeline multiplies them by the scheduler's initial sigma. When set, width and height follow from it.
    /// </summary>
    public Tensor? InitialLatents { get; init; }

    public DecoderKind Decoder { get; init; } = DecoderKind.Vae;

    /// <summary>When set, intermediate tensors are written there as .npy (ctx, pooled, eps, latents, image).</summary>
    public string? DumpDirectory { get; init; }
}

/// <summary>Progress of one generation: a stage name and the step within it.</summary>
public readonly record struct GenerationProgress(string Stage, int Step, int TotalSteps);
