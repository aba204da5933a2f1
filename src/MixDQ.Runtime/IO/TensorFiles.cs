using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.IO;

/// <summary>Finds and opens the weight files of a diffusers / transformers component folder.</summary>
public static class TensorFiles
{
    /// <summary>Base name of diffusers model weights (unet, vae).</summary>
    public const string DiffusersBaseName = "diffusion_pytorch_model";

    /// <summary>Base name of transformers model weights (text_encoder).</summary>
    public const string TransformersBaseName = "model";

    /// <summary>
    /// Opens a single <c>.safetensors</c> file or a sharded checkpoint from its <c>.index.json</c>.
    /// </summary>
    public static ITensorFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? CompositeTensorSource.OpenIndexed(path)
            : SafetensorsFile.Open(path);
    }

    /// <summary>
    /// Opens the weights of <paramref name="componentDir"/>: <c>&lt;base&gt;.safetensors</c>, the F16 variant
    /// <c>&lt;base&gt;.fp16.safetensors</c>, or their sharded index (<c>&lt;base&gt;.safetensors.index.json</c>,
    /// <c>&lt;base&gt;.safetensors.index.fp16.json</c>, as diffusers names variants). The full-precision files
    /// come first unless <paramref name="preferFp16"/>; either kind is used when it is the only one there.
    /// </summary>
    /// <exception cref="MixDQException"><see cref="ErrorCodes.WeightsFileMissing"/> when none exists.</exception>
    public static ITensorFile OpenComponentWeights(string componentDir, string baseName, bool preferFp16 = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(componentDir);
        ArgumentException.ThrowIfNullOrEmpty(baseName);
        var candidates = WeightCandidates(baseName, preferFp16);
        foreach (string name in candidates)
        {
            string path = Path.Combine(componentDir, name);
            if (File.Exists(path)) return Open(path);
        }
        string hint = File.Exists(Path.Combine(componentDir, baseName + ".bin"))
            ? $" ({baseName}.bin is a PyTorch pickle, which is not supported: convert it to safetensors)"
            : "";
        throw new MixDQException(ErrorCodes.WeightsFileMissing,
            $"no weights found; looked for {string.Join(", ", candidates)}{hint}", Path.GetFullPath(componentDir), baseName);
    }

    /// <summary>The file names tried, in order.</summary>
    public static IReadOnlyList<string> WeightCandidates(string baseName, bool preferFp16)
    {
        string[] full = [$"{baseName}.safetensors", $"{baseName}.safetensors.index.json"];
        string[] half = [$"{baseName}.fp16.safetensors", $"{baseName}.safetensors.index.fp16.json", $"{baseName}.fp16.safetensors.index.json"];
        return preferFp16 ? [.. half, .. full] : [.. full, .. half];
    }
}
