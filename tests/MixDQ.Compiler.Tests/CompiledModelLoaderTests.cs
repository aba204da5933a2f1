using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Storage;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

/// <summary>The runtime side of a compiled model: artifact checks, loading in place with the plan's precision.</summary>
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
    public void Artifact_LoadsInPlace_WithThePlansLayersAndPrecision_AndNoCacheFolder()
    {
        string cache = _tmp.File("cache");
        string? before = Environment.GetEnvironmentVariable("MIXDQ_CACHE");
        string[] outputs = Directory.GetFiles(Path.GetDirectoryName(_compiled.ArtifactPath)!);
        Environment.SetEnvironmentVariable("MIXDQ_CACHE", cache); // where the old loader unpacked to
        try
        {
            using var pipeline = CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, _compiled.PlanHash, PlanPrecision, MixDQDevice.Cpu);
            Assert.Equal(_compiled.Plan.Layers.Select(l => l.QualifiedName).Order(), pipeline.Layers.Select(l => l.QualifiedName).Order());
            Assert.All(pipeline.Layers, l => Assert.Equal(new LayerPrecision(16, 16), l.Precision));
            Assert.Equal(_compiled.ArtifactPath, pipeline.ModelDirectory);
            var image = pipeline.Generate("a red circle", new GenerationOptions { Seed = 1 });
            Assert.Equal(image.Width * image.Height * 3, image.Rgb.Length);
            Assert.Equal("Tiny", image.Info.Model);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MIXDQ_CACHE", before);
        }
        Assert.False(Directory.Exists(cache));
        Assert.Equal(outputs.Order(), Directory.GetFiles(Path.GetDirectoryName(_compiled.ArtifactPath)!).Order());
    }

    [Fact]
    public void Artifact_GivesBitIdenticalImages_ToTheSourceFolderWithTheSameFp16Weights()
    {
        string folder = WithFp16Weights(TinyModel.CopyTo(_tmp.File("fp16")));
        var device = MixDQDevice.Cpu;
        var options = new GenerationOptions { Seed = 7, Steps = 2 };
        using var fromFolder = DiffusionPipeline.Load(folder,
            new PipelineLoadOptions { Backend = device.Backend, Precision = PlanPrecision, PreferFp16Weights = true });
        using var fromArtifact = CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, _compiled.PlanHash, PlanPrecision, device);

        var expected = fromFolder.Generate("a red circle", options);
        var actual = fromArtifact.Generate("a red circle", options);
        Assert.Equal(expected.Rgb, actual.Rgb);
        // FP32 weights would give another image: the comparison does see the weights' precision.
        using var fp32 = DiffusionPipeline.Load(TinyModel.Directory, new PipelineLoadOptions { Backend = device.Backend, Precision = PlanPrecision });
        Assert.NotEqual(expected.Rgb, fp32.Generate("a red circle", options).Rgb);
    }

    [Fact]
    public void ArtifactStore_ShowsEachComponentsTensorsWithoutThePrefix_AndItsFiles()
    {
        using var store = ArtifactModelStore.Open(_compiled.ArtifactPath);
        Assert.True(store.HasComponent("unet"));
        Assert.True(store.HasComponent("tokenizer"));
        Assert.False(store.HasComponent("taesd"));
        Assert.Equal(File.ReadAllText(Path.Combine(TinyModel.Directory, "unet", "config.json")), store.ReadText("unet/config.json"));
        Assert.Equal(ErrorCodes.ConfigMissing, Assert.Throws<MixDQException>(() => store.ReadText("unet/nope.json")).Code);

        using var unet = store.OpenWeights("unet", "diffusion_pytorch_model", preferFp16: false);
        using var source = SafetensorsFile.Open(Path.Combine(TinyModel.Directory, "unet", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(source.Tensors.Select(t => t.Name).Order(), unet.Tensors.Select(t => t.Name).Order());
        Assert.All(unet.Tensors, t => Assert.Equal(DType.F16, t.DType));
        Assert.Equal(source.ReadFloat32("conv_in.weight").Shape.ToArray(), unet.ReadFloat32("conv_in.weight").Shape.ToArray());
        Assert.Equal(ErrorCodes.TensorNotFound, Assert.Throws<MixDQException>(() => unet.ReadFloat32("unet/conv_in.weight")).Code);

        var e = Assert.Throws<MixDQException>(() => store.OpenWeights("taesd", "diffusion_pytorch_model", preferFp16: false));
        Assert.Equal(ErrorCodes.WeightsFileMissing, e.Code);
    }

    [Fact]
    public void ArtifactMissingATensor_Is024_NamingItWithoutThePrefix()
    {
        string damaged = _tmp.File("damaged.mixdq.safetensors");
        using (var artifact = ArtifactFile.Open(_compiled.ArtifactPath))
        {
            var kept = artifact.File.Tensors.Where(t => t.Name != "unet/conv_in.bias")
                .Select(t => new SafetensorsEntry(t.Name, t.DType, t.Shape, artifact.File.GetRawBytes(t.Name).ToArray()));
            SafetensorsWriter.Write(damaged, kept.ToList(), artifact.File.Metadata);
        }
        var e = Assert.Throws<MixDQException>(() => CompiledModelLoader.LoadPipeline(damaged, _compiled.PlanHash, PlanPrecision, MixDQDevice.Cpu));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Equal("conv_in.bias", e.Item);
        Assert.Contains("conv_in.bias", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unet/conv_in.bias", e.Message, StringComparison.Ordinal);
        File.Delete(damaged); // the failed load released the mapping
    }

    /// <summary>Adds <c>*.fp16.safetensors</c> beside each component's weights: the same tensors rounded to F16, as the compiler rounds them.</summary>
    private static string WithFp16Weights(string folder)
    {
        foreach (string file in Directory.GetFiles(folder, "*.safetensors", SearchOption.AllDirectories))
        {
            Dictionary<string, Tensor> tensors;
            using (var source = SafetensorsFile.Open(file))
                tensors = source.Tensors.ToDictionary(t => t.Name, t => source.ReadFloat32(t.Name));
            SafetensorsWriter.WriteTensors(Path.ChangeExtension(file, ".fp16.safetensors"), tensors, DType.F16);
        }
        return folder;
    }

    [Fact]
    public void OtherPlanHash_Is068()
    {
        var e = Assert.Throws<MixDQException>(() =>
            CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, "sha256:" + new string('0', 64), PlanPrecision, MixDQDevice.Cpu));
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
