using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Models;

public sealed class BindingAndConfigTests
{
    [Fact]
    public void MissingUnexpectedAndMisShapedTensorsAreReportedTogether()
    {
        var cfg = TinyModels.SdUnet();
        var weights = TinyModels.Weights(UNet2DConditionModel.ExpectedTensors(cfg), 1);
        weights.Remove("conv_in.bias");
        weights.Remove("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight");
        weights["down_blocks.0.attentions.0.proj_in.weight"] = Tensor.Zeros(16, 8);
        weights["lora_unet_extra.weight"] = Tensor.Zeros(2, 2);
        var e = Assert.Throws<MixDQException>(() =>
            UNet2DConditionModel.Create(cfg, new DictionaryTensorSource(weights, "unet/diffusion_pytorch_model.safetensors"), new ReferenceBackend()));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Equal("unet/diffusion_pytorch_model.safetensors", e.File);
        Assert.Contains("2 missing, 1 unexpected, 1 with the wrong shape", e.Message);
        Assert.Contains("missing: conv_in.bias [16]", e.Message);
        Assert.Contains("missing: mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight [32, 32]", e.Message);
        Assert.Contains("unexpected: lora_unet_extra.weight [2, 2]", e.Message);
        Assert.Contains("wrong shape: down_blocks.0.attentions.0.proj_in.weight expected [16, 16] (a float type), found [16, 8]", e.Message);
    }

    [Fact]
    public void IntegerTensorInPlaceOfAWeightIsAMismatch()
    {
        var cfg = TinyModels.Clip(layers: 1);
        var weights = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, false), 1);
        weights.Remove("text_model.final_layer_norm.bias");
        var source = new ExtraTensorSource(new DictionaryTensorSource(weights), new TensorInfo("text_model.final_layer_norm.bias", DType.I64, [32]));
        var e = Assert.Throws<MixDQException>(() => ClipTextModel.Create(cfg, source, new ReferenceBackend(), "text_encoder", false));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Contains("text_model.final_layer_norm.bias expected [32] (a float type), found [32] I64", e.Message);
    }

    [Fact]
    public void ProjectionWeightIsRequiredWithProjectionAndUnexpectedWithout()
    {
        var cfg = TinyModels.Clip(layers: 1);
        var plain = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, false), 1);
        var e = Assert.Throws<MixDQException>(() => ClipTextModel.Create(cfg, new DictionaryTensorSource(plain), new ReferenceBackend(), "text_encoder_2", true));
        Assert.Contains("missing: text_projection.weight [24, 32]", e.Message);
        var withProj = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, true), 1);
        e = Assert.Throws<MixDQException>(() => ClipTextModel.Create(cfg, new DictionaryTensorSource(withProj), new ReferenceBackend(), "text_encoder", false));
        Assert.Contains("unexpected: text_projection.weight", e.Message);
    }

    [Fact]
    public void NonFiniteWeightsGiveAWarningNamingTheTensor()
    {
        var cfg = TinyModels.Vae();
        var weights = TinyModels.Weights(AutoencoderKLDecoder.ExpectedTensors(cfg), 1);
        weights["decoder.conv_in.weight"].Data[5] = float.NaN;
        weights["decoder.conv_in.weight"].Data[9] = float.PositiveInfinity;
        var warnings = new Collect();
        _ = AutoencoderKLDecoder.Create(cfg, new DictionaryTensorSource(weights, "vae.safetensors"), new ReferenceBackend(), warnings: warnings);
        var w = Assert.Single(warnings.Items);
        Assert.Equal(ErrorCodes.NonFiniteWeights, w.Code);
        Assert.Equal("decoder.conv_in.weight", w.Item);
        Assert.Equal("vae.safetensors", w.File);
        Assert.Contains("2 NaN/Inf", w.Message);
        Assert.Contains("index 5", w.Message);
    }

    [Fact]
    public void NonFiniteScanFindsValuesInVectorBodiesAndTails()
    {
        for (int length = 0; length < 70; length += 7)
            for (int at = 0; at < length; at += 3)
            {
                var data = new float[length];
                data[at] = float.NegativeInfinity;
                Assert.Equal(1, NonFinite.Count(data, out int first));
                Assert.Equal(at, first);
            }
        Assert.Equal(0, NonFinite.Count(new float[33], out int none));
        Assert.Equal(-1, none);
    }

    [Theory]
    [InlineData("\"down_block_types\": [\"CrossAttnDownBlock2D\", \"SimpleCrossAttnDownBlock2D\", \"DownBlock2D\"]", "down_block_types", "SimpleCrossAttnDownBlock2D")]
    [InlineData("\"up_block_types\": [\"UpBlock2D\", \"AttnUpBlock2D\", \"CrossAttnUpBlock2D\"]", "up_block_types", "AttnUpBlock2D")]
    [InlineData("\"act_fn\": \"gelu\"", "act_fn", "gelu")]
    [InlineData("\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"", "mid_block_type", "UNetMidBlock2DSimpleCrossAttn")]
    [InlineData("\"mid_block_type\": null", "mid_block_type", "null")]
    [InlineData("\"addition_embed_type\": \"text\"", "addition_embed_type", "text")]
    [InlineData("\"class_embed_type\": \"timestep\"", "class_embed_type", "timestep")]
    [InlineData("\"resnet_time_scale_shift\": \"scale_shift\"", "resnet_time_scale_shift", "scale_shift")]
    [InlineData("\"time_embedding_type\": \"fourier\"", "time_embedding_type", "fourier")]
    [InlineData("\"num_attention_heads\": 8", "num_attention_heads", "8")]
    [InlineData("\"time_cond_proj_dim\": 256", "time_cond_proj_dim", "256")]
    [InlineData("\"downsample_padding\": 0", "downsample_padding", "0")]
    [InlineData("\"transformer_layers_per_block\": [[1], [1], [1]]", "transformer_layers_per_block", "[[1],[1],[1]]")]
    [InlineData("\"dual_cross_attention\": true", "dual_cross_attention", "true")]
    public void UnsupportedUnetValuesNameTheFieldValueAndFile(string replacement, string field, string value)
    {
        var json = WithField(TinyModels.SdUnetJson(), replacement);
        var e = Assert.Throws<MixDQException>(() => UNet2DConditionConfig.Parse(json, "m/unet/config.json"));
        Assert.Equal(ErrorCodes.ConfigUnsupportedValue, e.Code);
        Assert.Equal(field, e.Item);
        Assert.Equal("m/unet/config.json", e.File);
        Assert.Contains(field, e.Message);
        Assert.Contains(value, e.Message);
    }

    [Theory]
    [InlineData("\"layers_per_block\": \"two\"", "layers_per_block")]
    [InlineData("\"block_out_channels\": [16, 32]", "block_out_channels")]
    [InlineData("\"use_linear_projection\": 1", "use_linear_projection")]
    [InlineData("\"norm_eps\": \"1e-5\"", "norm_eps")]
    [InlineData("\"attention_head_dim\": [2, 2]", "attention_head_dim")]
    [InlineData("\"norm_num_groups\": 5", "norm_num_groups")]
    public void WrongTypesOrLengthsAreConfigInvalid(string replacement, string field)
    {
        var e = Assert.Throws<MixDQException>(() => UNet2DConditionConfig.Parse(WithField(TinyModels.SdUnetJson(), replacement), "c.json"));
        Assert.Equal(ErrorCodes.ConfigInvalid, e.Code);
        Assert.Equal(field, e.Item);
    }

    [Fact]
    public void InvalidJsonIsConfigInvalid()
    {
        var e = Assert.Throws<MixDQException>(() => UNet2DConditionConfig.Parse("{ \"in_channels\": 4, ", "u.json"));
        Assert.Equal(ErrorCodes.ConfigInvalid, e.Code);
        Assert.Equal("u.json", e.File);
        Assert.Equal(ErrorCodes.ConfigInvalid, Assert.Throws<MixDQException>(() => ClipTextConfig.Parse("[1, 2]", "t.json")).Code);
    }

    [Fact]
    public void UnsupportedValuesOfTheOtherConfigs()
    {
        var e = Assert.Throws<MixDQException>(() => ClipTextConfig.Parse(TinyModels.ClipJson(act: "relu"), "te.json"));
        Assert.Equal((ErrorCodes.ConfigUnsupportedValue, "hidden_act"), (e.Code, e.Item));
        e = Assert.Throws<MixDQException>(() => AutoencoderKLConfig.Parse(WithField(TinyModels.VaeJson, "\"up_block_types\": [\"UpDecoderBlock2D\", \"AttnUpDecoderBlock2D\"]"), "v.json"));
        Assert.Equal((ErrorCodes.ConfigUnsupportedValue, "up_block_types"), (e.Code, e.Item));
        Assert.Contains("AttnUpDecoderBlock2D", e.Message);
        e = Assert.Throws<MixDQException>(() => AutoencoderTinyConfig.Parse(WithField(TinyModels.TaesdJson(), "\"act_fn\": \"mish\""), "t.json"));
        Assert.Equal((ErrorCodes.ConfigUnsupportedValue, "act_fn"), (e.Code, e.Item));
        e = Assert.Throws<MixDQException>(() => ModelIndex.Parse("{\"_class_name\": \"StableDiffusion3Pipeline\"}", "model_index.json"));
        Assert.Equal((ErrorCodes.ConfigUnsupportedValue, "_class_name"), (e.Code, e.Item));
    }

    [Fact]
    public void MissingConfigFileIsConfigMissing()
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("config.json");
        foreach (var load in new Action[]
                 {
                     () => UNet2DConditionConfig.Load(path), () => ClipTextConfig.Load(path), () => AutoencoderKLConfig.Load(path),
                     () => AutoencoderTinyConfig.Load(path), () => ModelIndex.Load(path),
                 })
        {
            var e = Assert.Throws<MixDQException>(load);
            Assert.Equal(ErrorCodes.ConfigMissing, e.Code);
            Assert.Equal(path, e.File);
        }
    }

    [Fact]
    public void LoadReadsTheFile()
    {
        using var dir = RepoPaths.NewTempDir();
        File.WriteAllText(dir.File("config.json"), ReferenceConfigs.SdxlTurboUnet);
        var cfg = UNet2DConditionConfig.Load(dir.File("config.json"));
        Assert.Equal(dir.File("config.json"), cfg.Path);
        Assert.Equal([320, 640, 1280], cfg.BlockOutChannels);
    }

    [Fact]
    public void DiffusersDefaultsAreResolved()
    {
        // An almost empty config takes every diffusers default: SD 1.x layout, head counts 8, no linear projection.
        var cfg = UNet2DConditionConfig.Parse("{}", "u.json");
        Assert.Equal([320, 640, 1280, 1280], cfg.BlockOutChannels);
        Assert.Equal(["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], cfg.DownBlockTypes);
        Assert.Equal([8, 8, 8, 8], cfg.AttentionHeads);
        Assert.Equal([1280, 1280, 1280, 1280], cfg.CrossAttentionDim);
        Assert.Equal([false, false, false, false], cfg.OnlyCrossAttention);
        Assert.False(cfg.UseLinearProjection);
        Assert.Equal(32, cfg.NormNumGroups);
        Assert.Equal(1e-5, cfg.NormEps);
        Assert.True(cfg.FlipSinToCos);
        Assert.Null(cfg.AdditionEmbedType);
        var list = UNet2DConditionConfig.Parse(WithField(TinyModels.SdUnetJson(), "\"only_cross_attention\": [true, false, false]"), "u.json");
        Assert.Equal([true, false, false], list.OnlyCrossAttention);

        var clip = ClipTextConfig.Parse("{}", "t.json");
        Assert.Equal((512, 12, 8, "quick_gelu", 77), (clip.HiddenSize, clip.NumHiddenLayers, clip.NumAttentionHeads, clip.HiddenAct, clip.MaxPositionEmbeddings));
        var tiny = AutoencoderTinyConfig.Parse("{}", "t.json");
        Assert.Equal([3, 3, 3, 1], tiny.NumDecoderBlocks);
        Assert.Equal(1.0, tiny.ScalingFactor);
    }

    [Fact]
    public void OnlyCrossAttentionMakesAttn1AttendToTheContext()
    {
        var cfg = UNet2DConditionConfig.Parse(WithField(TinyModels.SdUnetJson(), "\"only_cross_attention\": [true, false, false]"), "u.json");
        var shapes = UNet2DConditionModel.ExpectedTensors(cfg).ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([16, 32], shapes["down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight"]);
        Assert.Equal([32, 32], shapes["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight"]);
        // Reversed on the way up: up_blocks.2 mirrors level 0.
        Assert.Equal([16, 32], shapes["up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_k.weight"]);
        var unet = UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), 2), new ReferenceBackend());
        TensorAssert.FiniteAndVaried(unet.Forward(TinyModels.Randn(1, 1, 4, 4, 4), 999f, TinyModels.Randn(2, 1, 77, 32)));
    }

    [Fact]
    public void ModelIndexTreatsNullPairsAsAbsent()
    {
        var sd = ModelIndex.Parse(ReferenceConfigs.SdTurboModelIndex, "model_index.json");
        Assert.Equal(ModelFamily.StableDiffusion, sd.Kind);
        Assert.False(sd.HasComponent("safety_checker"));
        Assert.Equal(("diffusers", "EulerDiscreteScheduler"), (sd.GetComponent("scheduler").Library, sd.GetComponent("scheduler").ClassName));
        Assert.Equal(5, sd.Components.Count);
        var xl = ModelIndex.Parse(ReferenceConfigs.SdxlTurboModelIndex, "model_index.json");
        Assert.Equal(ModelFamily.StableDiffusionXL, xl.Kind);
        Assert.True(xl.ForceZerosForEmptyPrompt);
        Assert.Equal("CLIPTextModelWithProjection", xl.GetComponent("text_encoder_2").ClassName);
        var e = Assert.Throws<MixDQException>(() => sd.GetComponent("text_encoder_2"));
        Assert.Equal(ErrorCodes.ConfigInvalid, e.Code);
        // SDXL without its second text encoder is not a usable SDXL pipeline.
        e = Assert.Throws<MixDQException>(() => ModelIndex.Parse(ReferenceConfigs.SdxlTurboModelIndex.Replace(
            "\"text_encoder_2\": [\"transformers\", \"CLIPTextModelWithProjection\"]", "\"text_encoder_2\": [null, null]"), "model_index.json"));
        Assert.Equal("text_encoder_2", e.Item);
    }

    /// <summary>Replaces (or adds) one top-level field of a JSON object.</summary>
    private static string WithField(string json, string field)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        var one = System.Text.Json.Nodes.JsonNode.Parse("{" + field + "}")!.AsObject();
        foreach (var (k, v) in one.ToList())
        {
            one.Remove(k);
            doc[k] = v;
        }
        return doc.ToJsonString();
    }
}
