using System.Diagnostics;
using MixDQ.Compiler;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// `generate --plans fp32,w8a8,w4a8`: one image per plan from the same latents and prompt, timed round-robin (one image
/// of each plan per round, so every ratio compares images made under the same load), plans compiled by the real
/// compiler (the MixDQ analysis for integer widths) into a cache folder and loaded as the generated code loads them.
/// </summary>
internal static class PlanGenerateBench
{
    public static void Run(BenchArgs args, string model, string prompt, Tensor noise, int threads, int runs, int[] stepCounts, DiffusionPipeline fp32, CpuBackend fpBackend)
    {
        string[] names = (args.String("--plans") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) return;
        // --cpu-time: image totals in process CPU time (all threads) instead of wall time; unet/step stays wall time.
        bool cpuTime = args.Flag("--cpu-time");
        string cache = args.String("--plan-cache") ?? Path.Combine(Path.GetTempPath(), "mixdq-bench-plans");
        var plans = new List<(string Name, DiffusionPipeline Pipeline, CpuBackend Backend)>();
        try
        {
            foreach (string name in names)
            {
                if (name.Equals("fp32", StringComparison.OrdinalIgnoreCase))
                {
                    plans.Add(("FP32 (model graphs)", fp32, fpBackend));
                    continue;
                }
                var backend = new CpuBackend(threads);
                plans.Add((name.ToUpperInvariant(), Load(Compile(model, name, cache), backend), backend));
            }
            Console.WriteLine();
            Console.WriteLine($"plans, {threads} threads, integer path {IntegerIsaDetector.Describe(IntegerIsaDetector.Default)}; load average {LoadAverage()}");
            foreach (int steps in stepCounts)
            {
                var options = new GenerationOptions { Steps = steps, InitialLatents = noise };
                foreach (var p in plans)
                    for (int i = 0; i < 3; i++) p.Pipeline.Generate(prompt, options);
                var times = plans.Select(_ => new double[runs]).ToArray();
                var unet = plans.Select(_ => new double[runs]).ToArray();
                var peaks = new long[plans.Count];
                for (int r = 0; r < runs; r++)
                    for (int i = 0; i < plans.Count; i++)
                    {
                        plans[i].Backend.ResetPeakActivationBytes();
                        var clock = new GenerateBench.StageClock();
                        double cpu0 = cpuTime ? CpuClock.Milliseconds() : 0;
                        var sw = Stopwatch.StartNew();
                        plans[i].Pipeline.Generate(prompt, options, clock);
                        double wall = sw.Elapsed.TotalMilliseconds;
                        times[i][r] = cpuTime ? CpuClock.Milliseconds() - cpu0 : wall;
                        unet[i][r] = clock.Times(steps, wall).UnetStepMs;
                        peaks[i] = plans[i].Backend.PeakActivationBytes;
                    }
                Console.WriteLine($"{steps} step(s): median {(cpuTime ? "CPU" : "wall")} ms per image, ratio = median of per-round FP32/plan ratios; activations = peak live op-output bytes of one image");
                Console.WriteLine($"  {"plan",-22} {"ms",9} {"vs FP32",8} {"unet/step",9} {"vs FP32",8} {"UNet weights resident",22} {"activations",12}");
                for (int i = 0; i < plans.Count; i++)
                {
                    double ratio = Median(Enumerable.Range(0, runs).Select(r => times[0][r] / times[i][r]).ToArray());
                    double unetRatio = Median(Enumerable.Range(0, runs).Select(r => unet[0][r] / unet[i][r]).ToArray());
                    long weights = plans[i].Pipeline.UnetResidentWeightBytes;
                    Console.WriteLine($"  {plans[i].Name,-22} {Median(times[i]),9:F1} {ratio,7:F2}x {Median(unet[i]),9:F2} {unetRatio,7:F2}x {weights / 1e6,19:F2} MB {peaks[i] / 1e6,9:F2} MB");
                }
            }
        }
        finally
        {
            foreach (var p in plans)
                if (!ReferenceEquals(p.Pipeline, fp32)) p.Pipeline.Dispose();
        }
    }

    /// <summary>The plan of <paramref name="name"/> (wXaY) compiled into the cache, reused when an earlier run left it there.</summary>
    private static string Compile(string model, string name, string cache)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^[wW](\d+)[aA](\d+)$");
        if (!m.Success) throw new BenchUsageException($"--plans: '{name}' is not fp32 or wXaY (e.g. w8a8, w4a8)");
        string className = "BenchW" + m.Groups[1].Value + "A" + m.Groups[2].Value;
        string dir = Path.Combine(cache, Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')), className);
        string planPath = Path.Combine(dir, className + ".mixdq.plan.json");
        if (File.Exists(planPath) && File.Exists(Path.Combine(dir, className + ModelCompiler.ArtifactSuffix)))
        {
            Console.WriteLine($"reusing {planPath}");
            return planPath;
        }
        var sw = Stopwatch.StartNew();
        var result = ModelCompiler.Compile(new CompileRequest(model, className, dir,
            new CompileSettings { WeightBits = int.Parse(m.Groups[1].Value), ActivationBits = int.Parse(m.Groups[2].Value) }));
        Console.WriteLine($"compiled {result.PlanPath} in {sw.Elapsed.TotalSeconds:F0} s");
        return result.PlanPath;
    }

    /// <summary>As the generated code loads it: the artifact, checked against the plan hash, each layer at the plan's precision.</summary>
    private static DiffusionPipeline Load(string planPath, CpuBackend backend)
    {
        var document = PlanDocument.Load(planPath);
        string hash = PlanDocument.HashOf(File.ReadAllBytes(planPath));
        string artifact = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(planPath))!, document.Artifact.FileName);
        var precision = document.Layers.ToDictionary(l => l.QualifiedName, l => l.Precision, StringComparer.Ordinal);
        return CompiledModelLoader.LoadPipeline(artifact, hash,
            layer => precision.TryGetValue(layer.QualifiedName, out var p) ? p : LayerPrecision.Fp32, MixDQDevice.FromBackend(backend));
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
