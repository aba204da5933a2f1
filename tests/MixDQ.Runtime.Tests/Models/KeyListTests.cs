using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>
/// The expected tensor lists built from the real configs equal the reference key lists exactly (names,
/// shapes and order), and the parameter totals match the published counts.
/// </summary>
public sealed class KeyListTests
{
    private static List<(string Name, string Shape)> ReadKeyList(string file)
    {
        var lines = File.ReadAllLines(RepoPaths.KeyList(file));
        Assert.StartsWith("#", lines[0]);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var parts = l.Split('\t');
            Assert.Equal(2, parts.Length);
            return (parts[0], parts[1]);
        }).ToList();
    }

    private static void AssertSameKeys(string file, IReadOnlyList<TensorInfo> expected)
    {
        var reference = ReadKeyList(file);
        var ours = expected.Select(t => (t.Name, Tensor.FormatShape(t.Shape))).ToList();
        var missing = reference.Except(ours).Take(10).ToList();
        var extra = ours.Except(reference).Take(10).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{file}: not produced: {string.Join("; ", missing)} | not in the reference: {string.Join("; ", extra)}");
        Assert.Equal(reference, ours); // same order too
        Assert.All(expected, t => Assert.Equal(DType.F32, t.DType));
    }

    private static long Total(IEnumerable<TensorInfo> tensors) => tensors.Sum(t => t.ElementCount);

    [Fact]
    public void SdTurboUnetMatchesKeyList()
    {
        var cfg = UNet2DConditionConfig.Parse(ReferenceConfigs.SdTurboUnet, "sd-turbo/unet/config.json");
        var expected = UNet2DConditionModel.ExpectedTensors(cfg);
        AssertSameKeys("sd-turbo-unet.txt", expected);
        Assert.Equal(686, expected.Count);
        Assert.Equal(865_910_724L, Total(expected));
    }

    [Fact]
    public void SdxlTurboUnetMatchesKeyList()
    {
        var cfg = UNet2DConditionConfig.Parse(ReferenceConfigs.SdxlTurboUnet, "sdxl-turbo/unet/config.json");
        var expected = UNet2DConditionModel.ExpectedTensors(cfg);
        AssertSameKeys("sdxl-turbo-unet.txt", expected);
        Assert.Equal(1680, expected.Count);
        Assert.Equal(2_567_463_684L, Total(expected));
    }

    [Fact]
    public void SdTurboTextEncoderMatchesKeyList()
    {
        var cfg = ClipTextConfig.Parse(ReferenceConfigs.SdTurboTextEncoder, "sd-turbo/text_encoder/config.json");
        Assert.False(cfg.IsWithProjection);
        AssertSameKeys("sd-turbo-text-encoder.txt", ClipTextModel.ExpectedTensors(cfg, withProjection: false));
    }

    [Fact]
    public void SdxlTurboTextEncodersMatchKeyLists()
    {
        var clipL = ClipTextConfig.Parse(ReferenceConfigs.SdxlTurboTextEncoder, "sdxl-turbo/text_encoder/config.json");
        var bigG = ClipTextConfig.Parse(ReferenceConfigs.SdxlTurboTextEncoder2, "sdxl-turbo/text_encoder_2/config.json");
        Assert.True(bigG.IsWithProjection);
        var l = ClipTextModel.ExpectedTensors(clipL, withProjection: false);
        var g = ClipTextModel.ExpectedTensors(bigG, withProjection: true);
        AssertSameKeys("sdxl-turbo-text-encoder.txt", l);
        AssertSameKeys("sdxl-turbo-text-encoder-2.txt", g);
        Assert.Equal(123_060_480L, Total(l));
        Assert.Equal(694_659_840L, Total(g));
    }

    [Theory]
    [InlineData(ReferenceConfigs.SdTurboVae, 0.18215)]
    [InlineData(ReferenceConfigs.SdxlTurboVae, 0.13025)]
    public void VaeDecoderMatchesKeyList(string json, double scaling)
    {
        var cfg = AutoencoderKLConfig.Parse(json, "vae/config.json");
        Assert.Equal(scaling, cfg.ScalingFactor);
        Assert.Equal(1e-6, cfg.NormEps);
        AssertSameKeys("vae-decoder.txt", AutoencoderKLDecoder.ExpectedTensors(cfg));
    }

    [Fact]
    public void TaesdDecoderMatchesKeyList()
    {
        var cfg = AutoencoderTinyConfig.Parse(ReferenceConfigs.Taesd, "taesd/config.json");
        var expected = TaesdDecoder.ExpectedTensors(cfg);
        AssertSameKeys("taesd-decoder.txt", expected);
        // ≈1.22 M parameters (§6.2).
        Assert.InRange(Total(expected), 1_200_000L, 1_250_000L);
    }

    [Fact]
    public void DescribedLayersCoverEveryLinearAndConvWeight()
    {
        var cfg = UNet2DConditionConfig.Parse(ReferenceConfigs.SdxlTurboUnet, "sdxl-turbo/unet/config.json");
        var layers = UNet2DConditionModel.DescribeLayers(cfg);
        var weights = UNet2DConditionModel.ExpectedTensors(cfg)
            .Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Shape.Length >= 2)
            .ToDictionary(t => t.Name[..^".weight".Length], t => t.Shape);
        Assert.Equal(weights.Count, layers.Count);
        foreach (var layer in layers)
        {
            Assert.Equal("unet", layer.Component);
            Assert.Equal(weights[layer.Name], layer.WeightShape);
            Assert.Equal(Backends.LayerPrecision.Fp32, layer.Precision);
        }
        var q = Assert.Single(layers, l => l.Name == "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q");
        Assert.Equal(Backends.LayerKind.Linear, q.Kind);
        Assert.Equal([640, 640], q.WeightShape);
        Assert.Equal(Backends.LayerKind.Conv2d, Assert.Single(layers, l => l.Name == "conv_in").Kind);
        Assert.Equal(2_567_463_684L - UNet2DConditionModel.ExpectedTensors(cfg).Where(t => t.Shape.Length == 1).Sum(t => t.ElementCount),
            layers.Sum(l => l.ParameterCount));
    }

    [Fact]
    public void ReferenceConfigsResolveTheDocumentedValues()
    {
        var sd = UNet2DConditionConfig.Parse(ReferenceConfigs.SdTurboUnet, "u.json");
        Assert.Equal([5, 10, 20, 20], sd.AttentionHeads);
        Assert.Equal([1, 1, 1, 1], sd.TransformerLayersPerBlock);
        Assert.Equal([1024, 1024, 1024, 1024], sd.CrossAttentionDim);
        Assert.False(sd.UpcastAttention);
        Assert.Equal(1280, sd.TimeEmbedDim);
        Assert.Equal(64, sd.SampleHeight);
        var xl = UNet2DConditionConfig.Parse(ReferenceConfigs.SdxlTurboUnet, "u.json");
        Assert.Equal([1, 2, 10], xl.TransformerLayersPerBlock);
        Assert.True(xl.HasTextTimeEmbedding);
        Assert.Equal(256, xl.AdditionTimeEmbedDim);
        Assert.Equal(2816, xl.ProjectionClassEmbeddingsInputDim);
        Assert.Equal(1e-5, xl.NormEps);
    }
}
