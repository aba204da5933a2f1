using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>
/// A backend with no integer kernels (the contract's defaults for <see cref="IComputeBackend.Supports"/> and
/// PrepareQuantized*): every op delegates to <paramref name="inner"/>. The op harness uses it for the "not supported" outcome.
/// </summary>
public class FloatOnlyBackend(IComputeBackend inner) : IComputeBackend
{
    public string Name => "fp-only";

    public virtual IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias) => inner.PrepareLinear(layer, weight, bias);

    public virtual IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding) => inner.PrepareConv2d(layer, weight, bias, stride, padding);

    public virtual Tensor Linear(IPreparedLinear layer, Tensor x) => inner.Linear(layer, x);

    public virtual Tensor Conv2d(IPreparedConv2d layer, Tensor x) => inner.Conv2d(layer, x);

    public IKernel Specialize(KernelSpec spec) => inner.Specialize(spec);

    public Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel) => inner.Linear(layer, x, kernel);

    public Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel) => inner.Conv2d(layer, x, kernel);

    public Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu) => inner.GroupNorm(x, groups, gamma, beta, eps, silu);

    public Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) => inner.LayerNorm(x, gamma, beta, eps);

    public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal) => inner.Attention(q, k, v, heads, causal);

    public Tensor Activate(Tensor x, Activation activation) => inner.Activate(x, activation);

    public Tensor Geglu(Tensor x) => inner.Geglu(x);

    public Tensor Add(Tensor a, Tensor b) => inner.Add(a, b);

    public Tensor AddChannelBias(Tensor x, Tensor bias) => inner.AddChannelBias(x, bias);

    public Tensor Affine(Tensor x, float scale, float shift) => inner.Affine(x, scale, shift);

    public Tensor UpsampleNearest(Tensor x, int outH, int outW) => inner.UpsampleNearest(x, outH, outW);

    public Tensor Concat(Tensor a, Tensor b, int axis) => inner.Concat(a, b, axis);

    public Tensor NchwToTokens(Tensor x) => inner.NchwToTokens(x);

    public Tensor TokensToNchw(Tensor x, int height, int width) => inner.TokensToNchw(x, height, width);

    public Tensor Embedding(Tensor table, int[] ids, int batch) => inner.Embedding(table, ids, batch);

    public Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift) => inner.TimestepEmbedding(values, dim, flipSinToCos, freqShift);

    public Tensor Reshape(Tensor x, params int[] shape) => inner.Reshape(x, shape);
}
