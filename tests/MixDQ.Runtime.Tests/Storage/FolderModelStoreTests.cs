using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Storage;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Storage;

/// <summary>The folder store keeps the folder loader's errors: missing folder, not a diffusers folder, missing config, missing weights.</summary>
public sealed class FolderModelStoreTests : IDisposable
{
    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Missing_folder_is_MIXDQ020()
    {
        string missing = _dir.File("nope");
        var e = Assert.Throws<MixDQException>(() => DiffusionPipeline.Load(missing));
        Assert.Equal(ErrorCodes.ModelFolderMissing, e.Code);
        Assert.Equal(missing, e.File);
    }

    [Fact]
    public void Folder_without_model_index_is_MIXDQ026()
    {
        var e = Assert.Throws<MixDQException>(() => DiffusionPipeline.Load(_dir.Path));
        Assert.Equal(ErrorCodes.NotADiffusersModel, e.Code);
        Assert.Equal(_dir.Path, e.File);
    }

    [Fact]
    public void Files_and_components_are_found_by_relative_path()
    {
        Directory.CreateDirectory(_dir.File("unet"));
        File.WriteAllText(Path.Combine(_dir.Path, "unet", "config.json"), "{}");
        using var store = new FolderModelStore(_dir.Path);
        Assert.True(store.HasComponent("unet"));
        Assert.False(store.HasComponent("vae"));
        Assert.True(store.FileExists("unet/config.json"));
        Assert.Equal("{}", store.ReadText("unet/config.json"));
        Assert.Equal(Path.Combine(_dir.Path, "unet", "config.json"), store.PathOf("unet/config.json"));

        var missingConfig = Assert.Throws<MixDQException>(() => store.ReadText("vae/config.json"));
        Assert.Equal(ErrorCodes.ConfigMissing, missingConfig.Code);
        Assert.Equal(Path.Combine(_dir.Path, "vae", "config.json"), missingConfig.File);

        var missingWeights = Assert.Throws<MixDQException>(() => store.OpenWeights("unet", "diffusion_pytorch_model", preferFp16: false));
        Assert.Equal(ErrorCodes.WeightsFileMissing, missingWeights.Code);
    }
}
