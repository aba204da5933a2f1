using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Backends;

/// <summary>Which kind of device runs a model.</summary>
public enum MixDQDeviceKind
{
    /// <summary>The managed CPU backend.</summary>
    Cpu,
    /// <summary>A caller-supplied <see cref="IComputeBackend"/> (tests, the reference backend).</summary>
    Custom,
    /// <summary>An NVIDIA GPU, through the backend package that provides <c>cuda</c> (MixDQ.Backends.Ilgpu).</summary>
    Cuda,
}

/// <summary>
/// Where a compiled model runs: the CPU, a CUDA GPU (when an application carries the ILGPU backend package and a GPU is
/// present; see <see cref="DeviceProviders"/>), or a caller-supplied backend. <see cref="Default"/> prefers CUDA.
/// </summary>
public sealed class MixDQDevice
{
    private readonly Lazy<IComputeBackend>? _provided;
    private readonly IComputeBackend? _custom;

    private MixDQDevice(MixDQDeviceKind kind, IComputeBackend? custom, IDeviceProvider? provider)
    {
        Kind = kind;
        _custom = custom;
        if (provider is not null) _provided = new Lazy<IComputeBackend>(provider.CreateBackend);
    }

    /// <summary>The fast managed CPU backend.</summary>
    public static MixDQDevice Cpu { get; } = new(MixDQDeviceKind.Cpu, null, null);

    private static readonly Lazy<MixDQDevice?> CudaDevice = new(() =>
    {
        var provider = DeviceProviders.Find("cuda");
        return provider is not null && provider.IsAvailable() ? new MixDQDevice(MixDQDeviceKind.Cuda, null, provider) : null;
    });

    /// <summary>The first CUDA GPU (one backend per process, created at first use); MIXDQ057 when there is none.</summary>
    public static MixDQDevice Cuda => CudaDevice.Value ?? throw new MixDQException(ErrorCodes.DeviceUnavailable,
        DeviceProviders.Find("cuda") is null
            ? "device 'cuda' needs the MixDQ.Backends.Ilgpu package in the application"
            : "device 'cuda': no CUDA GPU found (is the NVIDIA driver's libcuda.so on the library path?)");

    /// <summary>True when <see cref="Cuda"/> is usable here.</summary>
    public static bool IsCudaAvailable => CudaDevice.Value is not null;

    /// <summary>The best device on this machine: CUDA when available, else the CPU.</summary>
    public static MixDQDevice Default => CudaDevice.Value ?? Cpu;

    /// <summary>A device by name: <c>cpu</c>, <c>cuda</c> or <c>auto</c> (<see cref="Default"/>); MIXDQ050 for other names.</summary>
    public static MixDQDevice Parse(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "cuda" or "gpu" => Cuda,
        "auto" or "" => Default,
        _ => throw new MixDQException(ErrorCodes.InvalidArgument, $"unknown device '{name}' (expected cpu, cuda or auto)", item: "device"),
    };

    /// <summary>Runs every op on <paramref name="backend"/> (e.g. the reference backend in tests).</summary>
    public static MixDQDevice FromBackend(IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return new MixDQDevice(MixDQDeviceKind.Custom, backend, null);
    }

    public MixDQDeviceKind Kind { get; }

    /// <summary>The backend to hand to the pipeline; null means the default CPU backend.</summary>
    public IComputeBackend? Backend => _custom ?? _provided?.Value;

    public override string ToString() => Kind switch
    {
        MixDQDeviceKind.Custom => $"custom ({_custom!.Name})",
        MixDQDeviceKind.Cuda => "cuda",
        _ => "cpu",
    };
}
