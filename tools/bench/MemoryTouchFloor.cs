using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace MixDQ.Bench;

/// <summary>
/// What this machine charges for memory a load has never touched, the floor under any loader: writing fresh anonymous
/// memory (what FP32 panels packed at load need) and first reading a mapped file's page-cache pages (what weights used
/// in place from an artifact need). On the shared VM the benchmarks ran on, both cost far more than copying the bytes
/// (each first touch of a 4 KiB page is a fault the hypervisor also handles), so they bound the load times there.
/// </summary>
internal static unsafe class MemoryTouchFloor
{
    private const double GiB = 1024.0 * 1024 * 1024;

    /// <summary>Seconds per GiB to write one long into every page of fresh anonymous memory (measured on 512 MiB).</summary>
    public static double FreshAnonymousSecondsPerGiB()
    {
        const long bytes = 512L << 20;
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        try
        {
            var sw = Stopwatch.StartNew();
            for (long i = 0; i < bytes; i += 4096) *(long*)((byte*)p + i) = i;
            return sw.Elapsed.TotalSeconds * GiB / bytes;
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    /// <summary>Seconds per GiB to read one byte of every page of <paramref name="file"/> through a fresh read-only mapping.</summary>
    public static double MappedFirstTouchSecondsPerGiB(string file)
    {
        long length = new FileInfo(file).Length;
        using var map = MemoryMappedFile.CreateFromFile(file, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        try
        {
            var sw = Stopwatch.StartNew();
            long sum = 0;
            for (long i = 0; i < length; i += 4096) sum += p[i];
            GC.KeepAlive(sum);
            return sw.Elapsed.TotalSeconds * GiB / length;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }
}
