using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Storage;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Pipelines;

/// <summary>How to load a pipeline.</summary>
public sealed record PipelineLoadOptions
{
    /// <summary>The backend that runs every op; null = the fast CPU backend.</summary>
    public IComputeBackend? Backend { get; init; }

    /// <summary>Precision per quantizable layer (from a plan); null = FP32 everywhere.</summary>
    public Func<LayerInfo, LayerPrecision>? Precision { get; init; }

    /// <summary>Prefer <c>*.fp16.safetensors</c> files when a folder has both.</summary>
    public bool PreferFp16Weights { get; init; }

    /// <summary>Receives warnings (NaN weights, truncated prompts, ...).</summary>
    public IProgress<Diagnostics.MixDQWarning>? Warnings { get; init; }
}

/// <summary>
/// Text-to-image for a diffusers model, from its folder or a compiled artifact (SD-Turbo and SDXL-Turbo families): prompt → text embeddings →
/// UNet steps → VAE or TAESD decode → RGB.
/// </summary>
public sealed partial class DiffusionPipeline : IDisposable
{
    // API surface first; the implementation lands with the model graphs (see DiffusionPipeline.Run.cs).

    /// <summary>Loads a diffusers folder (model_index.json, configs, safetensors, tokenizers).</summary>
    public static DiffusionPipeline Load(string modelDirectory, PipelineLoadOptions? options = null)
        => LoadCore(new FolderModelStore(modelDirectory), leaveOpen: false, options ?? new PipelineLoadOptions());

    /// <summary>
    /// Loads a model from wherever its files are (a <see cref="FolderModelStore"/>, an <see cref="ArtifactModelStore"/>).
    /// The pipeline reads weights from the store while it loads and keeps its mappings: unless
    /// <paramref name="leaveOpen"/>, it takes ownership and disposes the store with itself (or at once when loading fails).
    /// </summary>
    public static DiffusionPipeline Load(IModelStore store, PipelineLoadOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(store);
        return LoadCore(store, leaveOpen, options ?? new PipelineLoadOptions());
    }

    /// <summary>Generates one image.</summary>
    public GeneratedImage Generate(string prompt, GenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => GenerateCore(prompt, options ?? new GenerationOptions(), progress, cancellationToken);

    /// <summary>
    /// The denoised latents of one prompt, not decoded (diffusers' <c>output_type="latent"</c>): what <see cref="Generate(string, GenerationOptions?, IProgress{GenerationProgress}?, CancellationToken)"/>
    /// decodes. <see cref="DecodeLatents"/> turns them into that image.
    /// </summary>
    public Tensor GenerateLatents(string prompt, GenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => DenoiseCore(prompt, options ?? new GenerationOptions(), progress, cancellationToken);

    /// <summary>Decodes latents from <see cref="GenerateLatents"/> of <paramref name="prompt"/> with the same options (decoder, seed and steps for the image's info).</summary>
    public GeneratedImage DecodeLatents(Tensor latents, string prompt, GenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => DecodeCore(latents, prompt, options ?? new GenerationOptions(), progress, cancellationToken);

    /// <summary>Generates one image per prompt, in order.</summary>
    public IReadOnlyList<GeneratedImage> Generate(IEnumerable<string> prompts, GenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
        => prompts.Select(p => Generate(p, options, progress, cancellationToken)).ToList();
}
