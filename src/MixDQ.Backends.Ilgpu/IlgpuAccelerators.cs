using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace MixDQ.Backends.Ilgpu;

/// <summary>Which ILGPU accelerator a backend runs on.</summary>
public enum IlgpuAcceleratorKind
{
    /// <summary>An NVIDIA GPU through the CUDA driver (the product's GPU path).</summary>
    Cuda,
    /// <summary>ILGPU's CPU accelerator: every GPU thread an OS thread, for correctness tests at small shapes only.</summary>
    Cpu,
}

/// <summary>Creates the ILGPU context and accelerator a backend owns.</summary>
public static class IlgpuAccelerators
{
    /// <summary>
    /// The CPU accelerator's device: warps of 4, 64 warps (256 threads, the GEMM's group) on one multiprocessor, so the
    /// kernels' group sizes fit and only 256 OS threads are spawned.
    /// </summary>
    private static CPUDevice TestCpuDevice => new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 64, numMultiprocessors: 1);

    /// <summary>A CPU device with CUDA's 32-lane warps (8 per group of 256), for kernels that shuffle across a whole warp.</summary>
    private static CPUDevice WarpOf32CpuDevice => new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);

    /// <summary>A CPU accelerator whose warps have 32 lanes (tests of warp-level fragment code).</summary>
    internal static (Context Context, Accelerator Accelerator) CreateCpuWithCudaWarps()
    {
        var cpu = Context.Create(b => b.CPU(WarpOf32CpuDevice).EnableAlgorithms());
        return (cpu, cpu.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel));
    }

    /// <summary>True when the CUDA driver is loadable and reports at least one device.</summary>
    public static bool IsCudaAvailable()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or CudaException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>A context and accelerator of <paramref name="kind"/>; null for CUDA when no CUDA device is present.</summary>
    public static (Context Context, Accelerator Accelerator)? TryCreate(IlgpuAcceleratorKind kind)
    {
        if (kind == IlgpuAcceleratorKind.Cpu)
        {
            var cpu = Context.Create(b => b.CPU(TestCpuDevice).EnableAlgorithms());
            return (cpu, cpu.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel));
        }
        if (!IsCudaAvailable()) return null;
        var context = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        return (context, context.CreateCudaAccelerator(0));
    }
}
