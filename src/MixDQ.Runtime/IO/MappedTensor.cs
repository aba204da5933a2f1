using System.Runtime.InteropServices;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.IO;

/// <summary>
/// A tensor's stored bytes used in place, inside a file's read-only mapping, for as long as this object is reachable:
/// it holds a reference on the mapping, so disposing the file defers the unmap until every such tensor is released
/// (by <see cref="Dispose"/> or, when its user is collected, the finalizer). Reading a page maps the file's page-cache
/// page; nothing is copied and no anonymous memory is used.
/// </summary>
internal sealed unsafe class MappedTensor : IDisposable
{
    private SafeHandle? _mapping;

    public MappedTensor(SafeHandle mapping, byte* pointer, long byteLength, TensorInfo info)
    {
        bool added = false;
        mapping.DangerousAddRef(ref added);
        _mapping = mapping;
        Pointer = pointer;
        ByteLength = byteLength;
        Info = info;
    }

    public byte* Pointer { get; }

    public long ByteLength { get; }

    public TensorInfo Info { get; }

    ~MappedTensor() => Release();

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release() => Interlocked.Exchange(ref _mapping, null)?.DangerousRelease();
}

/// <summary>A tensor source whose tensors can be used in place (<see cref="MappedTensor"/>).</summary>
internal interface IMappedTensorSource
{
    /// <summary>The tensor's bytes in the mapping, or null when it cannot be mapped (unknown name, a source without a mapping).</summary>
    MappedTensor? TryMap(string name);
}
