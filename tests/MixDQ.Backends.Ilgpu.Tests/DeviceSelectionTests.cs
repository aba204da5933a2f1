using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>How <see cref="MixDQDevice"/> finds the CUDA backend through <see cref="DeviceProviders"/>.</summary>
public class DeviceSelectionTests
{
    [Fact]
    public void The_cuda_provider_is_discovered_from_this_package()
    {
        Assert.IsType<CudaDeviceProvider>(DeviceProviders.Find("cuda"));
        Assert.Null(DeviceProviders.Find("tpu"));
    }

    [Fact]
    public void Default_is_cuda_exactly_when_a_gpu_is_present()
    {
        bool gpu = IlgpuAccelerators.IsCudaAvailable();
        Assert.Equal(gpu, MixDQDevice.IsCudaAvailable);
        Assert.Equal(gpu ? MixDQDeviceKind.Cuda : MixDQDeviceKind.Cpu, MixDQDevice.Default.Kind);
        Assert.Same(MixDQDevice.Cpu, MixDQDevice.Parse("cpu"));
        Assert.Same(MixDQDevice.Default, MixDQDevice.Parse("auto"));
        if (gpu)
            Assert.Equal("ilgpu-cuda", MixDQDevice.Parse("cuda").Backend!.Name);
        else
            Assert.Equal(ErrorCodes.DeviceUnavailable, Assert.Throws<MixDQException>(() => MixDQDevice.Parse("cuda")).Code);
    }

    [Fact]
    public void Unknown_device_names_are_MIXDQ050()
    {
        var e = Assert.Throws<MixDQException>(() => MixDQDevice.Parse("tpu"));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Contains("cpu, cuda or auto", e.Message);
    }

    [Fact]
    public void A_registered_provider_is_found_by_name_in_any_case()
    {
        var provider = new FixedProvider("test-device-" + Guid.NewGuid().ToString("N"));
        DeviceProviders.Register(provider);
        Assert.Same(provider, DeviceProviders.Find(provider.Name.ToUpperInvariant()));
    }

    private sealed class FixedProvider(string name) : IDeviceProvider
    {
        public string Name => name;
        public bool IsAvailable() => true;
        public IComputeBackend CreateBackend() => new MixDQ.Runtime.Backends.Reference.ReferenceBackend();
    }
}
