using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

public sealed class DecoderTests
{
    private static readonly IComputeBackend Backend = new ReferenceBackend();

    [Fact]
    public void VaeDecodeGivesAnImageOfTheUpsampledSize()
    {
        var cfg = TinyModels.Vae();
        var vae = AutoencoderKLDecoder.Create(cfg, TinyModels.Source(AutoencoderKLDecoder.ExpectedTensors(cfg), 4), Backend);
        var image = vae.Decode(TinyModels.Randn(1, 1, 4, 3, 5));
        Assert.Equal([1, 3, 6, 10], image.ShapeArray());
        TensorAssert.FiniteAndVaried(image);
        Assert.All(vae.Layers, l => Assert.Equal("vae", l.Component));
        Assert.Contains(vae.Layers, l => l.Name == "decoder.mid_block.attentions.0.to_q" && l.Kind == LayerKind.Linear);
        Assert.Contains(vae.Layers, l => l.Name == "post_quant_conv" && l.WeightShape.SequenceEqual([4, 4, 1, 1]));
    }

    [Fact]
    public void VaeAcceptsEncoderExtrasLegacyAttentionNamesAndConvShapedLinearWeights()
    {
        var cfg = TinyModels.Vae();
        var weights = TinyModels.Weights(AutoencoderKLDecoder.ExpectedTensors(cfg), 4);
        var z = TinyModels.Randn(2, 1, 4, 4, 4);
        var canonical = AutoencoderKLDecoder.Create(cfg, new DictionaryTensorSource(weights), Backend).Decode(z);

        const string p = "decoder.mid_block.attentions.0.";
        var legacy = new Dictionary<string, Tensor>(weights);
        foreach (var (oldName, newName) in new[] { ("query", "to_q"), ("key", "to_k"), ("value", "to_v"), ("proj_attn", "to_out.0") })
        {
            var w = legacy[p + newName + ".weight"];
            legacy.Remove(p + newName + ".weight");
            legacy[p + oldName + ".weight"] = w.Reshape(w.Dim(0), w.Dim(1), 1, 1);
            legacy[p + oldName + ".bias"] = legacy[p + newName + ".bias"];
            legacy.Remove(p + newName + ".bias");
        }
        // The VAE file holds the encoder too.
        legacy["encoder.conv_in.weight"] = Tensor.Zeros(16, 3, 3, 3);
        legacy["quant_conv.weight"] = Tensor.Zeros(8, 8, 1, 1);
        var fromLegacy = AutoencoderKLDecoder.Create(cfg, new DictionaryTensorSource(legacy), Backend).Decode(z);
        TensorAssert.Close(canonical.Data, fromLegacy.Data, 0, "legacy names");
    }

    /// <summary>DecoderTiny written out directly: clamp, conv+ReLU, blocks, upsample, bias-free convs, ×2−1.</summary>
    private static double[] NaiveTaesd(IReadOnlyDictionary<string, Tensor> w, double[] x, int c, int h, int width, int[] blocks)
    {
        x = Naive.Map(x, v => 3 * Math.Tanh(v / 3));
        int ch = w["decoder.layers.0.weight"].Dim(0);
        x = Naive.Map(Naive.Conv(x, c, h, width, w["decoder.layers.0.weight"], w["decoder.layers.0.bias"]), v => Math.Max(0, v));
        int index = 2;
        for (int stage = 0; stage < blocks.Length; stage++)
        {
            for (int k = 0; k < blocks[stage]; k++, index++)
            {
                string p = $"decoder.layers.{index}.conv.";
                var y = Naive.Map(Naive.Conv(x, ch, h, width, w[p + "0.weight"], w[p + "0.bias"]), v => Math.Max(0, v));
                y = Naive.Map(Naive.Conv(y, ch, h, width, w[p + "2.weight"], w[p + "2.bias"]), v => Math.Max(0, v));
                y = Naive.Conv(y, ch, h, width, w[p + "4.weight"], w[p + "4.bias"]);
                x = Naive.Map(Naive.Add(y, x), v => Math.Max(0, v));
            }
            bool final = stage == blocks.Length - 1;
            if (!final)
            {
                x = Naive.Upsample2x(x, ch, h, width);
                (h, width) = (2 * h, 2 * width);
                index++;
            }
            x = Naive.Conv(x, ch, h, width, w[$"decoder.layers.{index}.weight"], final ? w[$"decoder.layers.{index}.bias"] : null);
            index++;
        }
        return Naive.Map(x, v => 2 * v - 1);
    }

    [Fact]
    public void TaesdMatchesADirectComputation()
    {
        var cfg = TinyModels.Taesd(channels: 4, blocks: "[1, 1, 0, 1]");
        var weights = TinyModels.Weights(TaesdDecoder.ExpectedTensors(cfg), 6);
        var taesd = TaesdDecoder.Create(cfg, new DictionaryTensorSource(weights), Backend);
        var latents = TinyModels.Randn(3, 1, 4, 2, 3);
        for (int i = 0; i < latents.Length; i++) latents.Data[i] *= 3; // exercise the tanh clamp
        var image = taesd.Decode(latents);
        Assert.Equal([1, 3, 16, 24], image.ShapeArray());
        TensorAssert.FiniteAndVaried(image);
        var expected = NaiveTaesd(weights, Naive.D(latents), 4, 2, 3, [1, 1, 0, 1]);
        TensorAssert.Close(expected.Select(v => (float)v).ToArray(), image.Data, 1e-5, "TAESD");
    }

    [Fact]
    public void TaesdDefaultLayoutHasTheDiffusersIndices()
    {
        var cfg = TinyModels.Taesd();
        var names = TaesdDecoder.DescribeLayers(cfg).Select(l => l.Name).ToList();
        // [3,3,3,1] in the real model; here [2,1,1,1]: conv 0, act 1, blocks 2-3, up 4, conv 5, block 6, up 7, conv 8, ...
        Assert.Equal(["decoder.layers.0", "decoder.layers.2.conv.0", "decoder.layers.2.conv.2", "decoder.layers.2.conv.4"], names.Take(4));
        Assert.Contains("decoder.layers.5", names);
        Assert.DoesNotContain("decoder.layers.4", names);
        var image = TaesdDecoder.Create(cfg, TinyModels.Source(TaesdDecoder.ExpectedTensors(cfg), 2), Backend).Decode(TinyModels.Randn(1, 2, 4, 2, 2));
        Assert.Equal([2, 3, 16, 16], image.ShapeArray());
        TensorAssert.FiniteAndVaried(image);
    }
}
