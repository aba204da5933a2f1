using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>
/// UNet2DConditionModel for one sample, written out in double precision directly from
/// diffusers-architecture.md §2 (no backend, no model classes): the end-to-end check of the graph wiring.
/// </summary>
internal sealed class NaiveUNet(UNet2DConditionConfig cfg, IReadOnlyDictionary<string, Tensor> w)
{
    private sealed record Img(double[] Data, int C, int H, int W);

    public double[] Forward(Tensor sample, double t, Tensor context, Tensor? textEmbeds, Tensor? timeIds)
    {
        int ctxLen = context.Dim(1), ctxDim = context.Dim(2);
        var ctx = Naive.D(context);

        // §2.1 time embedding; §2.2 text_time.
        var emb = Mlp("time_embedding", Sinusoid([t], cfg.TimestepInputDim));
        if (cfg.HasTextTimeEmbedding)
        {
            var add = Naive.D(textEmbeds!).Concat(Sinusoid(timeIds!.Data.Select(v => (double)v).ToArray(), cfg.AdditionTimeEmbedDim!.Value)).ToArray();
            emb = Naive.Add(emb, Mlp("add_embedding", add));
        }
        var embAct = Naive.Map(emb, Silu);

        var h = new Img(Naive.D(sample), sample.Dim(1), sample.Dim(2), sample.Dim(3));
        h = Conv(h, "conv_in", 1);
        var skips = new List<Img> { h };
        for (int i = 0; i < cfg.Levels; i++)
        {
            for (int j = 0; j < cfg.LayersPerBlock[i]; j++)
            {
                h = Resnet(h, $"down_blocks.{i}.resnets.{j}", embAct);
                if (cfg.DownBlockTypes[i] == "CrossAttnDownBlock2D")
                    h = Transformer(h, $"down_blocks.{i}.attentions.{j}", cfg.AttentionHeads[i], cfg.TransformerLayersPerBlock[i], ctx, ctxLen, ctxDim);
                skips.Add(h);
            }
            if (i < cfg.Levels - 1)
            {
                h = Conv(h, $"down_blocks.{i}.downsamplers.0.conv", 2);
                skips.Add(h);
            }
        }
        int last = cfg.Levels - 1;
        h = Resnet(h, "mid_block.resnets.0", embAct);
        h = Transformer(h, "mid_block.attentions.0", cfg.AttentionHeads[last], cfg.TransformerLayersPerBlock[last], ctx, ctxLen, ctxDim);
        h = Resnet(h, "mid_block.resnets.1", embAct);
        for (int i = 0; i < cfg.Levels; i++)
        {
            int level = last - i;
            for (int j = 0; j < cfg.LayersPerBlock[level] + 1; j++)
            {
                var skip = skips[^1];
                skips.RemoveAt(skips.Count - 1);
                // §2.3: h first, skip second.
                h = new Img(h.Data.Concat(skip.Data).ToArray(), h.C + skip.C, h.H, h.W);
                h = Resnet(h, $"up_blocks.{i}.resnets.{j}", embAct);
                if (cfg.UpBlockTypes[i] == "CrossAttnUpBlock2D")
                    h = Transformer(h, $"up_blocks.{i}.attentions.{j}", cfg.AttentionHeads[level], cfg.TransformerLayersPerBlock[level], ctx, ctxLen, ctxDim);
            }
            if (i < cfg.Levels - 1)
            {
                var next = skips[^1];
                h = Conv(Upsample(h, next.H, next.W), $"up_blocks.{i}.upsamplers.0.conv", 1);
            }
        }
        h = GroupNorm(h, "conv_norm_out", cfg.NormEps, silu: true);
        return Conv(h, "conv_out", 1).Data;
    }

    private static double Silu(double x) => x / (1 + Math.Exp(-x));

    private double[] Sinusoid(double[] ts, int dim)
    {
        int half = dim / 2;
        var r = new List<double>();
        foreach (var t in ts)
        {
            var a = Enumerable.Range(0, half).Select(i => t * Math.Exp(-Math.Log(10000) * i / (half - cfg.FreqShift))).ToArray();
            r.AddRange(a.Select(Math.Cos));
            r.AddRange(a.Select(Math.Sin));
        }
        return r.ToArray();
    }

    private double[] Mlp(string p, double[] x) =>
        Naive.Linear(Naive.Map(Naive.Linear(x, 1, w[p + ".linear_1.weight"], w[p + ".linear_1.bias"]), Silu), 1, w[p + ".linear_2.weight"], w[p + ".linear_2.bias"]);

    private Img Conv(Img x, string p, int stride)
    {
        var weight = w[p + ".weight"];
        int o = weight.Dim(0), k = weight.Dim(2), pad = (k - 1) / 2;
        int oh = (x.H + 2 * pad - k) / stride + 1, ow = (x.W + 2 * pad - k) / stride + 1;
        var y = new double[o * oh * ow];
        var bias = w[p + ".bias"];
        for (int oc = 0; oc < o; oc++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++)
                {
                    double s = bias.Data[oc];
                    for (int ic = 0; ic < x.C; ic++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int iy = yy * stride + ky - pad, ix = xx * stride + kx - pad;
                                if (iy < 0 || iy >= x.H || ix < 0 || ix >= x.W) continue;
                                s += x.Data[(ic * x.H + iy) * x.W + ix] * weight.Data[((oc * x.C + ic) * k + ky) * k + kx];
                            }
                    y[(oc * oh + yy) * ow + xx] = s;
                }
        return new Img(y, o, oh, ow);
    }

    private Img GroupNorm(Img x, string p, double eps, bool silu)
    {
        int groups = cfg.NormNumGroups, per = x.C / groups * x.H * x.W;
        var y = new double[x.Data.Length];
        for (int g = 0; g < groups; g++)
        {
            var seg = x.Data.AsSpan(g * per, per);
            double mean = 0, var = 0;
            foreach (var v in seg) mean += v;
            mean /= per;
            foreach (var v in seg) var += (v - mean) * (v - mean);
            var /= per;
            for (int i = 0; i < per; i++)
            {
                int c = (g * per + i) / (x.H * x.W);
                double v = (seg[i] - mean) / Math.Sqrt(var + eps) * w[p + ".weight"].Data[c] + w[p + ".bias"].Data[c];
                y[g * per + i] = silu ? Silu(v) : v;
            }
        }
        return x with { Data = y };
    }

    // §2.4
    private Img Resnet(Img x, string p, double[] embAct)
    {
        var h = Conv(GroupNorm(x, p + ".norm1", cfg.NormEps, silu: true), p + ".conv1", 1);
        var temb = Naive.Linear(embAct, 1, w[p + ".time_emb_proj.weight"], w[p + ".time_emb_proj.bias"]);
        var hd = (double[])h.Data.Clone();
        for (int i = 0; i < hd.Length; i++) hd[i] += temb[i / (h.H * h.W)];
        h = Conv(GroupNorm(h with { Data = hd }, p + ".norm2", cfg.NormEps, silu: true), p + ".conv2", 1);
        var shortcut = w.ContainsKey(p + ".conv_shortcut.weight") ? Conv(x, p + ".conv_shortcut", 1) : x;
        return h with { Data = Naive.Add(shortcut.Data, h.Data) };
    }

    // §2.5
    private Img Transformer(Img x, string p, int heads, int depth, double[] ctx, int ctxLen, int ctxDim)
    {
        int c = x.C, n = x.H * x.W;
        var normed = GroupNorm(x, p + ".norm", 1e-6, silu: false);
        var tokens = new double[n * c];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++) tokens[i * c + ch] = normed.Data[ch * n + i];
        bool linear = w[p + ".proj_in.weight"].Rank == 2;
        tokens = Naive.Linear(tokens, n, linear ? w[p + ".proj_in.weight"] : w[p + ".proj_in.weight"].Reshape(c, c), w[p + ".proj_in.bias"]);
        for (int k = 0; k < depth; k++)
        {
            string b = $"{p}.transformer_blocks.{k}";
            var h1 = Naive.LayerNorm(tokens, c, w[b + ".norm1.weight"], w[b + ".norm1.bias"], 1e-5);
            tokens = Naive.Add(tokens, Attn(b + ".attn1", h1, n, h1, n, c, heads));
            var h2 = Naive.LayerNorm(tokens, c, w[b + ".norm2.weight"], w[b + ".norm2.bias"], 1e-5);
            tokens = Naive.Add(tokens, Attn(b + ".attn2", h2, n, ctx, ctxLen, c, heads));
            var h3 = Naive.LayerNorm(tokens, c, w[b + ".norm3.weight"], w[b + ".norm3.bias"], 1e-5);
            var proj = Naive.Linear(h3, n, w[b + ".ff.net.0.proj.weight"], w[b + ".ff.net.0.proj.bias"]);
            int inner = 4 * c;
            var gated = new double[n * inner];
            for (int i = 0; i < n; i++)
                for (int e = 0; e < inner; e++)
                    gated[i * inner + e] = proj[i * 2 * inner + e] * Naive.Gelu(proj[i * 2 * inner + inner + e]);
            tokens = Naive.Add(tokens, Naive.Linear(gated, n, w[b + ".ff.net.2.weight"], w[b + ".ff.net.2.bias"]));
        }
        tokens = Naive.Linear(tokens, n, linear ? w[p + ".proj_out.weight"] : w[p + ".proj_out.weight"].Reshape(c, c), w[p + ".proj_out.bias"]);
        var y = new double[c * n];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++) y[ch * n + i] = tokens[i * c + ch] + x.Data[ch * n + i];
        return x with { Data = y };
    }

    private double[] Attn(string p, double[] x, int n, double[] ctx, int ctxLen, int c, int heads)
    {
        var q = Naive.Linear(x, n, w[p + ".to_q.weight"], null);
        var k = Naive.Linear(ctx, ctxLen, w[p + ".to_k.weight"], null);
        var v = Naive.Linear(ctx, ctxLen, w[p + ".to_v.weight"], null);
        int d = c / heads;
        var o = new double[n * c];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n; i++)
            {
                var s = new double[ctxLen];
                for (int j = 0; j < ctxLen; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += q[i * c + h * d + e] * k[j * c + h * d + e];
                    s[j] = dot / Math.Sqrt(d);
                }
                double max = s.Max(), sum = s.Sum(z => Math.Exp(z - max));
                for (int e = 0; e < d; e++)
                    o[i * c + h * d + e] = Enumerable.Range(0, ctxLen).Sum(j => Math.Exp(s[j] - max) / sum * v[j * c + h * d + e]);
            }
        return Naive.Linear(o, n, w[p + ".to_out.0.weight"], w[p + ".to_out.0.bias"]);
    }

    private static Img Upsample(Img x, int oh, int ow)
    {
        var y = new double[x.C * oh * ow];
        for (int c = 0; c < x.C; c++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++)
                    y[(c * oh + yy) * ow + xx] = x.Data[(c * x.H + yy * x.H / oh) * x.W + xx * x.W / ow];
        return new Img(y, x.C, oh, ow);
    }
}
