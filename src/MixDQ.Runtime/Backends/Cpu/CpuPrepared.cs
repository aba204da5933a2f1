namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>A linear layer's weights re-packed once into the B panels of the GEMM micro-kernel.</summary>
internal sealed class CpuPreparedLinear(LayerInfo layer, int inFeatures, int outFeatures, PackedPanels weights, float[]? bias, GemmEngine engine)
    : IPreparedLinear
{
    public LayerInfo Layer { get; } = layer;

    public int InFeatures { get; } = inFeatures;

    public int OutFeatures { get; } = outFeatures;

    /// <summary>W [out, in] as B panels of Nr output features, K-major.</summary>
    public PackedPanels Weights { get; } = weights;

    public float[]? Bias { get; } = bias;

    /// <summary>The engine the panels were packed for (its Nr fixed their width).</summary>
    public GemmEngine Engine { get; } = engine;
}

/// <summary>A convolution's weights re-packed once into the A panels of the GEMM micro-kernel.</summary>
internal sealed class CpuPreparedConv2d(LayerInfo layer, int inChannels, int outChannels, int kernelSize, int stride, int padding,
    PackedPanels weights, float[]? bias, GemmEngine engine) : IPreparedConv2d
{
    public LayerInfo Layer { get; } = layer;

    public int InChannels { get; } = inChannels;

    public int OutChannels { get; } = outChannels;

    public int KernelSize { get; } = kernelSize;

    public int Stride { get; } = stride;

    public int Padding { get; } = padding;

    /// <summary>W [out, in·k·k] as A panels of Mr output channels, K-major.</summary>
    public PackedPanels Weights { get; } = weights;

    public float[]? Bias { get; } = bias;

    public GemmEngine Engine { get; } = engine;
}

/// <summary>A call shape planned once by <see cref="CpuBackend.Specialize"/>: the output shape and the GEMM schedule.</summary>
internal sealed record CpuKernel(KernelSpec Spec, int[] OutputShape, LinearSchedule Linear, ConvSchedule Conv) : IKernel;
