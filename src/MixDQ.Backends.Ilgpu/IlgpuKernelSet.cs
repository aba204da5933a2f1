using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using MixDQ.Backends.Ilgpu.Kernels;

namespace MixDQ.Backends.Ilgpu;

/// <summary>Every kernel of the backend, loaded (and, but for the per-shape GEMMs, JIT-compiled) once per accelerator.</summary>
internal sealed class IlgpuKernelSet
{
    public IlgpuKernelSet(Accelerator accelerator)
    {
        var clock = Stopwatch.StartNew();
        GemmFp32 = new GemmLauncher<Fp32Weight>(accelerator);
        GemmFp16 = new GemmLauncher<Fp16Weight>(accelerator);
        W8A8Linear = accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>,
            ArrayView<float>, int, SpecializedValue<int>, SpecializedValue<int>, float, int>(IntegerGemmKernel.W8A8Linear);
        QuantizeActivations = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, int, float, int>(IntegerGemmKernel.QuantizeActivations);
        Norm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float, int>(NormKernel.Run);
        Attention = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float, int>(AttentionKernel.Run);
        Activate = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.Activate);
        Geglu = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.Geglu);
        Add = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ElementwiseKernels.Add);
        AddChannelBias = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.AddChannelBias);
        Affine = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, float>(ElementwiseKernels.Affine);
        Upsample = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int>(ElementwiseKernels.UpsampleNearest);
        Concat = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Concat);
        Transpose = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.Transpose);
        Embedding = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(ElementwiseKernels.Embedding);
        LoadTime = clock.Elapsed;
    }

    /// <summary>Wall time of loading (on CUDA: compiling) the shape-independent kernels.</summary>
    public TimeSpan LoadTime { get; }

    public GemmLauncher<Fp32Weight> GemmFp32 { get; }
    public GemmLauncher<Fp16Weight> GemmFp16 { get; }
    public Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>,
        ArrayView<float>, int, SpecializedValue<int>, SpecializedValue<int>, float, int> W8A8Linear { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<int>, int, float, int> QuantizeActivations { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float, int> Norm { get; }
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, float, int> Attention { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> Activate { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> Geglu { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Add { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> AddChannelBias { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, float, float> Affine { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int> Upsample { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> Concat { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> Transpose { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> Embedding { get; }
}
