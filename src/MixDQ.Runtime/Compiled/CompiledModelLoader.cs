using System.Buffers.Binary;
using System.Text.Json;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// What the code generated for a <c>MixDQModel</c> calls to load its artifact. Interim bridge until the
/// pipeline can read an artifact directly: the artifact is unpacked once per plan hash into a diffusers
/// folder under the cache root (<c>MIXDQ_CACHE</c>, default <c>{temp}/mixdq-cache</c>), which
/// <see cref="DiffusionPipeline.Load"/> then loads with the plan's per-layer precision.
/// </summary>
public static class CompiledModelLoader
{
    /// <summary>Weight file name per component class, as diffusers and transformers name them.</summary>
    private static string WeightFileName(string componentClass) =>
        componentClass.StartsWith("CLIP", StringComparison.Ordinal) ? "model.safetensors" : "diffusion_pytorch_model.safetensors";

    /// <summary>Loads the pipeline of a compiled model: checks the artifact against the plan hash, unpacks it once, loads it with the plan's precision.</summary>
    /// <param name="artifactPath">The <c>*.mixdq.safetensors</c> file.</param>
    /// <param name="expectedPlanHash">The plan hash the generated code was made from; the artifact must carry the same.</param>
    /// <param name="precision">The plan's precision per layer.</param>
    /// <param name="device">Where to run.</param>
    /// <param name="warnings">Receives load warnings (NaN weights, ...).</param>
    /// <param name="cacheRoot">Where artifacts are unpacked; null = <c>MIXDQ_CACHE</c> or <c>{temp}/mixdq-cache</c>.</param>
    public static DiffusionPipeline LoadPipeline(string artifactPath, string expectedPlanHash, Func<LayerInfo, LayerPrecision> precision,
        MixDQDevice device, IProgress<MixDQWarning>? warnings = null, string? cacheRoot = null)
    {
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentNullException.ThrowIfNull(device);
        string folder;
        using (var artifact = ArtifactFile.Open(artifactPath))
        {
            if (!string.Equals(artifact.PlanHash, expectedPlanHash, StringComparison.Ordinal))
                throw new MixDQException(ErrorCodes.ArtifactPlanMismatch,
                    $"the weights file was compiled for plan {artifact.PlanHash}, but this code was generated from plan {expectedPlanHash}; rebuild the project",
                    artifactPath, ArtifactFile.PlanHashKey);
            folder = EnsureUnpacked(artifact, cacheRoot);
        }
        return DiffusionPipeline.Load(folder, new PipelineLoadOptions
        {
            Backend = device.Backend,
            Precision = precision,
            PreferFp16Weights = false,
            Warnings = warnings,
        });
    }

    /// <summary>The cache folder for an artifact, unpacked on first use (atomic: a temp folder renamed into place).</summary>
    public static string EnsureUnpacked(ArtifactFile artifact, string? cacheRoot = null)
    {
        cacheRoot ??= Environment.GetEnvironmentVariable("MIXDQ_CACHE") is { Length: > 0 } c ? c : Path.Combine(Path.GetTempPath(), "mixdq-cache");
        string key = artifact.PlanHash.Replace("sha256:", "", StringComparison.Ordinal);
        if (key.Length < 16) throw new MixDQException(ErrorCodes.ArtifactInvalid, "artifact has no plan hash", artifact.Path, ArtifactFile.PlanHashKey);
        string target = Path.Combine(cacheRoot, key[..32]);
        if (File.Exists(Path.Combine(target, ".complete"))) return target;

        string staging = target + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            Directory.CreateDirectory(staging);
            Unpack(artifact, staging);
            File.WriteAllText(Path.Combine(staging, ".complete"), artifact.PlanHash);
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true); // an incomplete earlier attempt
            Directory.Move(staging, target);
        }
        catch (IOException) when (File.Exists(Path.Combine(target, ".complete")))
        {
            // Another process unpacked the same plan first.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.OutputNotWritable, $"cannot unpack the compiled model into the cache: {e.Message}", target);
        }
        finally
        {
            if (Directory.Exists(staging)) { try { Directory.Delete(staging, recursive: true); } catch (IOException) { } }
        }
        return target;
    }

    private static void Unpack(ArtifactFile artifact, string dir)
    {
        var files = artifact.Files;
        foreach (var (rel, text) in files)
        {
            string path = Path.Combine(dir, rel.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        using var index = JsonDocument.Parse(files.TryGetValue("model_index.json", out var idx) ? idx : "{}");
        foreach (var (component, tensors) in artifact.Components)
        {
            string cls = index.RootElement.TryGetProperty(component, out var spec) && spec.ValueKind == JsonValueKind.Array && spec.GetArrayLength() == 2
                ? spec[1].GetString() ?? "" : "";
            string path = Path.Combine(dir, component, WeightFileName(cls));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            WriteComponent(artifact.File, component, tensors, path);
        }
    }

    /// <summary>Writes one component's tensors as a plain safetensors file, copying the stored bytes unchanged.</summary>
    private static void WriteComponent(SafetensorsFile source, string component, IReadOnlyList<TensorInfo> tensors, string path)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name[(component.Length + 1)..]);
                w.WriteString("dtype", t.DType.ToString()); // DType names are the safetensors names
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.ByteLength;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        while (ms.Length % 8 != 0) ms.WriteByte((byte)' ');
        using var dst = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)ms.Length);
        dst.Write(len);
        ms.Position = 0;
        ms.CopyTo(dst);
        foreach (var t in tensors) dst.Write(source.GetRawBytes(t.Name));
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
}
