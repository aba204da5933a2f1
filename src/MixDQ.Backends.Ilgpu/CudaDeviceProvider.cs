using MixDQ.Runtime.Backends;

namespace MixDQ.Backends.Ilgpu;

/// <summary>
/// The <c>cuda</c> device for <see cref="MixDQDevice"/>: found by name through <see cref="DeviceProviders"/> when an
/// application carries this package, so the runtime itself never references ILGPU.
/// </summary>
public sealed class CudaDeviceProvider : IDeviceProvider
{
    public string Name => "cuda";

    public bool IsAvailable() => IlgpuAccelerators.IsCudaAvailable();

    public IComputeBackend CreateBackend() => IlgpuBackend.CreateCuda();
}
