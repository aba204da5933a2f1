using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Compiler.Tests;

/// <summary>
/// Artifact format 2: an FP32 plan's artifact stores every float layer weight as the CPU kernels' panels, 64-byte
/// aligned, and loads to the same images as the source folder; format 1 artifacts still load; damaged or newer ones are
/// clear errors.
/// </summary>
public sealed class PanelArtifactTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    private CompileResult CompileFp32() => ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "TinyFp32", _tmp.File("fp32"),
        new CompileSettings { WeightBits = 32, ActivationBits = 32 }));

    private static Func<LayerInfo, LayerPrecision> PrecisionOf(CompileResult c) =>
        layer => c.Plan.Layers.Single(l => l.QualifiedName == layer.QualifiedName).Precision;

    [Fact]
    public void Fp32_artifact_stores_layer_weights_as_aligned_panels_and_gives_the_folders_images_bit_for_bit()
    {
        var compiled = CompileFp32();
        using (var artifact = ArtifactFile.Open(compiled.ArtifactPath))
        {
            Assert.Equal("2", artifact.File.Metadata[ArtifactFile.FormatVersionKey]);
            Assert.Equal(0, artifact.File.DataOffset % 64);
            foreach (var layer in compiled.Plan.Layers)
            {
                string panels = $"{layer.Component}/{layer.Name}{WeightPanels.Suffix}";
                Assert.True(artifact.File.TryGetInfo(panels, out var info), $"{panels} is missing");
                Assert.False(artifact.File.Contains($"{layer.Component}/{layer.Name}.weight"));
                long cols = layer.WeightShape.Skip(1).Aggregate(1L, (a, b) => a * b);
                Assert.Equal(WeightPanels.StoredShape(layer.WeightShape[0], (int)cols, WeightPanels.WidthOf(layer.Op)), info.Shape);
            }
        }
        var options = new GenerationOptions { Seed = 3, Steps = 2 };
        using var fromFolder = DiffusionPipeline.Load(TinyModel.Directory, new PipelineLoadOptions { Backend = MixDQDevice.Cpu.Backend, Precision = PrecisionOf(compiled) });
        using var fromArtifact = CompiledModelLoader.LoadPipeline(compiled.ArtifactPath, compiled.PlanHash, PrecisionOf(compiled), MixDQDevice.Cpu);
        Assert.Equal(fromFolder.Generate("a red circle", options).Rgb, fromArtifact.Generate("a red circle", options).Rgb);
    }

    [Fact]
    public void Format_1_artifacts_still_load_and_a_newer_format_is_062()
    {
        var compiled = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "Tiny", _tmp.File("fp16"), new CompileSettings()));
        string v1 = WithVersion(compiled.ArtifactPath, "1");
        using (var pipeline = CompiledModelLoader.LoadPipeline(v1, compiled.PlanHash, PrecisionOf(compiled), MixDQDevice.Cpu))
            Assert.NotEmpty(pipeline.Layers);
        var e = Assert.Throws<MixDQException>(() => ArtifactFile.Open(WithVersion(compiled.ArtifactPath, "3")));
        Assert.Equal(ErrorCodes.ArtifactInvalid, e.Code);
        Assert.Equal(ArtifactFile.FormatVersionKey, e.Item);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void A_truncated_panel_artifact_is_a_tensor_file_error_naming_the_file()
    {
        var compiled = CompileFp32();
        string cut = _tmp.File("cut.mixdq.safetensors");
        var bytes = File.ReadAllBytes(compiled.ArtifactPath);
        File.WriteAllBytes(cut, bytes.AsSpan(0, bytes.Length - bytes.Length / 3).ToArray());
        var e = Assert.Throws<MixDQException>(() => CompiledModelLoader.LoadPipeline(cut, compiled.PlanHash, PrecisionOf(compiled), MixDQDevice.Cpu));
        Assert.Equal(ErrorCodes.TensorOffsetsInvalid, e.Code);
        Assert.Equal(Path.GetFullPath(cut), e.File);
        output.WriteLine(e.Message);
    }

    /// <summary>A copy of the artifact whose format version says <paramref name="version"/>.</summary>
    private string WithVersion(string artifactPath, string version)
    {
        string path = _tmp.File($"v{version}.mixdq.safetensors");
        using var source = SafetensorsFile.Open(artifactPath);
        var metadata = source.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        metadata[ArtifactFile.FormatVersionKey] = version;
        SafetensorsWriter.Write(path, source.Tensors.Select(t => new SafetensorsEntry(t.Name, t.DType, t.Shape, source.GetRawBytes(t.Name).ToArray())).ToList(), metadata);
        return path;
    }
}
