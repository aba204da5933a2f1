using ILGPU;
using ILGPU.Runtime;
using MixDQ.Backends.Ilgpu.Kernels;

namespace MixDQ.Backends.Ilgpu;

/// <summary>The shape of one implicit-GEMM call: a convolution, or a linear layer seen as a 1×1 convolution of 1×1 images.</summary>
internal readonly record struct GemmGeometry(
    int Batch, int InChannels, int Height, int Width, int KernelSize, int Stride, int Padding, int OutHeight, int OutWidth, int OutChannels)
{
    public int Rows => Batch * OutHeight * OutWidth;

    public int Depth => InChannels * KernelSize * KernelSize;

    public static GemmGeometry Linear(int rows, int inFeatures, int outFeatures) => new(rows, inFeatures, 1, 1, 1, 1, 0, 1, 1, outFeatures);

    public static GemmGeometry Conv(int batch, int inChannels, int height, int width, int kernelSize, int stride, int padding, int outChannels) =>
        new(batch, inChannels, height, width, kernelSize, stride, padding,
            (height + 2 * padding - kernelSize) / stride + 1, (width + 2 * padding - kernelSize) / stride + 1, outChannels);
}

/// <summary>The loaded implicit-GEMM kernel for one kind of weights; ILGPU specializes it per distinct geometry.</summary>
internal sealed class GemmLauncher<TWeights>(Accelerator accelerator) where TWeights : struct, IGemmWeights
{
    private readonly Action<KernelConfig, ArrayView<float>, TWeights, ArrayView<float>, ArrayView<float>, int,
        SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>,
        SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>> _launch =
        accelerator.LoadStreamKernel<ArrayView<float>, TWeights, ArrayView<float>, ArrayView<float>, int,
            SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>,
            SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>, SpecializedValue<int>>(ImplicitGemmKernel.Run);

    public void Launch(GemmGeometry g, ArrayView<float> x, TWeights w, ArrayView<float> bias, ArrayView<float> y) =>
        _launch(ImplicitGemmKernel.Config(g.Rows, g.OutChannels), x, w, bias, y, g.Batch,
            SpecializedValue.New(g.InChannels), SpecializedValue.New(g.Height), SpecializedValue.New(g.Width),
            SpecializedValue.New(g.KernelSize), SpecializedValue.New(g.Stride), SpecializedValue.New(g.Padding),
            SpecializedValue.New(g.OutHeight), SpecializedValue.New(g.OutWidth), SpecializedValue.New(g.OutChannels));
}

/// <summary>A layer's weights and bias on the device, uploaded once at prepare, in the form its precision asks for.</summary>
internal abstract class DeviceGemmWeights : IDisposable
{
    public abstract long Bytes { get; }

    /// <summary>The FP row written at token 0 of every sequence (BOS-aware integer layers), else null.</summary>
    public virtual DeviceBuffer<float>? Bos => null;

    public abstract void Run(GemmGeometry g, ArrayView<float> x, ArrayView<float> y);

    public abstract void Dispose();

    /// <summary>Uploads [out, in·k·k] weights (FP16 when <paramref name="fp16"/>) and the bias (zeros when absent).</summary>
    public static DeviceGemmWeights Upload(IlgpuKernelSet kernels, DeviceMemory memory, float[] weight, float[]? bias, int outChannels, bool fp16) =>
        fp16
            ? new DenseGemmWeights<Fp16Weight>(kernels.GemmFp16, memory.Upload(Array.ConvertAll(weight, v => new Fp16Weight(v))), memory.Upload(bias ?? new float[outChannels]))
            : new DenseGemmWeights<Fp32Weight>(kernels.GemmFp32, memory.Upload(Array.ConvertAll(weight, v => new Fp32Weight(v))), memory.Upload(bias ?? new float[outChannels]));
}

internal sealed class DenseGemmWeights<TElement>(GemmLauncher<DenseWeights<TElement>> launcher, DeviceBuffer<TElement> weight, DeviceBuffer<float> bias)
    : DeviceGemmWeights where TElement : unmanaged, IWeightElement
{
    public override long Bytes => weight.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<TElement>() + bias.Length * sizeof(float);

    public override void Run(GemmGeometry g, ArrayView<float> x, ArrayView<float> y) =>
        launcher.Launch(g, x, new DenseWeights<TElement> { Values = weight.View }, bias.View, y);

    public override void Dispose()
    {
        weight.Dispose();
        bias.Dispose();
    }
}
