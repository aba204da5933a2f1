using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Compiled;

/// <summary>
/// A compiled model's weights file (<c>*.mixdq.safetensors</c>): a standard safetensors file whose tensors
/// are named <c>component/tensor</c> and whose <c>__metadata__</c> carries the plan hash and the model's
/// small text files (<c>mixdq.file:unet/config.json</c>, tokenizer files, ...). Memory-mapped; dispose to unmap.
/// </summary>
public sealed class ArtifactFile : IDisposable
{
    public const string PlanHashKey = "mixdq.plan_hash";
    public const string FormatVersionKey = "mixdq.artifact_version";
    public const string ClassNameKey = "mixdq.class_name";
    public const string FilePrefix = "mixdq.file:";
    /// <summary>The format this runtime writes and reads; it also reads <see cref="OldestFormatVersion"/> and up (1 has no panel-stored weights).</summary>
    public const int SupportedFormatVersion = 2;

    public const int OldestFormatVersion = 1;

    private ArtifactFile(SafetensorsFile file) => File = file;

    /// <summary>The underlying safetensors file.</summary>
    public SafetensorsFile File { get; }

    public string Path => File.Path;

    public string PlanHash => File.Metadata.TryGetValue(PlanHashKey, out var h) ? h : "";

    /// <summary>The embedded text files by '/'-separated relative path.</summary>
    public IReadOnlyDictionary<string, string> Files => File.Metadata
        .Where(kv => kv.Key.StartsWith(FilePrefix, StringComparison.Ordinal))
        .ToDictionary(kv => kv.Key[FilePrefix.Length..], kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The tensors of each component (<c>unet</c>, <c>vae</c>, ...), names without the component prefix.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TensorInfo>> Components => File.Tensors
        .GroupBy(t => t.Name[..t.Name.IndexOf('/', StringComparison.Ordinal)], StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => (IReadOnlyList<TensorInfo>)g.ToList(), StringComparer.Ordinal);

    /// <summary>Opens and checks the file (MIXDQ062 when it is missing or not a MixDQ artifact; tensor-file codes when damaged).</summary>
    public static ArtifactFile Open(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new MixDQException(ErrorCodes.ArtifactInvalid,
                "the compiled model's weights file is missing; the build copies it next to the app (check that the MixDQModel item built)", path);
        var file = SafetensorsFile.Open(path);
        try
        {
            if (!file.Metadata.TryGetValue(FormatVersionKey, out var v) || !IsReadable(v))
                throw new MixDQException(ErrorCodes.ArtifactInvalid,
                    $"not a MixDQ artifact of format {OldestFormatVersion} to {SupportedFormatVersion} (found '{v ?? "none"}'); rebuild the project", path, FormatVersionKey);
            var unnamed = file.Tensors.FirstOrDefault(t => t.Name.IndexOf('/', StringComparison.Ordinal) <= 0);
            if (unnamed is not null)
                throw new MixDQException(ErrorCodes.ArtifactInvalid, "tensor names must be 'component/tensor'", path, unnamed.Name);
            return new ArtifactFile(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static bool IsReadable(string version) =>
        int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v)
        && v >= OldestFormatVersion && v <= SupportedFormatVersion;

    public void Dispose() => File.Dispose();
}
