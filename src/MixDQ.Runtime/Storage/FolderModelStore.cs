using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models.Configs;

namespace MixDQ.Runtime.Storage;

/// <summary>A diffusers model folder (model_index.json, one sub-folder per component).</summary>
public sealed class FolderModelStore : IModelStore
{
    /// <exception cref="MixDQException"><c>MIXDQ020</c> when <paramref name="directory"/> does not exist.</exception>
    public FolderModelStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
            throw new MixDQException(ErrorCodes.ModelFolderMissing, "the model folder does not exist", directory);
        Location = directory;
    }

    /// <summary>The folder, as given.</summary>
    public string Location { get; }

    public string Name => Path.GetFileName(Path.TrimEndingDirectorySeparator(Location));

    public bool HasComponent(string component) => Directory.Exists(PathOf(component));

    public bool FileExists(string relativePath) => File.Exists(PathOf(relativePath));

    public string ReadText(string relativePath) => ConfigReader.ReadFile(PathOf(relativePath));

    public string PathOf(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return Path.Combine(Location, relativePath.Replace('/', Path.DirectorySeparatorChar));
    }

    public ITensorFile OpenWeights(string component, string baseName, bool preferFp16) =>
        TensorFiles.OpenComponentWeights(PathOf(component), baseName, preferFp16);

    /// <summary>Nothing to release: weight files are opened per component and owned by the caller.</summary>
    public void Dispose() { }

    public override string ToString() => $"FolderModelStore({Location})";
}
