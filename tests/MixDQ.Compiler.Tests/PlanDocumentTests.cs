using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

public sealed class PlanDocumentTests
{
    internal static PlanDocument Sample()
    {
        PlanLayer[] layers =
        [
            new("unet", "conv_in", LayerKind.Conv2d, [32, 4, 3, 3], 16, 16, LayerGroup.Quality),
            new("unet", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", LayerKind.Linear, [32, 64], 16, 16, LayerGroup.Content),
            new("text_encoder", "text_model.encoder.layers.0.mlp.fc1", LayerKind.Linear, [64, 32], 32, 32, LayerGroup.Content),
        ];
        return new PlanDocument(1, "0.1.0", "Sample", "sha256:" + new string('a', 64), "sd2", "StableDiffusionPipeline",
            new PlanSettings(4, 8, 1, null), new PlanArtifact("Sample.mixdq.safetensors", "F16"),
            [new PlanComponent("unet", "UNet2DConditionModel", "unet/diffusion_pytorch_model.safetensors"),
             new PlanComponent("text_encoder", "CLIPTextModel", "text_encoder/model.safetensors"),
             new PlanComponent("tokenizer", "CLIPTokenizer", null)],
            layers, PlanTotals.Of(layers));
    }

    [Fact]
    public void RoundTrip_ThroughJson_IsExact()
    {
        var plan = Sample();
        var back = PlanDocument.Parse(plan.ToJson());
        Assert.Equal(plan, back);
        Assert.Equal(plan.ToJson(), back.ToJson());
        Assert.Equal(PlanDocument.HashOf(plan.ToUtf8Json()), PlanDocument.HashOf(back.ToUtf8Json()));
    }

    [Fact]
    public void SaveAndLoad_UseTheFile()
    {
        using var tmp = RepoPaths.NewTempDir();
        string path = tmp.File("x" + PlanDocument.FileSuffix);
        string hash = Sample().Save(path);
        Assert.Equal(PlanDocument.HashOf(File.ReadAllBytes(path)), hash);
        Assert.Equal(Sample(), PlanDocument.Load(path));
    }

    [Fact]
    public void Totals_AreSumsOverLayers()
    {
        var t = Sample().Totals;
        Assert.Equal(3, t.LayerCount);
        Assert.Equal(2, t.ContentLayers);
        Assert.Equal(1, t.QualityLayers);
        Assert.Equal(32L * 4 * 9 * 2 + 32 * 64 * 2 + 64 * 32 * 4, t.WeightBytes);
        Assert.Equal((32L * 4 * 9 + 32 * 64 + 64 * 32) * 4, t.Fp32WeightBytes);
    }

    [Fact]
    public void NewerSchema_Is061()
    {
        string json = Sample().ToJson().Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2", StringComparison.Ordinal);
        var e = Assert.Throws<MixDQException>(() => PlanDocument.Parse(json, "p.json"));
        Assert.Equal(ErrorCodes.PlanVersionUnsupported, e.Code);
        Assert.Equal("p.json", e.File);
        Assert.Equal("schemaVersion", e.Item);
    }

    [Theory]
    [InlineData("\"weightBits\":16", "\"weightBits\":5", "layers[0].weightBits")]
    [InlineData("\"op\":\"conv2d\"", "\"op\":\"conv3d\"", "layers[0].op")]
    [InlineData("\"group\":\"quality\"", "\"group\":\"style\"", "layers[0].group")]
    [InlineData("\"layerCount\":3", "\"layerCount\":4", "totals")]
    [InlineData("\"schema\": \"mixdq-plan\"", "\"schema\": \"other\"", "schema")]
    [InlineData("\"inputHash\"", "\"inputHashX\"", "inputHash")]
    [InlineData("\"weightShape\":[32,4,3,3]", "\"weightShape\":[32,4]", "layers[0].weightShape")]
    [InlineData("\"weightBytes\":2304", "\"weightBytes\":1", "layers[0].weightBytes")]
    public void InvalidField_Is060_AtItsPath(string from, string to, string at)
    {
        string json = Sample().ToJson();
        Assert.Contains(from, json, StringComparison.Ordinal);
        var e = Assert.Throws<MixDQException>(() => PlanDocument.Parse(json.Replace(from, to, StringComparison.Ordinal)));
        Assert.Equal(ErrorCodes.PlanInvalid, e.Code);
        Assert.Equal(at, e.Item);
    }

    [Fact]
    public void NotJson_Is060()
    {
        var e = Assert.Throws<MixDQException>(() => PlanDocument.Parse("{ \"schema\": "));
        Assert.Equal(ErrorCodes.PlanInvalid, e.Code);
    }

    [Fact]
    public void DuplicateLayer_Is060()
    {
        var s = Sample();
        var dup = s with { Layers = [.. s.Layers, s.Layers[0]], Totals = PlanTotals.Of([.. s.Layers, s.Layers[0]]) };
        var e = Assert.Throws<MixDQException>(() => PlanDocument.Parse(dup.ToJson()));
        Assert.Equal(ErrorCodes.PlanInvalid, e.Code);
        Assert.Equal("layers[3].name", e.Item);
    }

    [Theory]
    [InlineData("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v", LayerGroup.Content)]
    [InlineData("unet", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj", LayerGroup.Content)]
    [InlineData("unet", "up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", LayerGroup.Quality)]
    [InlineData("unet", "down_blocks.0.resnets.0.conv1", LayerGroup.Quality)]
    [InlineData("unet", "time_embedding.linear_1", LayerGroup.Quality)]
    [InlineData("text_encoder_2", "text_model.encoder.layers.3.mlp.fc1", LayerGroup.Content)]
    [InlineData("vae", "decoder.mid_block.attentions.0.to_q", LayerGroup.Quality)]
    public void Grouping_FollowsTheMixDQNameRule(string component, string name, LayerGroup expected) =>
        Assert.Equal(expected, LayerGrouping.Classify(component, name));
}
