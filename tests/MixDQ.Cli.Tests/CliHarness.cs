using MixDQ.Runtime.Models;
using MixDQ.Runtime.Pipelines;
using MixDQ.TestModels;
using MixDQ.Tests;

namespace MixDQ.Cli.Tests;

/// <summary>Runs the CLI in-process and captures its output.</summary>
internal static class CliHarness
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}

/// <summary>One tiny random model folder of each family, shared by the tests of a class.</summary>
public sealed class TinyModelsFixture : IDisposable
{
    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public TinyModelsFixture()
    {
        Sd = TinyPipelineFolders.Create(Path.Combine(_dir.Path, "tiny-sd"), ModelFamily.StableDiffusion, RepoPaths.ClipMerges);
        Sdxl = TinyPipelineFolders.Create(Path.Combine(_dir.Path, "tiny-sdxl"), ModelFamily.StableDiffusionXL, RepoPaths.ClipMerges, seed: 2);
    }

    public string Sd { get; }

    public string Sdxl { get; }

    public string Folder(ModelFamily f) => f == ModelFamily.StableDiffusion ? Sd : Sdxl;

    public void Dispose() => _dir.Dispose();
}
