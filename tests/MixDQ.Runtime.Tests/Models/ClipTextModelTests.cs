using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

public sealed class ClipTextModelTests
{
    private static readonly IComputeBackend Backend = new ReferenceBackend();

    /// <summary>transformers' CLIP text model, written out directly: hidden_states list and last_hidden_state.</summary>
    private static (List<double[]> HiddenStates, double[] Last) NaiveClip(ClipTextConfig cfg, IReadOnlyDictionary<string, Tensor> w, int[] row)
    {
        int hsz = cfg.HiddenSize, len = row.Length;
        var x = new double[len * hsz];
        var tok = w["text_model.embeddings.token_embedding.weight"];
        var pos = w["text_model.embeddings.position_embedding.weight"];
        for (int i = 0; i < len; i++)
            for (int c = 0; c < hsz; c++)
                x[i * hsz + c] = (double)tok.Data[row[i] * hsz + c] + pos.Data[i * hsz + c];
        var states = new List<double[]> { x };
        for (int l = 0; l < cfg.NumHiddenLayers; l++)
        {
            string p = $"text_model.encoder.layers.{l}.";
            var n = Naive.LayerNorm(x, hsz, w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], cfg.LayerNormEps);
            var q = Naive.Linear(n, len, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"]);
            var k = Naive.Linear(n, len, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"]);
            var v = Naive.Linear(n, len, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"]);
            var a = Naive.Attention(q, k, v, len, hsz, cfg.NumAttentionHeads, causal: true);
            x = Naive.Add(x, Naive.Linear(a, len, w[p + "self_attn.out_proj.weight"], w[p + "self_attn.out_proj.bias"]));
            n = Naive.LayerNorm(x, hsz, w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], cfg.LayerNormEps);
            var f = Naive.Linear(n, len, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]);
            f = Naive.Map(f, cfg.HiddenAct == "gelu" ? Naive.Gelu : Naive.QuickGelu);
            x = Naive.Add(x, Naive.Linear(f, len, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"]));
            states.Add(x);
        }
        var last = Naive.LayerNorm(x, hsz, w["text_model.final_layer_norm.weight"], w["text_model.final_layer_norm.bias"], cfg.LayerNormEps);
        return (states, last);
    }

    private static float[] F(double[] d) => d.Select(v => (float)v).ToArray();

    [Theory]
    [InlineData("quick_gelu", 1)]
    [InlineData("gelu", 2)]
    public void MatchesADirectComputation(string act, int layers)
    {
        var cfg = TinyModels.Clip(act, layers, withProjection: true);
        var weights = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, withProjection: true), seed: 21);
        var model = ClipTextModel.Create(cfg, new DictionaryTensorSource(weights), Backend, "text_encoder_2", withProjection: true);
        var ids = TinyModels.Ids(batch: 2, seed: 5, pad: 0);
        var last = model.Forward(ids, 2);
        var penultimate = model.Forward(ids, 2, outputHiddenStateIndex: -2);
        Assert.Equal([2, 77, 32], last.Hidden.ShapeArray());
        Assert.Equal([2, 24], last.TextEmbeds!.ShapeArray());

        for (int b = 0; b < 2; b++)
        {
            var row = ids.AsSpan(b * 77, 77).ToArray();
            var (states, lastNaive) = NaiveClip(cfg, weights, row);
            TensorAssert.Close(F(lastNaive), last.Hidden.Data.AsSpan(b * 77 * 32, 77 * 32), 2e-5, $"last_hidden_state row {b}");
            TensorAssert.Close(F(states[^2]), penultimate.Hidden.Data.AsSpan(b * 77 * 32, 77 * 32), 2e-5, $"hidden_states[-2] row {b}");

            // Pooled = final-LN row at argmax(ids) (EOS 49407, even with "!" = 0 padding), projected without bias.
            int eos = Array.IndexOf(row, row.Max());
            var pooled = lastNaive.AsSpan(eos * 32, 32).ToArray();
            var proj = Naive.Linear(pooled, 1, weights["text_projection.weight"], null);
            TensorAssert.Close(F(proj), last.TextEmbeds.Data.AsSpan(b * 24, 24), 2e-5, $"text_embeds row {b}");
            // The pooled output always needs the full depth, even when the hidden state comes from layer −2.
            TensorAssert.Close(last.TextEmbeds.Data.AsSpan(b * 24, 24), penultimate.TextEmbeds!.Data.AsSpan(b * 24, 24), 1e-6, "pooled at −2");
        }
    }

    [Fact]
    public void CausalMaskMakesEarlierPositionsIndependentOfLaterTokens()
    {
        var cfg = TinyModels.Clip();
        var model = ClipTextModel.Create(cfg, TinyModels.Source(ClipTextModel.ExpectedTensors(cfg, false), 3), Backend, "text_encoder", false);
        var ids = TinyModels.Ids(1, 9);
        var changed = (int[])ids.Clone();
        changed[10] = 1234;
        var a = model.Forward(ids, 1).Hidden;
        var b = model.Forward(changed, 1).Hidden;
        Assert.Null(model.Forward(ids, 1).TextEmbeds);
        TensorAssert.Close(a.Data.AsSpan(0, 10 * 32), b.Data.AsSpan(0, 10 * 32), 0, "positions before the change");
        Assert.True(Math.Abs(a.Data[10 * 32] - b.Data[10 * 32]) + Math.Abs(a.Data[76 * 32] - b.Data[76 * 32]) > 1e-6);
    }

    [Fact]
    public void LayersCarryTheCallersComponentName()
    {
        var cfg = TinyModels.Clip(layers: 2);
        var model = ClipTextModel.Create(cfg, TinyModels.Source(ClipTextModel.ExpectedTensors(cfg, true), 3), Backend, "text_encoder_2", true);
        Assert.All(model.Layers, l => Assert.Equal("text_encoder_2", l.Component));
        Assert.Equal(2 * 6 + 1, model.Layers.Count);
        Assert.Contains(model.Layers, l => l.Name == "text_model.encoder.layers.1.self_attn.q_proj");
        Assert.Contains(model.Layers, l => l.Name == "text_projection" && l.WeightShape.SequenceEqual([24, 32]));
        Assert.Equal(model.Layers.Select(l => l.Name), ClipTextModel.DescribeLayers(cfg, true, "text_encoder_2").Select(l => l.Name));
    }

    [Fact]
    public void PositionIdsBufferIsAHarmlessExtra()
    {
        var cfg = TinyModels.Clip(layers: 1);
        var weights = TinyModels.Weights(ClipTextModel.ExpectedTensors(cfg, false), 3);
        var source = new ExtraTensorSource(new DictionaryTensorSource(weights, "text_encoder/model.safetensors"),
            new TensorInfo("text_model.embeddings.position_ids", DType.I64, [1, 77]));
        var model = ClipTextModel.Create(cfg, source, Backend, "text_encoder", false);
        TensorAssert.Finite(model.Forward(TinyModels.Ids(1, 1), 1).Hidden);
    }

    [Fact]
    public void BadIdsAndIndicesAreInputErrors()
    {
        var cfg = TinyModels.Clip(layers: 1);
        var model = ClipTextModel.Create(cfg, TinyModels.Source(ClipTextModel.ExpectedTensors(cfg, false), 3), Backend, "text_encoder", false);
        Assert.Equal(ErrorCodes.InvalidArgument, Assert.Throws<MixDQException>(() => model.Forward(new int[78], 1)).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, Assert.Throws<MixDQException>(() => model.Forward(Enumerable.Repeat(49408, 77).ToArray(), 1)).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, Assert.Throws<MixDQException>(() => model.Forward(new int[77], 1, outputHiddenStateIndex: -3)).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, Assert.Throws<MixDQException>(() => model.Forward(new int[77], 1, outputHiddenStateIndex: 0)).Code);
        // −(n+1) is the embedding output.
        TensorAssert.Finite(model.Forward(new int[77], 1, outputHiddenStateIndex: -2).Hidden);
    }
}

/// <summary>A source that lists one extra tensor (e.g. an I64 buffer) beside another source's tensors.</summary>
internal sealed class ExtraTensorSource(ITensorSource inner, TensorInfo extra) : ITensorSource
{
    public string Origin => inner.Origin;

    public IEnumerable<TensorInfo> Tensors => inner.Tensors.Append(extra);

    public bool TryGetInfo(string name, out TensorInfo info)
    {
        if (name == extra.Name) { info = extra; return true; }
        return inner.TryGetInfo(name, out info);
    }

    public Tensor ReadFloat32(string name) => name == extra.Name ? Tensor.Zeros(extra.Shape) : inner.ReadFloat32(name);
}
