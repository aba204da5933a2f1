using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;

namespace MixDQ.Runtime.Storage;

/// <summary>
/// A compiled model's artifact (<c>*.mixdq.safetensors</c>) read in place: small files come from the
/// <c>mixdq.file:</c> metadata entries, and each component's weights are a view of the one memory-mapped
/// file (tensors <c>component/name</c> seen as <c>name</c>). Nothing is unpacked; the mapping lives until
/// the store is disposed.
/// </summary>
public sealed class ArtifactModelStore : IModelStore
{
    private readonly IReadOnlyDictionary<string, string> _files;
    private readonly HashSet<string> _components;

    /// <summary>Takes ownership of <paramref name="artifact"/>: disposing the store disposes it.</summary>
    public ArtifactModelStore(ArtifactFile artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        Artifact = artifact;
        _files = artifact.Files;
        _components = new HashSet<string>(artifact.Components.Keys, StringComparer.Ordinal);
        foreach (string rel in _files.Keys)
        {
            int slash = rel.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0) _components.Add(rel[..slash]);
        }
    }

    /// <summary>Opens an artifact (<c>MIXDQ062</c> when missing or not an artifact).</summary>
    public static ArtifactModelStore Open(string path) => new(ArtifactFile.Open(path));

    /// <summary>The artifact file.</summary>
    public ArtifactFile Artifact { get; }

    public string Location => Artifact.Path;

    /// <summary>The compiled class name; the file name without <c>.mixdq.safetensors</c> when the artifact has none.</summary>
    public string Name => Artifact.File.Metadata.TryGetValue(ArtifactFile.ClassNameKey, out var name) && name.Length > 0
        ? name
        : StripSuffix(Path.GetFileName(Artifact.Path));

    public bool HasComponent(string component) => _components.Contains(component);

    public bool FileExists(string relativePath) => _files.ContainsKey(relativePath);

    public string ReadText(string relativePath) => _files.TryGetValue(relativePath, out var text)
        ? text
        : throw new MixDQException(ErrorCodes.ConfigMissing,
            $"the compiled model holds no '{relativePath}' (metadata key '{ArtifactFile.FilePrefix}{relativePath}')", PathOf(relativePath));

    /// <summary>The artifact path followed by the relative path, as if the artifact were a folder.</summary>
    public string PathOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return Path.Combine(Artifact.Path, relativePath.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>The tensors <c>component/…</c>; the artifact has one float type, so <paramref name="preferFp16"/> has no choice to make.</summary>
    public ITensorFile OpenWeights(string component, string baseName, bool preferFp16)
    {
        ArgumentException.ThrowIfNullOrEmpty(component);
        var view = new PrefixedTensorFile(Artifact.File, component + "/", PathOf(component));
        if (!view.Tensors.Any())
            throw new MixDQException(ErrorCodes.WeightsFileMissing,
                $"the compiled model holds no tensors of component '{component}'", PathOf(component), baseName);
        return view;
    }

    public void Dispose() => Artifact.Dispose();

    public override string ToString() => $"ArtifactModelStore({Location})";

    private static string StripSuffix(string fileName)
    {
        const string suffix = ".mixdq.safetensors";
        return fileName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) ? fileName[..^suffix.Length] : fileName;
    }
}
