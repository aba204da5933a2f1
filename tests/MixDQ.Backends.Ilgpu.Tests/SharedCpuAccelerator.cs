using MixDQ.Backends.Ilgpu;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>
/// One ILGPU backend on the CPU accelerator for the whole test run (it spawns a thread per simulated GPU thread), used by
/// one test collection at a time.
/// </summary>
public static class SharedCpuAccelerator
{
    private static readonly Lazy<IlgpuBackend> Instance = new(IlgpuBackend.CreateCpuAccelerator);

    public static IlgpuBackend Backend => Instance.Value;
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuAcceleratorCollection
{
    public const string Name = "ILGPU CPU accelerator";
}
