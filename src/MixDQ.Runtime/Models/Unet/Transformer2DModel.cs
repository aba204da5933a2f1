using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models.Unet;

/// <summary>
/// diffusers Attention as used by BasicTransformerBlock: to_q/to_k/to_v without bias, to_out.0 with bias,
/// heads of width channels/heads, no mask. Keys and values come from the context when one is given.
/// </summary>
internal sealed class CrossAttention
{
    private readonly IComputeBackend? _backend;
    private readonly LinearOp _q, _k, _v, _out;
    private readonly int _heads;

    public CrossAttention(ModuleBuilder b, string path, int channels, int contextChannels, int heads)
    {
        _backend = b.Backend;
        _heads = heads;
        _q = b.Linear(path + ".to_q", channels, channels, bias: false);
        _k = b.Linear(path + ".to_k", channels, contextChannels, bias: false);
        _v = b.Linear(path + ".to_v", channels, contextChannels, bias: false);
        _out = b.Linear(path + ".to_out.0", channels, channels);
    }

    /// <param name="x">[B, L, C].</param>
    /// <param name="context">[B, Lk, Ck], or x itself for self-attention.</param>
    public Tensor Forward(Tensor x, Tensor context)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        var a = be.Attention(_q.Forward(x), _k.Forward(context), _v.Forward(context), _heads, causal: false);
        return _out.Forward(a);
    }
}

/// <summary>
/// diffusers BasicTransformerBlock (norm_type layer_norm, GEGLU feed-forward): self-attention,
/// cross-attention, feed-forward, each pre-LayerNorm with a residual.
/// </summary>
internal sealed class BasicTransformerBlock
{
    private const double NormEps = 1e-5;
    private readonly IComputeBackend? _backend;
    private readonly LayerNormOp _norm1, _norm2, _norm3;
    private readonly CrossAttention _attn1, _attn2;
    private readonly LinearOp _ffIn, _ffOut;
    private readonly bool _onlyCrossAttention;

    public BasicTransformerBlock(ModuleBuilder b, string path, int channels, int heads, int contextChannels, bool onlyCrossAttention)
    {
        _backend = b.Backend;
        _onlyCrossAttention = onlyCrossAttention;
        _norm1 = b.LayerNorm(path + ".norm1", channels, NormEps);
        // only_cross_attention: attn1 attends to the context as well (its K/V take the context width).
        _attn1 = new CrossAttention(b, path + ".attn1", channels, onlyCrossAttention ? contextChannels : channels, heads);
        _norm2 = b.LayerNorm(path + ".norm2", channels, NormEps);
        _attn2 = new CrossAttention(b, path + ".attn2", channels, contextChannels, heads);
        _norm3 = b.LayerNorm(path + ".norm3", channels, NormEps);
        int inner = channels * 4;
        _ffIn = b.Linear(path + ".ff.net.0.proj", inner * 2, channels);
        _ffOut = b.Linear(path + ".ff.net.2", channels, inner);
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        var n = _norm1.Forward(x);
        x = be.Add(x, _attn1.Forward(n, _onlyCrossAttention ? context : n));
        x = be.Add(x, _attn2.Forward(_norm2.Forward(x), context));
        var f = _ffOut.Forward(be.Geglu(_ffIn.Forward(_norm3.Forward(x))));
        return be.Add(x, f);
    }
}

/// <summary>
/// diffusers Transformer2DModel (continuous input): GroupNorm (eps 1e-6) → proj_in → transformer blocks →
/// proj_out → + input. Projections are linear on tokens, or 1×1 convs on the image when
/// <c>use_linear_projection</c> is false.
/// </summary>
internal sealed class Transformer2DModel
{
    private const double GroupNormEps = 1e-6;
    private readonly IComputeBackend? _backend;
    private readonly GroupNormOp _norm;
    private readonly LinearOp? _projInLinear, _projOutLinear;
    private readonly ConvOp? _projInConv, _projOutConv;
    private readonly BasicTransformerBlock[] _blocks;

    public Transformer2DModel(ModuleBuilder b, string path, int channels, int heads, int depth, int contextChannels,
        int groups, bool linearProjection, bool onlyCrossAttention)
    {
        _backend = b.Backend;
        _norm = b.GroupNorm(path + ".norm", channels, groups, GroupNormEps);
        if (linearProjection) _projInLinear = b.Linear(path + ".proj_in", channels, channels);
        else _projInConv = b.Conv(path + ".proj_in", channels, channels, 1);
        _blocks = new BasicTransformerBlock[depth];
        for (int k = 0; k < depth; k++)
            _blocks[k] = new BasicTransformerBlock(b, $"{path}.transformer_blocks.{k}", channels, heads, contextChannels, onlyCrossAttention);
        if (linearProjection) _projOutLinear = b.Linear(path + ".proj_out", channels, channels);
        else _projOutConv = b.Conv(path + ".proj_out", channels, channels, 1);
    }

    /// <param name="x">[B, C, H, W].</param>
    /// <param name="context">[B, L, Ck].</param>
    /// <param name="ct">Checked between transformer blocks.</param>
    public Tensor Forward(Tensor x, Tensor context, CancellationToken ct)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        int height = x.Dim(2), width = x.Dim(3);
        var h = _norm.Forward(x);
        var tokens = _projInLinear is not null
            ? _projInLinear.Forward(be.NchwToTokens(h))
            : be.NchwToTokens(_projInConv!.Forward(h));
        foreach (var block in _blocks)
        {
            ct.ThrowIfCancellationRequested();
            tokens = block.Forward(tokens, context);
        }
        var y = _projOutLinear is not null
            ? be.TokensToNchw(_projOutLinear.Forward(tokens), height, width)
            : _projOutConv!.Forward(be.TokensToNchw(tokens, height, width));
        return be.Add(y, x);
    }
}
