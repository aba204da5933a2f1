using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Backends;

/// <summary>Pointwise activation functions.</summary>
public enum Activation
{
    Identity,
    Silu,
    /// <summary>Exact erf GELU.</summary>
    Gelu,
    /// <summary>x·sigmoid(1.702·x), CLIP-L's activation.</summary>
    QuickGelu,
    Relu,
    Tanh,
}

/// <summary>Weights of a linear layer, prepared (re-laid out, packed, quantized) by the backend that runs it.</summary>
public interface IPreparedLinear
{
    LayerInfo Layer { get; }
    int InFeatures { get; }
    int OutFeatures { get; }
}

/// <summary>Weights of a 2-D convolution, prepared by the backend that runs it.</summary>
public interface IPreparedConv2d
{
    LayerInfo Layer { get; }
    int InChannels { get; }
    int OutChannels { get; }
    int KernelSize { get; }
    int Stride { get; }
    int Padding { get; }
}

/// <summary>
/// The kernel contract every backend implements (CPU SIMD, the double-precision reference, ILGPU).
/// Layouts: images are NCHW, token sequences are [B, L, C]; linear weights are [out, in] and conv
/// weights [out, in, k, k], as in PyTorch. Every op returns a new tensor (but <see cref="IComputeBackend.Reshape"/>,
/// a view) and never writes its inputs; storage handed back by <see cref="IComputeBackend.Release"/> may be reused.
/// Quantizable layers go through <see cref="PrepareLinear"/> / <see cref="PrepareConv2d"/>, which see the
/// layer's <see cref="LayerPrecision"/>: that is where integer kernels plug in.
/// </summary>
public interface IComputeBackend
{
    string Name { get; }

    IPreparedLinear PrepareLinear(LayerInfo layer, Tensor weight, Tensor? bias);

    IPreparedConv2d PrepareConv2d(LayerInfo layer, Tensor weight, Tensor? bias, int stride, int padding);

    /// <summary>
    /// Prepares a layer the plan runs with integer weights (and, when <see cref="QuantizedLayer.QuantizesInput"/>, integer
    /// input activations): <paramref name="weights"/> holds the packed weight exactly as the artifact stores it
    /// (<see cref="IntegerFormat"/>), which the backend may re-lay out but never expands to an FP copy for speed's sake.
    /// <paramref name="layer"/>'s precision says the widths. A backend without a kernel for them refuses (MIXDQ091)
    /// rather than silently running another precision; <see cref="Supports"/> asks first.
    /// </summary>
    IPreparedLinear PrepareQuantizedLinear(LayerInfo layer, QuantizedLayer weights, Tensor? bias) =>
        throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {Name} backend has no {layer.Precision} linear kernel", item: layer.QualifiedName);

    /// <summary>The conv2d counterpart of <see cref="PrepareQuantizedLinear"/> (implicit GEMM over in·k·k codes per output channel).</summary>
    IPreparedConv2d PrepareQuantizedConv2d(LayerInfo layer, QuantizedLayer weights, Tensor? bias, int stride, int padding) =>
        throw new MixDQException(ErrorCodes.PrecisionNotSupported, $"the {Name} backend has no {layer.Precision} conv2d kernel", item: layer.QualifiedName);

    /// <summary>
    /// Whether this backend runs calls of <paramref name="spec"/> at exactly its precision (as ggml's <c>supports_op</c>):
    /// the op harness and the loader ask it, so "not supported" is an answer, not a silent FP32 fallback.
    /// </summary>
    bool Supports(KernelSpec spec) => spec.Precision.IsFloat;

    /// <summary>y[..., N] = x[..., K]·Wᵀ + b.</summary>
    Tensor Linear(IPreparedLinear layer, Tensor x);

    /// <summary>NCHW convolution, square kernel, zero padding.</summary>
    Tensor Conv2d(IPreparedConv2d layer, Tensor x);

    /// <summary>
    /// The kernel for every call of one shape and precision (generated code asks once per distinct spec, at load).
    /// Results of a specialized call equal those of the generic op bit for bit.
    /// </summary>
    IKernel Specialize(KernelSpec spec);

    /// <summary><see cref="Linear(IPreparedLinear, Tensor)"/> through a kernel specialized for exactly this call's spec.</summary>
    Tensor Linear(IPreparedLinear layer, Tensor x, IKernel kernel);

    /// <summary><see cref="Conv2d(IPreparedConv2d, Tensor)"/> through a kernel specialized for exactly this call's spec.</summary>
    Tensor Conv2d(IPreparedConv2d layer, Tensor x, IKernel kernel);

    /// <summary>GroupNorm over NCHW with per-channel affine, optionally followed by SiLU.</summary>
    Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, bool silu);

    /// <summary>LayerNorm over the last dimension with affine.</summary>
    Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /// <summary>
    /// Multi-head scaled dot-product attention. q [B, Lq, H·D], k and v [B, Lk, H·D]; head h uses
    /// channels [h·D, (h+1)·D); scores scaled by D^-1/2, softmax in FP32; causal masks j &gt; i.
    /// </summary>
    Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal);

    Tensor Activate(Tensor x, Activation activation);

    /// <summary>[..., 2C] → [..., C]: first half value, second half gate, value·GELU(gate).</summary>
    Tensor Geglu(Tensor x);

    /// <summary>Elementwise a + b (same shapes).</summary>
    Tensor Add(Tensor a, Tensor b);

    /// <summary>x[B, C, H, W] + bias[B, C] broadcast over H and W.</summary>
    Tensor AddChannelBias(Tensor x, Tensor bias);

    /// <summary>Elementwise scale·x + shift.</summary>
    Tensor Affine(Tensor x, float scale, float shift);

    /// <summary>Nearest-neighbour resize of NCHW to [outH, outW].</summary>
    Tensor UpsampleNearest(Tensor x, int outH, int outW);

    /// <summary>Concatenation along <paramref name="axis"/> (a first).</summary>
    Tensor Concat(Tensor a, Tensor b, int axis);

    /// <summary>[B, C, H, W] → [B, H·W, C].</summary>
    Tensor NchwToTokens(Tensor x);

    /// <summary>[B, H·W, C] → [B, C, H, W].</summary>
    Tensor TokensToNchw(Tensor x, int height, int width);

    /// <summary>Rows of <paramref name="table"/> [V, C] for ids [B, L] → [B, L, C].</summary>
    Tensor Embedding(Tensor table, int[] ids, int batch);

    /// <summary>
    /// diffusers' sinusoidal timestep embedding (as ggml's <c>timestep_embedding</c>): values [B] or [B, k] →
    /// [B, k·dim], each value embedded by <see cref="Models.Unet.TimestepSinusoid"/>.
    /// </summary>
    Tensor TimestepEmbedding(Tensor values, int dim, bool flipSinToCos, int freqShift);

    /// <summary>
    /// The same elements seen with another shape: a view sharing <paramref name="x"/>'s storage (never a copy or a
    /// reorder), so <see cref="Release"/> of either hands back that one storage.
    /// </summary>
    Tensor Reshape(Tensor x, params int[] shape);

    /// <summary>
    /// Hands back an output of this backend's ops that the caller will not read again, neither through
    /// <paramref name="tensor"/> nor through any <see cref="Reshape"/> view of it: the backend may reuse its storage
    /// for a later output. The generated forward passes call it at each intermediate value's last use (they know
    /// every lifetime at build time), so most outputs reuse earlier storage instead of allocating; a GPU backend
    /// recycles device memory the same way. A backend that recycles refuses (MIXDQ050) a tensor it did not produce,
    /// or one it already took back and has not handed out again (a best-effort check); the default ignores the call.
    /// </summary>
    void Release(Tensor tensor)
    {
    }
}
