using MixDQ.Runtime.Backends;

namespace MixDQ.Backends.Ilgpu;

/// <summary>A linear layer whose weights live on the device.</summary>
internal sealed class IlgpuPreparedLinear(LayerInfo layer, int inFeatures, int outFeatures, DeviceGemmWeights weights) : IPreparedLinear, IDisposable
{
    public LayerInfo Layer => layer;
    public int InFeatures => inFeatures;
    public int OutFeatures => outFeatures;
    public DeviceGemmWeights Weights => weights;

    public void Dispose() => weights.Dispose();
}

/// <summary>A convolution whose weights live on the device.</summary>
internal sealed class IlgpuPreparedConv2d(LayerInfo layer, int inChannels, int outChannels, int kernelSize, int stride, int padding, DeviceGemmWeights weights)
    : IPreparedConv2d, IDisposable
{
    public LayerInfo Layer => layer;
    public int InChannels => inChannels;
    public int OutChannels => outChannels;
    public int KernelSize => kernelSize;
    public int Stride => stride;
    public int Padding => padding;
    public DeviceGemmWeights Weights => weights;

    public void Dispose() => weights.Dispose();
}

/// <summary>
/// A GEMM kernel specialized for one <see cref="KernelSpec"/>: ILGPU compiled it (on CUDA: to PTX, then the driver to
/// SASS) with the spec's shape as constants during <see cref="IlgpuBackend.Specialize"/>, which <see cref="CompileTime"/> measures.
/// </summary>
public sealed record IlgpuKernel(KernelSpec Spec, TimeSpan CompileTime) : IKernel;
