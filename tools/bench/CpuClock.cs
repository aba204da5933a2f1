using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MixDQ.Bench;

/// <summary>
/// Milliseconds of CPU time this process used (all threads; Linux clock_gettime(CLOCK_PROCESS_CPUTIME_ID), elsewhere
/// <see cref="Process.TotalProcessorTime"/>). On a machine shared with heavy jobs, wall time mostly measures how long
/// the scheduler kept our threads waiting; CPU time measures the work a kernel did (`--cpu-time`).
/// </summary>
internal static partial class CpuClock
{
    private const int ClockProcessCpuTime = 2;

    public static double Milliseconds()
    {
        if (OperatingSystem.IsLinux() && clock_gettime(ClockProcessCpuTime, out var ts) == 0)
            return ts.Seconds * 1e3 + ts.Nanoseconds / 1e6;
        return Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clock, out TimeSpec time);
}
