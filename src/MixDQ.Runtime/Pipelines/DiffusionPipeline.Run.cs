namespace MixDQ.Runtime.Pipelines;

public sealed partial class DiffusionPipeline
{
    private static DiffusionPipeline LoadCore(string modelDirectory, PipelineLoadOptions options)
        => throw new NotImplementedException("lands with the model graphs");

    private GeneratedImage GenerateCore(string prompt, GenerationOptions options, IProgress<GenerationProgress>? progress, CancellationToken ct)
        => throw new NotImplementedException("lands with the model graphs");

    /// <summary>Every quantizable layer of the pipeline (text encoders, UNet, VAE decoder), with its precision.</summary>
    public IReadOnlyList<Backends.LayerInfo> Layers { get; private set; } = [];

    public void Dispose()
    {
    }
}
