using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Pipelines;
using MixDQ.TestModels;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

/// <summary>SDXL-family folders (two text encoders) and the optional TAESD decoder, compiled and run.</summary>
public sealed class FamilyAndTaesdTests : IDisposable
{
    private const string TaesdConfig = """
        {
          "_class_name": "AutoencoderTiny",
          "act_fn": "relu",
          "decoder_block_out_channels": [8, 8, 8, 8],
          "num_decoder_blocks": [2, 1, 1, 1],
          "latent_channels": 4,
          "out_channels": 3,
          "scaling_factor": 1.0,
          "upsampling_scaling_factor": 2
        }
        """;

    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    private static Func<LayerInfo, LayerPrecision> PrecisionFrom(CompileResult compiled) =>
        layer => compiled.Plan.Layers.Single(l => l.QualifiedName == layer.QualifiedName).Precision;

    [Fact]
    public void SdxlFolder_CompilesBothTextEncoders_AndRuns()
    {
        string model = TinyPipelineFolders.Create(_tmp.File("sdxl"), ModelFamily.StableDiffusionXL, RepoPaths.ClipMerges);
        var compiled = ModelCompiler.Compile(new CompileRequest(model, "TinyXl", _tmp.File("out"), new CompileSettings()));

        Assert.Equal("sdxl", compiled.Plan.ModelFamily);
        Assert.Contains(compiled.Plan.Layers, l => l.QualifiedName == "text_encoder_2/text_projection");
        Assert.All(compiled.Plan.Layers.Where(l => l.Component.StartsWith("text_encoder", StringComparison.Ordinal)),
            l => Assert.Equal(LayerGroup.Content, l.Group));

        using var pipeline = CompiledModelLoader.LoadPipeline(compiled.ArtifactPath, compiled.PlanHash, PrecisionFrom(compiled),
            MixDQDevice.Cpu);
        Assert.Equal(compiled.Plan.Layers.Count, pipeline.Layers.Count);
        var image = pipeline.Generate("a blue square", new GenerationOptions { Seed = 3 });
        Assert.Equal(TinyPipelineFolders.ImageSize, image.Width);
    }

    [Fact]
    public void TaesdFolder_IsCompiledToo_AndDecodesWithThePlansPrecision()
    {
        string model = TinyModel.CopyTo(_tmp.File("model"));
        string taesd = Directory.CreateDirectory(Path.Combine(model, "taesd")).FullName;
        File.WriteAllText(Path.Combine(taesd, "config.json"), TaesdConfig);
        var rng = new Random(5);
        var expected = TaesdDecoder.ExpectedTensors(AutoencoderTinyConfig.Parse(TaesdConfig, "taesd/config.json"));
        SafetensorsWriter.WriteTensors(Path.Combine(taesd, "diffusion_pytorch_model.safetensors"),
            expected.ToDictionary(t => t.Name, t => TinyPipelineFolders.RandomTensor(t, rng)));

        var compiled = ModelCompiler.Compile(new CompileRequest(model, "Tiny", _tmp.File("out"), new CompileSettings()));
        var taesdLayers = compiled.Plan.Layers.Where(l => l.Component == "taesd").ToList();
        Assert.NotEmpty(taesdLayers);
        Assert.All(taesdLayers, l => Assert.Equal(LayerGroup.Quality, l.Group));
        Assert.Contains(compiled.Plan.Components, c => c.Name == "taesd" && c.ClassName == "AutoencoderTiny");

        var asked = new List<string>();
        LayerPrecision Precision(LayerInfo layer)
        {
            lock (asked) asked.Add(layer.QualifiedName);
            return PrecisionFrom(compiled)(layer);
        }
        using var pipeline = CompiledModelLoader.LoadPipeline(compiled.ArtifactPath, compiled.PlanHash, Precision,
            MixDQDevice.Cpu);
        var image = pipeline.Generate("a green triangle", new GenerationOptions { Seed = 3, Decoder = DecoderKind.Taesd });
        Assert.Equal(image.Width * image.Height * 3, image.Rgb.Length);
        Assert.Contains(asked, n => n.StartsWith("taesd/", StringComparison.Ordinal));
    }
}
