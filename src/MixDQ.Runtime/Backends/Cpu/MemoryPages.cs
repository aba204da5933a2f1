using System.Runtime.InteropServices;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// Faults in fresh memory before it is written. A model load writes gigabytes of packed weights into memory the
/// process has never touched, and one page fault per 4 KiB page costs far more than the write itself (on the
/// 2-core VM the benchmarks run on, 3.5 GB touched page by page took ~10 s of CPU time, several times what
/// faulting the same pages in with one system call takes). Linux 5.14+ faults a whole range in with
/// <c>madvise(MADV_POPULATE_WRITE)</c>; elsewhere (or when the kernel refuses) nothing is done and pages fault in
/// one by one as before.
/// </summary>
internal static unsafe partial class MemoryPages
{
    private const int MadvPopulateWrite = 23;

    /// <summary>Ranges below this are left to ordinary page faults (the system call would cost more than it saves).</summary>
    private const long MinBytes = 64 * 1024;

    private static volatile bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>Faults in, for writing, the whole pages inside [<paramref name="start"/>, <paramref name="start"/> + <paramref name="bytes"/>).</summary>
    public static void PopulateForWrite(void* start, long bytes)
    {
        if (s_unavailable || bytes < MinBytes) return;
        nuint page = (nuint)Environment.SystemPageSize;
        nuint first = ((nuint)start + page - 1) & ~(page - 1), end = ((nuint)start + (nuint)bytes) & ~(page - 1);
        if (end <= first) return;
        // EINVAL: a kernel before 5.14. Any failure only means the pages fault in on first write, so stop asking.
        if (Madvise((void*)first, end - first, MadvPopulateWrite) != 0) s_unavailable = true;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
