using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Storage;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// What the code generated for a <c>MixDQModel</c> calls to load its artifact: the pipeline reads the
/// artifact in place (an <see cref="ArtifactModelStore"/> over the memory-mapped file), with the plan's
/// per-layer precision; nothing is unpacked or copied to disk.
/// </summary>
public static class CompiledModelLoader
{
    /// <summary>Loads the pipeline of a compiled model: checks the artifact against the plan hash, loads it in place with the plan's precision.</summary>
    /// <param name="artifactPath">The <c>*.mixdq.safetensors</c> file.</param>
    /// <param name="expectedPlanHash">The plan hash the generated code was made from; the artifact must carry the same.</param>
    /// <param name="precision">The plan's precision per layer.</param>
    /// <param name="device">Where to run.</param>
    /// <param name="warnings">Receives load warnings (NaN weights, ...).</param>
    /// <exception cref="MixDQException"><c>MIXDQ062</c> when the artifact is missing or not one; <c>MIXDQ068</c> when its plan hash differs.</exception>
    public static DiffusionPipeline LoadPipeline(string artifactPath, string expectedPlanHash, Func<LayerInfo, LayerPrecision> precision,
        MixDQDevice device, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentNullException.ThrowIfNull(device);
        var store = ArtifactModelStore.Open(artifactPath);
        try
        {
            CheckPlanHash(store.Artifact, expectedPlanHash);
        }
        catch
        {
            store.Dispose();
            throw;
        }
        // The pipeline owns the store from here (and disposes it if loading fails).
        return DiffusionPipeline.Load(store, new PipelineLoadOptions
        {
            Backend = device.Backend,
            Precision = precision,
            PreferFp16Weights = false,
            Warnings = warnings,
        });
    }

    private static void CheckPlanHash(ArtifactFile artifact, string expectedPlanHash)
    {
        if (!string.Equals(artifact.PlanHash, expectedPlanHash, StringComparison.Ordinal))
            throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                $"the weights file was compiled for plan {artifact.PlanHash}, but this code was generated from plan {expectedPlanHash}; rebuild the project",
                artifact.Path, ArtifactFile.PlanHashKey);
    }

    /// <summary>A layer the plan does not know: the loaded graph and the plan disagree.</summary>
    public static LayerPrecision UnknownLayer(LayerInfo layer, string className) =>
        throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
            $"the model graph has layer '{layer.QualifiedName}', which the plan of {className} does not list; rebuild the project", item: layer.QualifiedName);

    /// <summary>Binds a plan layer to the loaded graph by name and checks its kind and shape.</summary>
    public static LayerInfo Bind(IReadOnlyDictionary<string, LayerInfo> layers, string qualifiedName, LayerKind kind, int[] shape)
    {
        if (!layers.TryGetValue(qualifiedName, out var layer))
            throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                $"the plan lists layer '{qualifiedName}', which the loaded model graph does not have; rebuild the project", item: qualifiedName);
        if (layer.Kind != kind || !layer.WeightShape.AsSpan().SequenceEqual(shape))
            throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                $"layer '{qualifiedName}' is {layer.Kind} {Tensors.Tensor.FormatShape(layer.WeightShape)} in the model but {kind} {Tensors.Tensor.FormatShape(shape)} in the plan; rebuild the project",
                item: qualifiedName);
        return layer;
    }

    /// <summary>The loaded graph's layers by qualified name.</summary>
    public static IReadOnlyDictionary<string, LayerInfo> IndexLayers(IEnumerable<LayerInfo> layers)
    {
        var d = new Dictionary<string, LayerInfo>(StringComparer.Ordinal);
        foreach (var l in layers) d[l.QualifiedName] = l;
        return d;
    }

    /// <summary>The prepared linear layer <paramref name="qualifiedName"/> of the loaded pipeline, checked against the plan's weight shape.</summary>
    public static IPreparedLinear BindLinear(DiffusionPipeline pipeline, string qualifiedName, int[] weightShape)
    {
        var layer = BindingOf<IPreparedLinear>(pipeline, qualifiedName, "linear layer");
        CheckShape(qualifiedName, layer.Layer.WeightShape, weightShape);
        return layer;
    }

    /// <summary>The prepared convolution <paramref name="qualifiedName"/> of the loaded pipeline, checked against the plan's weight shape.</summary>
    public static IPreparedConv2d BindConv2d(DiffusionPipeline pipeline, string qualifiedName, int[] weightShape)
    {
        var layer = BindingOf<IPreparedConv2d>(pipeline, qualifiedName, "convolution");
        CheckShape(qualifiedName, layer.Layer.WeightShape, weightShape);
        return layer;
    }

    /// <summary>The parameter tensor <paramref name="qualifiedName"/> (<c>unet/conv_norm_out.weight</c>) of the loaded pipeline.</summary>
    public static Tensors.Tensor BindParameter(DiffusionPipeline pipeline, string qualifiedName, int[] shape)
    {
        var t = BindingOf<Tensors.Tensor>(pipeline, qualifiedName, "parameter");
        CheckShape(qualifiedName, t.ShapeArray(), shape);
        return t;
    }

    private static T BindingOf<T>(DiffusionPipeline pipeline, string qualifiedName, string what) where T : class
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return pipeline.Binding(qualifiedName) as T
            ?? throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                $"the generated code uses {what} '{qualifiedName}', which the loaded model graph does not have; rebuild the project", item: qualifiedName);
    }

    private static void CheckShape(string qualifiedName, int[] actual, int[] planned)
    {
        if (!actual.AsSpan().SequenceEqual(planned))
            throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                $"'{qualifiedName}' is {Tensors.Tensor.FormatShape(actual)} in the model but {Tensors.Tensor.FormatShape(planned)} in the plan; rebuild the project",
                item: qualifiedName);
    }
}
