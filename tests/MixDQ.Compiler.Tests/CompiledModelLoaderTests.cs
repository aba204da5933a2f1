using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

/// <summary>The runtime side of a compiled model: artifact checks, unpacking, loading with the plan's precision.</summary>
public sealed class CompiledModelLoaderTests : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();
    private readonly CompileResult _compiled;

    public CompiledModelLoaderTests()
    {
        _compiled = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "Tiny", _tmp.File("out"), new CompileSettings()));
    }

    public void Dispose() => _tmp.Dispose();

    private LayerPrecision PlanPrecision(LayerInfo layer) =>
        _compiled.Plan.Layers.Single(l => l.QualifiedName == layer.QualifiedName).Precision;

    [Fact]
    public void Unpacked_IsADiffusersFolderThePipelineLoads_WithThePlansLayersAndPrecision()
    {
        using (var artifact = ArtifactFile.Open(_compiled.ArtifactPath))
        {
            string dir = CompiledModelLoader.EnsureUnpacked(artifact, _tmp.File("cache"));
            Assert.True(File.Exists(Path.Combine(dir, "unet", "diffusion_pytorch_model.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "text_encoder", "model.safetensors")));
            Assert.True(File.Exists(Path.Combine(dir, "tokenizer", "vocab.json")));
            Assert.Equal(dir, CompiledModelLoader.EnsureUnpacked(artifact, _tmp.File("cache"))); // second call reuses it
        }

        using var pipeline = CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, _compiled.PlanHash, PlanPrecision, MixDQDevice.Cpu,
            cacheRoot: _tmp.File("cache2"));
        Assert.Equal(_compiled.Plan.Layers.Select(l => l.QualifiedName).Order(), pipeline.Layers.Select(l => l.QualifiedName).Order());
        Assert.All(pipeline.Layers, l => Assert.Equal(new LayerPrecision(16, 16), l.Precision));
        var image = pipeline.Generate("a red circle", new GenerationOptions { Seed = 1 });
        Assert.Equal(image.Width * image.Height * 3, image.Rgb.Length);
    }

    [Fact]
    public void OtherPlanHash_Is068()
    {
        var e = Assert.Throws<MixDQException>(() =>
            CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, "sha256:" + new string('0', 64), PlanPrecision, MixDQDevice.Cpu, cacheRoot: _tmp.File("c")));
        Assert.Equal(ErrorCodes.ArtifactPlanMismatch, e.Code);
    }

    [Fact]
    public void MissingArtifact_Is062()
    {
        var e = Assert.Throws<MixDQException>(() => ArtifactFile.Open(_tmp.File("none.mixdq.safetensors")));
        Assert.Equal(ErrorCodes.ArtifactInvalid, e.Code);
    }

    [Fact]
    public void PlainSafetensors_IsNotAnArtifact_062()
    {
        var e = Assert.Throws<MixDQException>(() => ArtifactFile.Open(Path.Combine(TinyModel.Directory, "vae", "diffusion_pytorch_model.safetensors")));
        Assert.Equal(ErrorCodes.ArtifactInvalid, e.Code);
        Assert.Equal(ArtifactFile.FormatVersionKey, e.Item);
    }

    [Fact]
    public void Bind_ChecksNameKindAndShape_068()
    {
        var graph = CompiledModelLoader.IndexLayers([new LayerInfo("unet", "conv_in", LayerKind.Conv2d, [16, 4, 3, 3], LayerPrecision.Fp32)]);
        Assert.Equal("unet/conv_in", CompiledModelLoader.Bind(graph, "unet/conv_in", LayerKind.Conv2d, [16, 4, 3, 3]).QualifiedName);
        Assert.Equal(ErrorCodes.ArtifactPlanMismatch,
            Assert.Throws<MixDQException>(() => CompiledModelLoader.Bind(graph, "unet/conv_in", LayerKind.Conv2d, [8, 4, 3, 3])).Code);
        Assert.Equal(ErrorCodes.ArtifactPlanMismatch,
            Assert.Throws<MixDQException>(() => CompiledModelLoader.Bind(graph, "unet/conv_out", LayerKind.Conv2d, [4, 16, 3, 3])).Code);
        Assert.Equal(ErrorCodes.ArtifactPlanMismatch,
            Assert.Throws<MixDQException>(() => CompiledModelLoader.UnknownLayer(graph["unet/conv_in"], "Tiny")).Code);
    }
}
