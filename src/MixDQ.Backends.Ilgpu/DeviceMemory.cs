using ILGPU;
using ILGPU.Runtime;

namespace MixDQ.Backends.Ilgpu;

/// <summary>
/// The backend's device allocations, metered: <see cref="PeakBytes"/> is the most this backend held at once (weights and
/// the transient buffers of the op in flight), what gpu-check reports as peak device memory.
/// </summary>
internal sealed class DeviceMemory(Accelerator accelerator)
{
    private long _liveBytes;
    private long _peakBytes;

    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    public long PeakBytes => Interlocked.Read(ref _peakBytes);

    public void ResetPeak() => Interlocked.Exchange(ref _peakBytes, LiveBytes);

    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        var buffer = accelerator.Allocate1D<T>(Math.Max(1, length)); // ILGPU refuses empty buffers; views stay the requested length
        return Track(buffer, length);
    }

    public DeviceBuffer<T> Upload<T>(T[] data) where T : unmanaged
    {
        if (data.Length == 0) return Allocate<T>(0);
        return Track(accelerator.Allocate1D(data), data.Length);
    }

    private DeviceBuffer<T> Track<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long length) where T : unmanaged
    {
        long now = Interlocked.Add(ref _liveBytes, buffer.LengthInBytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, now, peak) != peak)
        {
        }
        return new DeviceBuffer<T>(buffer, length, this);
    }

    internal void Released(long bytes) => Interlocked.Add(ref _liveBytes, -bytes);
}

/// <summary>One metered device buffer; <see cref="View"/> has the requested length (possibly 0).</summary>
internal sealed class DeviceBuffer<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long length, DeviceMemory owner) : IDisposable
    where T : unmanaged
{
    private bool _disposed;

    public ArrayView<T> View => buffer.View.SubView(0, length);

    public long Length => length;

    public T[] Download()
    {
        var host = new T[length];
        if (length > 0) buffer.View.SubView(0, length).CopyToCPU(host);
        return host;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        owner.Released(buffer.LengthInBytes);
        buffer.Dispose();
    }
}
