using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// The CPU backend's op outputs: storage comes from released outputs of the same length before it is allocated,
/// so a generated forward pass, which releases every intermediate value at its last use, works in the graph's
/// peak working set instead of allocating ~600 fresh tensors per UNet call (large ones on the large-object heap).
/// A pass that releases nothing (the model graphs) simply allocates, as before.
/// </summary>
internal sealed class OutputPool
{
    private static readonly object Issued = new();
    private readonly object _gate = new();
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    // Arrays handed out and not yet back, held weakly: outputs nobody releases are collected as usual.
    private readonly ConditionalWeakTable<float[], object> _out = new();
    private long _reused, _pooledFloats;

    /// <summary>Outputs served from released storage so far.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>Elements held for reuse now.</summary>
    public long PooledElements => Interlocked.Read(ref _pooledFloats);

    /// <summary>An array of exactly <paramref name="length"/> elements, contents undefined.</summary>
    public float[] Rent(int length)
    {
        float[]? array = null;
        lock (_gate)
        {
            if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                array = stack.Pop();
                _pooledFloats -= length;
                _reused++;
            }
        }
        array ??= GC.AllocateUninitializedArray<float>(length);
        _out.AddOrUpdate(array, Issued);
        return array;
    }

    /// <summary>Takes back an array this pool handed out; false for any other array, or one already back.</summary>
    public bool Return(float[] array)
    {
        if (!_out.Remove(array)) return false;
        lock (_gate)
        {
            if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _pooledFloats += array.Length;
        }
        return true;
    }
}
