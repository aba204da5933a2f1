using System.Buffers.Binary;
using MixDQ.Compiler;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

public sealed class CompilerTests : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    private CompileResult Compile(string? model = null, string className = "TinyRandom", CompileSettings? settings = null, string outDir = "out") =>
        ModelCompiler.Compile(new CompileRequest(model ?? TinyModel.Directory, className, _tmp.File(outDir), settings ?? new CompileSettings()));

    [Fact]
    public void Compile_WritesPlanThatLoadsBackEqual()
    {
        var result = Compile();

        var loaded = PlanDocument.Load(result.PlanPath);
        Assert.Equal(result.Plan, loaded);
        Assert.Equal(result.Plan.ToJson(), loaded.ToJson());
        Assert.Equal("TinyRandom", loaded.ClassName);
        Assert.Equal("StableDiffusionPipeline", loaded.PipelineClass);
        Assert.Equal("TinyRandom.mixdq.safetensors", loaded.Artifact.FileName);
    }

    [Fact]
    public void Plan_ListsEveryLinearAndConvOfTheRunNetworks_WithGroupsAndTotals()
    {
        var plan = Compile().Plan;

        var unetQ = plan.Layers.Single(l => l.QualifiedName == "unet/down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k");
        Assert.Equal(LayerKind.Linear, unetQ.Op);
        Assert.Equal([16, 32], unetQ.WeightShape);
        Assert.Equal(LayerGroup.Content, unetQ.Group);
        var conv = plan.Layers.Single(l => l.QualifiedName == "unet/conv_in");
        Assert.Equal(LayerKind.Conv2d, conv.Op);
        Assert.Equal([16, 4, 3, 3], conv.WeightShape);
        Assert.Equal(LayerGroup.Quality, conv.Group);
        // The VAE encoder and CLIP's embedding tables are not layers of text-to-image.
        Assert.DoesNotContain(plan.Layers, l => l.Component == "vae" && l.Name.StartsWith("encoder.", StringComparison.Ordinal));
        Assert.DoesNotContain(plan.Layers, l => l.Name.Contains("embeddings.", StringComparison.Ordinal));
        Assert.Contains(plan.Layers, l => l.QualifiedName == "vae/post_quant_conv");
        Assert.All(plan.Layers.Where(l => l.Component == "text_encoder"), l => Assert.Equal(LayerGroup.Content, l.Group));

        Assert.All(plan.Layers, l => Assert.Equal((16, 16), (l.WeightBits, l.ActivationBits)));
        Assert.Equal(plan.Layers.Count, plan.Totals.LayerCount);
        Assert.Equal(plan.Layers.Sum(l => l.Parameters) * 2, plan.Totals.WeightBytes);
        Assert.Equal(plan.Totals.WeightBytes * 2, plan.Totals.Fp32WeightBytes);
    }

    [Fact]
    public void InputHash_IgnoresLocation_ButSeesEveryByte()
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        var a = Compile();
        var b = Compile(copy, outDir: "out2");
        Assert.Equal(a.Plan.InputHash, b.Plan.InputHash);
        Assert.Equal(File.ReadAllBytes(a.PlanPath), File.ReadAllBytes(b.PlanPath));
        Assert.Equal(a.PlanHash, b.PlanHash);

        // Flip one byte in the middle of the UNet weights.
        string unet = Path.Combine(copy, "unet", "diffusion_pytorch_model.safetensors");
        byte[] bytes = File.ReadAllBytes(unet);
        bytes[^100] ^= 0x40;
        File.WriteAllBytes(unet, bytes);
        var c = Compile(copy, outDir: "out3");
        Assert.NotEqual(a.Plan.InputHash, c.Plan.InputHash);
        Assert.StartsWith("sha256:", c.Plan.InputHash, StringComparison.Ordinal);
        Assert.Equal(71, c.Plan.InputHash.Length);
    }

    [Fact]
    public void Artifact_HoldsFp16Weights_AndThePlanHashAndConfigs()
    {
        var result = Compile();
        using var artifact = SafetensorsFile.Open(result.ArtifactPath);

        Assert.Equal(PlanDocument.HashOf(File.ReadAllBytes(result.PlanPath)), artifact.Metadata[ModelCompiler.ArtifactKeys.PlanHash]);
        Assert.Equal(result.Plan.InputHash, artifact.Metadata[ModelCompiler.ArtifactKeys.InputHash]);
        Assert.Equal(File.ReadAllText(Path.Combine(TinyModel.Directory, "unet", "config.json")),
            artifact.Metadata[ModelCompiler.ArtifactKeys.FilePrefix + "unet/config.json"]);
        Assert.True(artifact.Metadata.ContainsKey(ModelCompiler.ArtifactKeys.FilePrefix + "tokenizer/vocab.json"));
        Assert.True(artifact.Metadata.ContainsKey(ModelCompiler.ArtifactKeys.FilePrefix + "scheduler/scheduler_config.json"));
        Assert.Equal(0, artifact.DataOffset % 8);

        Assert.True(artifact.TryGetInfo("unet/conv_in.weight", out var info));
        Assert.Equal(DType.F16, info.DType);
        using var source = SafetensorsFile.Open(Path.Combine(TinyModel.Directory, "unet", "diffusion_pytorch_model.safetensors"));
        float[] expected = source.ReadFloat32("conv_in.weight").Data;
        float[] actual = artifact.ReadFloat32("unet/conv_in.weight").Data;
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal((float)(Half)expected[i], actual[i]);
    }

    [Fact]
    public void Fp32Request_KeepsFp32Weights()
    {
        var result = Compile(settings: new CompileSettings { WeightBits = 32, ActivationBits = 32 });
        Assert.Equal("F32", result.Plan.Artifact.FloatDType);
        Assert.All(result.Plan.Layers, l => Assert.Equal(32, l.WeightBits));
        using var artifact = SafetensorsFile.Open(result.ArtifactPath);
        Assert.All(artifact.Tensors, e => Assert.Equal(DType.F32, e.DType));
    }

    [Fact]
    public void IntegerBitsRequest_WithoutCalibrationPrompts_Is069_NotASilentFpPlan()
    {
        var e = Assert.Throws<MixDQException>(() => Compile(settings: new CompileSettings { WeightBits = 4, ActivationBits = 8 }));
        Assert.Equal(ErrorCodes.CalibrationPromptsInvalid, e.Code);
        Assert.Contains("calibration_prompts.txt", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_tmp.File("out/TinyRandom.mixdq.plan.json")));
    }

    [Fact]
    public void MissingFolder_Is020()
    {
        var e = Assert.Throws<MixDQException>(() => Compile(_tmp.File("nope")));
        Assert.Equal(ErrorCodes.ModelFolderMissing, e.Code);
    }

    [Fact]
    public void FolderWithoutModelIndex_Is026()
    {
        Directory.CreateDirectory(_tmp.File("plain"));
        File.WriteAllText(_tmp.File("plain/readme.txt"), "hello");
        var e = Assert.Throws<MixDQException>(() => Compile(_tmp.File("plain")));
        Assert.Equal(ErrorCodes.NotADiffusersModel, e.Code);
    }

    [Fact]
    public void ModelIndexWithoutUnet_Is026_NamingTheComponent()
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        string index = Path.Combine(copy, "model_index.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(index))!.AsObject();
        node.Remove("unet");
        File.WriteAllText(index, node.ToJsonString());
        var e = Assert.Throws<MixDQException>(() => Compile(copy));
        Assert.Equal(ErrorCodes.NotADiffusersModel, e.Code);
        Assert.Equal("unet", e.Item);
    }

    [Fact]
    public void BrokenConfigJson_Is022()
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        File.WriteAllText(Path.Combine(copy, "unet", "config.json"), "{ \"in_channels\": 4,, ");
        var e = Assert.Throws<MixDQException>(() => Compile(copy));
        Assert.Equal(ErrorCodes.ConfigInvalid, e.Code);
        Assert.EndsWith("config.json", e.File, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingWeights_Is025()
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        File.Delete(Path.Combine(copy, "vae", "diffusion_pytorch_model.safetensors"));
        var e = Assert.Throws<MixDQException>(() => Compile(copy));
        Assert.Equal(ErrorCodes.WeightsFileMissing, e.Code);
    }

    [Theory]
    [InlineData("garbage-header", ErrorCodes.HeaderLengthInvalid)]
    [InlineData("truncated-data", ErrorCodes.TensorOffsetsInvalid)]
    [InlineData("tiny", ErrorCodes.FileTruncated)]
    [InlineData("bad-json", ErrorCodes.HeaderNotJson)]
    public void CorruptedSafetensors_GivesItsTensorFileCode(string damage, string code)
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        string unet = Path.Combine(copy, "unet", "diffusion_pytorch_model.safetensors");
        byte[] bytes = File.ReadAllBytes(unet);
        switch (damage)
        {
            case "garbage-header": BinaryPrimitives.WriteUInt64LittleEndian(bytes, 0x7FFF_FFFF_FFFFUL); break;
            case "truncated-data": bytes = bytes[..(bytes.Length / 2)]; break;
            case "tiny": bytes = bytes[..5]; break;
            case "bad-json": bytes[9] = (byte)'#'; break;
        }
        File.WriteAllBytes(unet, bytes);
        var e = Assert.Throws<MixDQException>(() => Compile(copy));
        Assert.Equal(code, e.Code);
        Assert.Equal(Path.GetFullPath(unet), Path.GetFullPath(e.File!));
    }

    [Theory]
    [InlineData("1Model")]
    [InlineData("class")]
    [InlineData("My-Model")]
    [InlineData("")]
    public void InvalidClassName_Is064(string name)
    {
        var e = Assert.Throws<MixDQException>(() => Compile(className: name));
        Assert.Equal(ErrorCodes.ClassNameInvalid, e.Code);
    }

    [Theory]
    [InlineData(24, 16, "MIXDQ063")]
    [InlineData(16, 64, "MIXDQ063")]
    [InlineData(16, 2, "MIXDQ070")]
    [InlineData(1, 16, "MIXDQ070")]
    public void UnsupportedBits_AreRefusedBeforeAnythingIsRead(double w, double a, string code)
    {
        var e = Assert.Throws<MixDQException>(() => Compile(settings: new CompileSettings { WeightBits = w, ActivationBits = a }));
        Assert.Equal(code, e.Code);
        Assert.Equal(w < 16 || w > 32 || w == 24 ? "WeightBits" : "ActivationBits", e.Item);
    }

    [Fact]
    public void CalibrationPrompts_AreHashedIntoThePlan()
    {
        File.WriteAllText(_tmp.File("prompts.txt"), "a red circle\na blue square\n");
        var plan = Compile(settings: new CompileSettings { CalibrationPromptsFile = _tmp.File("prompts.txt") }).Plan;
        Assert.StartsWith("sha256:", plan.Settings.CalibrationPromptsHash, StringComparison.Ordinal);
        var e = Assert.Throws<MixDQException>(() => Compile(settings: new CompileSettings { CalibrationPromptsFile = _tmp.File("none.txt") }));
        Assert.Equal(ErrorCodes.CalibrationPromptsInvalid, e.Code);
    }
}

public sealed class RuntimeDescriberTests : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void WeightsThatDoNotMatchTheGraph_Are024_NamingTheTensor()
    {
        string copy = TinyModel.CopyTo(_tmp.File("copy"));
        string unet = Path.Combine(copy, "unet", "diffusion_pytorch_model.safetensors");
        byte[] bytes = File.ReadAllBytes(unet);
        // Rename one tensor in the header (same length, so offsets stay valid).
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        int at = header.IndexOf("\"conv_in.weight\"", StringComparison.Ordinal);
        Assert.True(at > 0);
        System.Text.Encoding.UTF8.GetBytes("\"conv_xx.weight\"").CopyTo(bytes, 8 + at);
        File.WriteAllBytes(unet, bytes);

        var e = Assert.Throws<MixDQException>(() =>
            ModelCompiler.Compile(new CompileRequest(copy, "Tiny", _tmp.File("out"), new CompileSettings())));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Contains("conv_in.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanLayers_AreTheRuntimeGraphsLayers_AndTheArtifactDropsTheVaeEncoder()
    {
        var result = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "Tiny", _tmp.File("out"), new CompileSettings()));
        var unetCfg = MixDQ.Runtime.Models.Configs.UNet2DConditionConfig.Load(Path.Combine(TinyModel.Directory, "unet", "config.json"));
        var graph = MixDQ.Runtime.Models.UNet2DConditionModel.DescribeLayers(unetCfg);
        Assert.Equal(graph.Select(l => l.QualifiedName), result.Plan.Layers.Where(l => l.Component == "unet").Select(l => l.QualifiedName));

        using var artifact = SafetensorsFile.Open(result.ArtifactPath);
        Assert.DoesNotContain(artifact.Tensors, e => e.Name.StartsWith("vae/encoder.", StringComparison.Ordinal));
        Assert.Contains(artifact.Tensors, e => e.Name == "vae/decoder.conv_in.weight");
        Assert.Contains(artifact.Tensors, e => e.Name == "text_encoder/text_model.embeddings.token_embedding.weight");
    }
}

/// <summary>The plan's traced programs read back strictly: a broken op is MIXDQ060 at its JSON path.</summary>
public sealed class PlanProgramTests : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    [Theory]
    [InlineData("\"op\":\"timestep_embedding\"", "\"op\":\"timestep_embeding\"", ".op")]
    [InlineData("\"layer\":\"conv_in\"", "\"layer\":\"conv_nowhere\"", ".layer")]
    [InlineData("\"heads\":", "\"head\":", ".head")]
    [InlineData("\"activation\":\"Silu\"", "\"activation\":\"Silu\",\"bogus\":1", ".bogus")]
    public void BrokenProgram_Is060_AtThePath(string from, string to, string pathPart)
    {
        var result = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "Tiny", _tmp.File("out"), new CompileSettings()));
        string json = File.ReadAllText(result.PlanPath);
        Assert.Equal(result.Plan, PlanDocument.Parse(json));
        int at = json.IndexOf(from, json.IndexOf("\"programs\"", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(at > 0);
        var e = Assert.Throws<MixDQException>(() => PlanDocument.Parse(json[..at] + to + json[(at + from.Length)..]));
        Assert.Equal(ErrorCodes.PlanInvalid, e.Code);
        Assert.StartsWith("programs[", e.Item, StringComparison.Ordinal);
        Assert.Contains(pathPart, e.Item, StringComparison.Ordinal);
    }
}
