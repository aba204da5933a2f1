using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixDQ.Bench;

/// <summary>
/// The FP32 FMA peak of this machine, three ways: the formula with the clock /proc/cpuinfo reports,
/// the formula with the clock measured by a dependent integer-add chain (one add per cycle), and the
/// throughput of independent FMAs actually achieved by all threads at once (which exposes SMT
/// siblings sharing FMA units, or throttling).
/// </summary>
internal static class MachinePeak
{
    /// <summary>FP32 lanes of the widest FMA this process can issue, 0 when there is no FMA.</summary>
    public static int VectorLanes => Avx512F.IsSupported ? 16 : Fma.IsSupported ? 8 : 0;

    /// <summary>"cpu MHz" of /proc/cpuinfo (the nominal clock under most hypervisors), in GHz.</summary>
    public static double? CpuInfoGhz()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal));
            return line is null ? null : double.Parse(line.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1000;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The core clock in GHz: a chain of dependent adds retires one add per cycle. Best of several tries.</summary>
    public static double MeasuredGhz()
    {
        double best = 0;
        for (int i = 0; i < 7; i++)
        {
            const long iterations = 100_000_000;
            var sw = Stopwatch.StartNew();
            AddChain(iterations);
            best = Math.Max(best, iterations * 8 / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    /// <summary>Achieved FMA GFLOP/s with <paramref name="threads"/> threads each running independent FMA chains; best of several tries.</summary>
    public static double MeasuredFmaGflops(int threads, long iterations = 20_000_000, int rounds = 5)
    {
        if (VectorLanes == 0) return 0;
        double best = 0;
        for (int round = 0; round < rounds; round++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
            {
                if (Avx512F.IsSupported) Fma512(iterations); else Fma256(iterations);
            });
            double flops = (double)threads * iterations * 12 * VectorLanes * 2;
            best = Math.Max(best, flops / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    // No calls inside these loops: a call would make the JIT keep the vectors in memory.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long AddChain(long iterations)
    {
        long a = 1, b = 2;
        for (long i = 0; i < iterations; i++)
        {
            a += b; b += a; a += b; b += a; a += b; b += a; a += b; b += a;
        }
        return a ^ b;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(long iterations)
    {
        var a = Vector512.Create(1.0000001f);
        var b = Vector512.Create(0.9999999f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(a, b, c0); c1 = Avx512F.FusedMultiplyAdd(a, b, c1);
            c2 = Avx512F.FusedMultiplyAdd(a, b, c2); c3 = Avx512F.FusedMultiplyAdd(a, b, c3);
            c4 = Avx512F.FusedMultiplyAdd(a, b, c4); c5 = Avx512F.FusedMultiplyAdd(a, b, c5);
            c6 = Avx512F.FusedMultiplyAdd(a, b, c6); c7 = Avx512F.FusedMultiplyAdd(a, b, c7);
            c8 = Avx512F.FusedMultiplyAdd(a, b, c8); c9 = Avx512F.FusedMultiplyAdd(a, b, c9);
            c10 = Avx512F.FusedMultiplyAdd(a, b, c10); c11 = Avx512F.FusedMultiplyAdd(a, b, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma256(long iterations)
    {
        var a = Vector256.Create(1.0000001f);
        var b = Vector256.Create(0.9999999f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(a, b, c0); c1 = Fma.MultiplyAdd(a, b, c1); c2 = Fma.MultiplyAdd(a, b, c2);
            c3 = Fma.MultiplyAdd(a, b, c3); c4 = Fma.MultiplyAdd(a, b, c4); c5 = Fma.MultiplyAdd(a, b, c5);
            c6 = Fma.MultiplyAdd(a, b, c6); c7 = Fma.MultiplyAdd(a, b, c7); c8 = Fma.MultiplyAdd(a, b, c8);
            c9 = Fma.MultiplyAdd(a, b, c9); c10 = Fma.MultiplyAdd(a, b, c10); c11 = Fma.MultiplyAdd(a, b, c11);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }
}
