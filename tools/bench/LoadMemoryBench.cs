using System.Diagnostics;
using System.Text.Json;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// Peak memory of <see cref="DiffusionPipeline.Load"/>: each measurement runs in a fresh child process
/// (this program with <c>load-memory-child</c>), which loads the folder on the CPU backend and reports
/// its own <c>/proc/self/status</c> and managed heap. Without <c>--model</c>, a synthetic SD-Turbo-width
/// folder is written twice (F32 and F16 files) to a temporary folder and measured.
/// </summary>
internal static class LoadMemoryBench
{
    /// <summary>The target: peak resident memory at most this many times the FP32 weight bytes.</summary>
    public const double Target = 1.2;

    private const double MB = 1024.0 * 1024.0;

    public static int Run(BenchArgs args)
    {
        if (!ProcStatus.Available)
        {
            Console.Error.WriteLine("load-memory reads /proc/self/status and runs on Linux only");
            return 2;
        }
        int runs = args.Int("--runs") ?? 3;
        var cases = new List<(string Label, string Dir)>();
        string? temp = null;
        try
        {
            if (args.String("--model") is { } model)
            {
                string dir = BenchPaths.Resolve(model);
                cases.Add((Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), dir));
            }
            else
            {
                temp = Path.Combine(Path.GetTempPath(), "mixdq-bench-" + Guid.NewGuid().ToString("N")[..8]);
                foreach (var dtype in new[] { DType.F32, DType.F16 })
                {
                    string dir = Path.Combine(temp, dtype.ToString().ToLowerInvariant());
                    var sw = Stopwatch.StartNew();
                    string sizes = SyntheticModel.Write(dir, dtype);
                    Console.WriteLine($"wrote synthetic {dtype} model to {dir} in {sw.Elapsed.TotalSeconds:F1} s ({sizes})");
                    cases.Add(($"synthetic {dtype}", dir));
                }
                // Drop the writer's buffers before the children run: this process shares the machine with them.
                GC.Collect();
            }

            Console.WriteLine($"DiffusionPipeline.Load, CPU backend ({args.Threads} threads), one fresh process per run; target: VmHWM <= {Target} x FP32 weight bytes");
            Console.WriteLine("VmHWM: peak resident set; base: resident set before Load (the .NET runtime); RssFile: touched pages of mapped files; heap: GC heap right after Load / live after a full GC");
            bool allMet = true;
            foreach (var (label, dir) in cases)
            {
                var w = WeightBytes.Measure(dir);
                Console.WriteLine();
                Console.WriteLine($"{label}: {dir}");
                Console.WriteLine($"  weights: {w.HeldFp32 / MB:F1} MB FP32 held by the runtime, {w.FileFp32 / MB:F1} MB FP32 in the files, {w.OnDisk / MB:F1} MB on disk");
                Console.WriteLine($"  {"run",3} {"load s",7} {"cpu s",6} {"VmHWM MB",9} {"x w",6} {"base MB",8} {"(HWM-base)/w",13} {"VmRSS MB",9} {"RssAnon",8} {"RssFile",8} {"heap MB",8} {"live MB",8} {"gen2",5}");
                for (int r = 1; r <= runs; r++)
                {
                    if (MeasureInChild(args.Threads, "--model", dir) is not { } m) return 1;
                    double ratio = m.VmHwm / (double)w.HeldFp32;
                    allMet &= ratio <= Target;
                    Console.WriteLine($"  {r,3} {m.LoadMs / 1000,7:F2} {m.CpuMs / 1000,6:F2} {m.VmHwm / MB,9:F1} {ratio,6:F3} {m.BaseRss / MB,8:F1} {(m.VmHwm - m.BaseRss) / (double)w.HeldFp32,13:F3} " +
                                      $"{m.VmRss / MB,9:F1} {m.RssAnon / MB,8:F1} {m.RssFile / MB,8:F1} {m.HeapAfterLoad / MB,8:F1} {m.HeapLive / MB,8:F1} {m.Gen2Collections,5}");
                }
            }
            Console.WriteLine();
            Console.WriteLine(allMet ? $"every run met the target (VmHWM <= {Target} x weights)" : $"some runs MISSED the target (VmHWM <= {Target} x weights)");
            return 0;
        }
        finally
        {
            if (temp is not null) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>One load in a fresh child process (<see cref="Child"/>); null (after printing why) when it failed.</summary>
    public static LoadMeasurement? MeasureInChild(int threads, params string[] source)
    {
        var child = ChildProcess.RunSelf(["load-memory-child", .. source, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (child.ExitCode != 0)
        {
            Console.Error.WriteLine($"  the load failed (exit {child.ExitCode}):\n{child.StdErr}{child.StdOut}");
            return null;
        }
        return JsonSerializer.Deserialize<LoadMeasurement>(child.StdOut.Trim().Split('\n')[^1])
               ?? throw new InvalidOperationException("the child printed no measurement");
    }

    /// <summary>
    /// The child: load a folder (<c>--model DIR</c>) or a compiled artifact (<c>--artifact FILE --plan-hash HASH</c>, an
    /// FP32 plan) on the CPU backend, measure, print one JSON line.
    /// </summary>
    public static int Child(BenchArgs args)
    {
        string? dir = args.String("--model");
        string? artifact = args.String("--artifact");
        if ((dir is null) == (artifact is null))
            throw new BenchUsageException("load-memory-child needs --model DIR or --artifact FILE --plan-hash HASH");
        var before = ProcStatus.Read();
        int gen2Before = GC.CollectionCount(2);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        using var pipeline = dir is not null
            ? DiffusionPipeline.Load(dir, new PipelineLoadOptions { Backend = new CpuBackend(args.Threads) })
            : CompiledModelLoader.LoadPipeline(artifact!, args.String("--plan-hash") ?? throw new BenchUsageException("--artifact needs --plan-hash HASH"),
                _ => LayerPrecision.Fp32, MixDQDevice.FromBackend(new CpuBackend(args.Threads)));
        double loadMs = sw.Elapsed.TotalMilliseconds;
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
        var after = ProcStatus.Read();
        long heapAfterLoad = GC.GetTotalMemory(forceFullCollection: false);
        int gen2 = GC.CollectionCount(2) - gen2Before;
        long heapLive = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(pipeline);
        var m = new LoadMeasurement(loadMs, cpuMs, after.VmHwm, after.VmRss, after.RssAnon, after.RssFile, before.VmRss, heapAfterLoad, heapLive, gen2);
        if (args.Flag("--images")) m = WithImages(m, pipeline);
        Console.WriteLine(JsonSerializer.Serialize(m));
        return 0;
    }

    /// <summary>Times two small images after the load (the first one reads every UNet weight for the first time).</summary>
    private static LoadMeasurement WithImages(LoadMeasurement m, DiffusionPipeline pipeline)
    {
        var options = new GenerationOptions { Seed = 1, Steps = 1, Width = 64, Height = 64 };
        var sw = Stopwatch.StartNew();
        pipeline.Generate("a photo of a cat", options);
        double first = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        pipeline.Generate("a photo of a cat", options);
        double second = sw.Elapsed.TotalMilliseconds;
        return m with { FirstImageMs = first, SecondImageMs = second, VmHwmAfterImages = ProcStatus.Read().VmHwm };
    }
}

/// <summary>
/// What one child reports (bytes, milliseconds; CpuMs: user + system time of all its threads during the load). With
/// <c>--images</c>: the wall time of the first and of a second 64×64 one-step image after the load (the first also pays
/// for the first touch of every weight page a lazy load left untouched) and the peak resident set after both.
/// </summary>
internal sealed record LoadMeasurement(double LoadMs, double CpuMs, long VmHwm, long VmRss, long RssAnon, long RssFile, long BaseRss,
    long HeapAfterLoad, long HeapLive, int Gen2Collections, double FirstImageMs = 0, double SecondImageMs = 0, long VmHwmAfterImages = 0);
