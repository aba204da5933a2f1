using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using MixDQ.Backends.Ilgpu.Kernels;

namespace MixDQ.Backends.Ilgpu;

/// <summary>Every kernel of the backend, loaded (and, but for the per-shape GEMMs, JIT-compiled) once per accelerator.</summary>
internal sealed class IlgpuKernelSet
{
    /// <param name="accelerator">Where the kernels load.</param>
    /// <param name="allowTensorCores">False keeps the dp4a path on a device that has mma.sync (gpu-check compares both).</param>
    /// <param name="emulateTensorCores">Tests only: run the tensor-core path's fragment algebra by warp shuffles on a non-CUDA accelerator.</param>
    public IlgpuKernelSet(Accelerator accelerator, bool allowTensorCores = true, bool emulateTensorCores = false)
    {
        var clock = Stopwatch.StartNew();
        _accelerator = accelerator;
        GemmFp32 = new GemmLauncher<DenseWeights<Fp32Weight>>(accelerator);
        GemmFp16 = new GemmLauncher<DenseWeights<Fp16Weight>>(accelerator);
        GemmPacked8 = new GemmLauncher<PackedWeights<Width8>>(accelerator);
        GemmPacked4 = new GemmLauncher<PackedWeights<Width4>>(accelerator);
        GemmPacked2 = new GemmLauncher<PackedWeights<Width2>>(accelerator);
        TensorCores = (allowTensorCores && UsesTensorCores(accelerator)) || emulateTensorCores;
        _integer8 = TensorCores ? IntegerGemmLauncher.Load<Width8, TensorCorePath>(accelerator) : IntegerGemmLauncher.Load<Width8, Dp4aPath>(accelerator);
        _integer4 = TensorCores ? IntegerGemmLauncher.Load<Width4, TensorCorePath>(accelerator) : IntegerGemmLauncher.Load<Width4, Dp4aPath>(accelerator);
        _integer2 = TensorCores ? IntegerGemmLauncher.Load<Width2, TensorCorePath>(accelerator) : IntegerGemmLauncher.Load<Width2, Dp4aPath>(accelerator);
        QuantizeInput = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<byte>, int, int, InputGrids, int>(IntegerGemmKernel.QuantizeInput);
        BosRows = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ElementwiseKernels.BosRows);
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

    private readonly Accelerator _accelerator;
    private readonly IntegerGemmLauncher _integer8, _integer4, _integer2;

    /// <summary>
    /// True when the integer GEMMs use mma.sync INT8 tensor-core tiles: a CUDA device of compute capability 8.0 or newer
    /// (the instruction does not exist below sm_80); dp4a otherwise.
    /// </summary>
    public bool TensorCores { get; }

    private static bool UsesTensorCores(Accelerator accelerator) =>
        accelerator is CudaAccelerator cuda && cuda.Architecture is { } arch && arch.Major >= 8;

    public void Synchronize() => _accelerator.Synchronize();

    public GemmLauncher<DenseWeights<Fp32Weight>> GemmFp32 { get; }
    public GemmLauncher<DenseWeights<Fp16Weight>> GemmFp16 { get; }
    public GemmLauncher<PackedWeights<Width8>> GemmPacked8 { get; }
    public GemmLauncher<PackedWeights<Width4>> GemmPacked4 { get; }
    public GemmLauncher<PackedWeights<Width2>> GemmPacked2 { get; }

    /// <summary>The integer GEMM (quantized inputs) for <paramref name="weightBits"/>-bit stored weights.</summary>
    public IntegerGemmLauncher IntegerGemm(int weightBits) => weightBits switch { 8 => _integer8, 4 => _integer4, _ => _integer2 };

    public Action<Index1D, ArrayView<float>, ArrayView<byte>, int, int, InputGrids, int> QuantizeInput { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> BosRows { get; }
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
