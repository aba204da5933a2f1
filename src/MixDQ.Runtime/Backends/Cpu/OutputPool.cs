using System.Runtime.CompilerServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// The CPU backend's op outputs: storage comes from released outputs of the same length before it is allocated,
/// so a generated forward pass, which releases every intermediate value at its last use, reuses most of its
/// storage instead of allocating ~600 fresh tensors per UNet call (large ones on the large-object heap).
/// Released storage is held weakly: reused while it is alive, reclaimed by the GC like any garbage when memory
/// is wanted, so the pool never keeps a model's activations resident between images. A pass that releases
/// nothing (the model graphs) allocates as before, plus one weak registration per output.
/// </summary>
internal sealed class OutputPool
{
    private static readonly object Issued = new();
    private readonly object _gate = new();
    private readonly Dictionary<int, Stack<WeakReference<float[]>>> _free = [];
    // Arrays handed out and not yet back, held weakly: outputs nobody releases are collected as usual.
    private readonly ConditionalWeakTable<float[], object> _out = new();
    private long _reused;
    private long _live;
    private long _peak;

    /// <summary>Outputs served from released storage so far.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>Bytes of outputs handed out and not handed back (an output nobody releases counts until a reset).</summary>
    public long LiveBytes => Interlocked.Read(ref _live);

    /// <summary>The largest <see cref="LiveBytes"/> since the last <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>Starts a new peak (and forgets outputs never handed back) at zero live bytes.</summary>
    public void ResetPeak()
    {
        lock (_gate)
        {
            _live = 0;
            _peak = 0;
        }
    }

    /// <summary>An array of exactly <paramref name="length"/> elements, contents undefined.</summary>
    public float[] Rent(int length)
    {
        float[]? array = null;
        lock (_gate)
        {
            if (_free.TryGetValue(length, out var stack))
            {
                while (array is null && stack.Count > 0)
                    if (stack.Pop().TryGetTarget(out var alive)) array = alive;
                if (array is not null) _reused++;
            }
            _live += 4L * length;
            _peak = Math.Max(_peak, _live);
        }
        array ??= GC.AllocateUninitializedArray<float>(length);
        _out.AddOrUpdate(array, Issued);
        return array;
    }

    /// <summary>
    /// Takes back an array this pool handed out; false for any other array, or one already back and not handed out
    /// again since (a second release after the storage was reused cannot be told from a first).
    /// </summary>
    public bool Return(float[] array)
    {
        if (!_out.Remove(array)) return false;
        lock (_gate)
        {
            // After a reset, an output handed out before it may come back: never below zero.
            _live = Math.Max(0, _live - 4L * array.Length);
            if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<WeakReference<float[]>>();
            stack.Push(new WeakReference<float[]>(array));
        }
        return true;
    }
}
