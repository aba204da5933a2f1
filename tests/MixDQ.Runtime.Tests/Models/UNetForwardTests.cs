using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

public sealed class UNetForwardTests
{
    private static readonly IComputeBackend Backend = new ReferenceBackend();

    private static UNet2DConditionModel TinySd(bool linear = true, int seed = 1, int layersPerBlock = 1)
    {
        var cfg = TinyModels.SdUnet(linear, layersPerBlock);
        return UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), seed), Backend);
    }

    [Fact]
    public void SdFamilyForwardGivesFiniteOutputOfTheSampleShape()
    {
        var unet = TinySd(layersPerBlock: 2);
        var eps = unet.Forward(TinyModels.Randn(2, 1, 4, 8, 8), 999f, TinyModels.Randn(3, 1, 77, 32));
        Assert.Equal([1, 4, 8, 8], eps.ShapeArray());
        TensorAssert.FiniteAndVaried(eps);
    }

    [Fact]
    public void OddLatentSizesUpsampleToTheSkipSizesAndBatchRowsAreIndependent()
    {
        var unet = TinySd();
        var sample = TinyModels.Randn(4, 2, 4, 5, 7);
        var context = TinyModels.Randn(5, 2, 77, 32);
        var both = unet.Forward(sample, 500f, context);
        Assert.Equal([2, 4, 5, 7], both.ShapeArray());
        TensorAssert.FiniteAndVaried(both);

        // Row 1 alone gives the same result as inside the batch.
        int per = 4 * 5 * 7;
        var alone = unet.Forward(Tensor.FromSpan(sample.Data.AsSpan(per, per), 1, 4, 5, 7), 500f,
            Tensor.FromSpan(context.Data.AsSpan(77 * 32, 77 * 32), 1, 77, 32));
        TensorAssert.Close(alone.Data, both.Data.AsSpan(per, per), 1e-5, "batch row 1");
    }

    [Fact]
    public void ConvProjectionsMatchLinearProjectionsWithTheSameWeights()
    {
        var linearCfg = TinyModels.SdUnet(linearProjection: true);
        var convCfg = TinyModels.SdUnet(linearProjection: false);
        var weights = TinyModels.Weights(UNet2DConditionModel.ExpectedTensors(linearCfg), seed: 7);
        // use_linear_projection false stores proj_in/proj_out as [C, C, 1, 1] convs.
        var convWeights = weights.ToDictionary(kv => kv.Key, kv =>
            kv.Key.Contains(".proj_") && kv.Key.EndsWith(".weight") ? kv.Value.Reshape(kv.Value.Dim(0), kv.Value.Dim(1), 1, 1) : kv.Value);
        Assert.Contains(UNet2DConditionModel.ExpectedTensors(convCfg), t => t.Name == "down_blocks.0.attentions.0.proj_in.weight" && t.Shape.Length == 4);

        var linear = UNet2DConditionModel.Create(linearCfg, new DictionaryTensorSource(weights), Backend);
        var conv = UNet2DConditionModel.Create(convCfg, new DictionaryTensorSource(convWeights), Backend);
        Assert.Contains(conv.Layers, l => l.Name == "mid_block.attentions.0.proj_out" && l.Kind == LayerKind.Conv2d);
        Assert.Contains(linear.Layers, l => l.Name == "mid_block.attentions.0.proj_out" && l.Kind == LayerKind.Linear);

        var sample = TinyModels.Randn(8, 1, 4, 6, 6);
        var context = TinyModels.Randn(9, 1, 77, 32);
        var a = linear.Forward(sample, 999f, context);
        var b = conv.Forward(sample, 999f, context);
        TensorAssert.FiniteAndVaried(b);
        TensorAssert.Close(a.Data, b.Data, 1e-5, "conv vs linear projection");
    }

    [Fact]
    public void TimestepChangesTheOutput()
    {
        var unet = TinySd();
        var sample = TinyModels.Randn(10, 1, 4, 4, 4);
        var context = TinyModels.Randn(11, 1, 77, 32);
        Assert.True(TensorAssert.MaxAbsDiff(unet.Forward(sample, 999f, context), unet.Forward(sample, 10f, context)) > 1e-4);
    }

    [Fact]
    public void SdxlFamilyForwardUsesTextEmbedsAndTimeIds()
    {
        var cfg = TinyModels.SdxlUnet();
        var unet = UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), 3), Backend);
        var sample = TinyModels.Randn(12, 1, 4, 6, 6);
        var context = TinyModels.Randn(13, 1, 77, 48);
        var text = TinyModels.Randn(14, 1, TinyModels.SdxlTextEmbedsWidth);
        var ids = Tensor.FromSpan([512, 512, 0, 0, 512, 512], 1, 6);
        var eps = unet.Forward(sample, 999f, context, text, ids);
        Assert.Equal([1, 4, 6, 6], eps.ShapeArray());
        TensorAssert.FiniteAndVaried(eps);

        var otherIds = Tensor.FromSpan([1024, 1024, 0, 0, 1024, 1024], 1, 6);
        Assert.True(TensorAssert.MaxAbsDiff(eps, unet.Forward(sample, 999f, context, text, otherIds)) > 1e-5);
        var otherText = TinyModels.Randn(15, 1, TinyModels.SdxlTextEmbedsWidth);
        Assert.True(TensorAssert.MaxAbsDiff(eps, unet.Forward(sample, 999f, context, otherText, ids)) > 1e-5);

        // Depth [1, 2] per level, reversed on the way up: up_blocks.0 mirrors level 1.
        Assert.Contains(unet.Layers, l => l.Name == "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k" && l.WeightShape.SequenceEqual([32, 48]));
        Assert.Contains(unet.Layers, l => l.Name == "up_blocks.0.attentions.1.transformer_blocks.1.ff.net.2");
        Assert.DoesNotContain(unet.Layers, l => l.Name.StartsWith("up_blocks.1.attentions", StringComparison.Ordinal));
        Assert.Contains(unet.Layers, l => l.Name == "add_embedding.linear_1" && l.WeightShape.SequenceEqual([64, 72]));
    }

    [Fact]
    public void SdxlFamilyRequiresAddedConditioning()
    {
        var cfg = TinyModels.SdxlUnet();
        var unet = UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), 3), Backend);
        var e = Assert.Throws<MixDQException>(() => unet.Forward(TinyModels.Randn(1, 1, 4, 4, 4), 999f, TinyModels.Randn(2, 1, 77, 48)));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal("textEmbeds", e.Item);
        // A text_embeds width that does not add up to projection_class_embeddings_input_dim.
        e = Assert.Throws<MixDQException>(() => unet.Forward(TinyModels.Randn(1, 1, 4, 4, 4), 999f, TinyModels.Randn(2, 1, 77, 48),
            TinyModels.Randn(3, 1, 10), Tensor.Zeros(1, 6)));
        Assert.Contains("projection_class_embeddings_input_dim", e.Message);
    }

    [Fact]
    public void WrongContextWidthIsAnInputError()
    {
        var unet = TinySd();
        var e = Assert.Throws<MixDQException>(() => unet.Forward(TinyModels.Randn(1, 1, 4, 4, 4), 999f, TinyModels.Randn(2, 1, 77, 16)));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal("encoderHiddenStates", e.Item);
    }

    [Fact]
    public void PrecisionCallbackIsAppliedPerLayer()
    {
        var cfg = TinyModels.SdUnet();
        var seen = new List<LayerInfo>();
        var unet = UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), 1), Backend,
            layer =>
            {
                seen.Add(layer);
                return layer.Name.EndsWith(".to_q", StringComparison.Ordinal) ? LayerPrecision.Fp16 : LayerPrecision.Fp32;
            });
        Assert.Equal(UNet2DConditionModel.DescribeLayers(cfg).Select(l => l.Name), unet.Layers.Select(l => l.Name));
        Assert.Equal(seen.Count, unet.Layers.Count);
        Assert.All(unet.Layers, l => Assert.Equal(l.Name.EndsWith(".to_q") ? LayerPrecision.Fp16 : LayerPrecision.Fp32, l.Precision));
        Assert.All(unet.Layers, l => Assert.Equal("unet", l.Component));
    }

    [Fact]
    public void IntegerPrecisionOnFloatWeightsIsRefusedNotRunInFp32()
    {
        var cfg = TinyModels.SdUnet();
        var e = Assert.Throws<MixDQException>(() => UNet2DConditionModel.Create(cfg, TinyModels.Source(UNet2DConditionModel.ExpectedTensors(cfg), 1), Backend,
            layer => layer.Name.EndsWith(".to_q", StringComparison.Ordinal) ? new LayerPrecision(4, 8) : LayerPrecision.Fp32));
        Assert.Equal(ErrorCodes.ArtifactPlanMismatch, e.Code);
        Assert.EndsWith(".to_q.weight", e.Item);
    }

    [Fact]
    public void CancellationStopsTheForwardPass()
    {
        var unet = TinySd();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() =>
            unet.Forward(TinyModels.Randn(1, 1, 4, 4, 4), 999f, TinyModels.Randn(2, 1, 77, 32), ct: cts.Token));
    }
}

public sealed class UNetNumericsTests
{
    [Theory]
    [InlineData(false, 4, 4)]
    [InlineData(true, 3, 5)]
    public void MatchesADirectComputation(bool sdxl, int h, int w)
    {
        var cfg = sdxl ? TinyModels.SdxlUnet() : TinyModels.SdUnet(linearProjection: false);
        var weights = TinyModels.Weights(UNet2DConditionModel.ExpectedTensors(cfg), seed: 31);
        var unet = UNet2DConditionModel.Create(cfg, new DictionaryTensorSource(weights), new ReferenceBackend());
        int ctxDim = cfg.CrossAttentionDim[0];
        var sample = TinyModels.Randn(32, 1, 4, h, w);
        var context = TinyModels.Randn(33, 1, 7, ctxDim);
        var text = sdxl ? TinyModels.Randn(34, 1, TinyModels.SdxlTextEmbedsWidth) : null;
        var ids = sdxl ? Tensor.FromSpan([64, 48, 0, 8, 64, 48], 1, 6) : null;
        var actual = unet.Forward(sample, 421f, context, text, ids);
        var expected = new NaiveUNet(cfg, weights).Forward(sample, 421, context, text, ids);
        TensorAssert.Close(expected.Select(v => (float)v).ToArray(), actual.Data, 1e-4, "UNet output");
    }
}
