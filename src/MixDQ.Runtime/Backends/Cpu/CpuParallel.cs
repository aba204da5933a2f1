namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>Runs independent work items on at most <see cref="Threads"/> threads.</summary>
internal sealed class CpuParallel
{
    private readonly ParallelOptions _options;

    public CpuParallel(int threads)
    {
        Threads = threads;
        _options = new ParallelOptions { MaxDegreeOfParallelism = threads };
    }

    public int Threads { get; }

    /// <summary>Calls <paramref name="body"/> for 0 ≤ i &lt; <paramref name="count"/>, inline when there is one item or one thread.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, _options, body);
    }

    /// <summary>
    /// Splits [0, <paramref name="length"/>) into contiguous chunks of at least <paramref name="minChunk"/>
    /// elements (a few per thread, for balance) and calls <paramref name="body"/>(start, end) for each.
    /// </summary>
    public void ForRange(long length, long minChunk, Action<long, long> body)
    {
        if (length <= 0) return;
        long chunks = Math.Clamp(length / Math.Max(1, minChunk), 1, Threads * 4L);
        if (chunks == 1 || Threads == 1)
        {
            body(0, length);
            return;
        }
        long size = (length + chunks - 1) / chunks;
        For((int)chunks, c =>
        {
            long start = c * size, end = Math.Min(length, start + size);
            if (start < end) body(start, end);
        });
    }
}
