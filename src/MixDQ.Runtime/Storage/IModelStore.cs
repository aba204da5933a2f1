using MixDQ.Runtime.IO;

namespace MixDQ.Runtime.Storage;

/// <summary>
/// Where the files of a diffusers model are: a diffusers folder (<see cref="FolderModelStore"/>) or a
/// compiled model's single artifact file (<see cref="ArtifactModelStore"/>). Paths are relative to the model
/// root and '/'-separated (<c>unet/config.json</c>). The pipeline loads through this and nothing else, so both
/// give the same model without unpacking anything. Dispose to release file mappings.
/// </summary>
public interface IModelStore : IDisposable
{
    /// <summary>The folder or file the model comes from.</summary>
    string Location { get; }

    /// <summary>A short name for the model (the folder's name, the compiled model's class name).</summary>
    string Name { get; }

    /// <summary>True when the model has the component (a sub-folder such as <c>unet</c> or <c>taesd</c>).</summary>
    bool HasComponent(string component);

    /// <summary>True when the model has the small file at <paramref name="relativePath"/>.</summary>
    bool FileExists(string relativePath);

    /// <summary>The text of a small file (config, tokenizer file).</summary>
    /// <exception cref="Diagnostics.MixDQException"><c>MIXDQ021</c> when it is missing.</exception>
    string ReadText(string relativePath);

    /// <summary>How messages name <paramref name="relativePath"/> (a full path, or a path inside the artifact).</summary>
    string PathOf(string relativePath);

    /// <summary>
    /// Opens a component's weights, tensors named as the component's own file names them
    /// (<c>conv_in.weight</c>). <paramref name="baseName"/> and <paramref name="preferFp16"/> choose among a
    /// folder's weight files (see <see cref="TensorFiles.OpenComponentWeights"/>).
    /// </summary>
    /// <exception cref="Diagnostics.MixDQException"><c>MIXDQ025</c> when the component has no weights.</exception>
    ITensorFile OpenWeights(string component, string baseName, bool preferFp16);
}
