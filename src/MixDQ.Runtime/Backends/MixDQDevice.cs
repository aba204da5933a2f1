namespace MixDQ.Runtime.Backends;

/// <summary>Which kind of device runs a model.</summary>
public enum MixDQDeviceKind
{
    /// <summary>The managed CPU backend.</summary>
    Cpu,
    /// <summary>A caller-supplied <see cref="IComputeBackend"/> (tests, the reference backend).</summary>
    Custom,
}

/// <summary>
/// Where a compiled model runs. Today only the CPU (and a caller-supplied backend) exist; a CUDA
/// device joins when the ILGPU backend lands, and <see cref="Default"/> will then prefer it.
/// </summary>
public sealed class MixDQDevice
{
    private MixDQDevice(MixDQDeviceKind kind, IComputeBackend? backend)
    {
        Kind = kind;
        Backend = backend;
    }

    /// <summary>The fast managed CPU backend.</summary>
    public static MixDQDevice Cpu { get; } = new(MixDQDeviceKind.Cpu, null);

    /// <summary>The best device available on this machine (the CPU until a GPU backend exists).</summary>
    public static MixDQDevice Default => Cpu;

    /// <summary>Runs every op on <paramref name="backend"/> (e.g. the reference backend in tests).</summary>
    public static MixDQDevice FromBackend(IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return new MixDQDevice(MixDQDeviceKind.Custom, backend);
    }

    public MixDQDeviceKind Kind { get; }

    /// <summary>The backend to hand to the pipeline; null means the default CPU backend.</summary>
    public IComputeBackend? Backend { get; }

    public override string ToString() => Kind == MixDQDeviceKind.Custom ? $"custom ({Backend!.Name})" : "cpu";
}
