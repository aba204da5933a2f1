using System.Diagnostics;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// `int8`: integer GEMM / conv throughput on UNet shapes against our FP32 kernels and (linear) PyTorch's
/// quantize_dynamic INT8 linear and FP32 linear, all in one run on the same threads. GOP/s counts 2·M·N·K.
/// The best integer path runs by default (what users get); --simd-paths adds every SIMD path this processor runs,
/// --all-paths the portable one too.
/// </summary>
internal static class IntegerBench
{
    private static readonly (int M, int K, int N)[] LinearShapes =
    [
        (4096, 320, 320),    // SD-Turbo level-0 attention projections, 64×64 latents
        (4096, 320, 2560),   // level-0 GEGLU projection
        (4096, 1280, 320),   // level-0 feed-forward output
        (1024, 640, 640),    // level-1 attention projections
    ];

    private static readonly (int Cin, int Cout, int Size, int Kernel)[] ConvShapes =
    [
        (320, 320, 64, 3),
        (640, 640, 32, 3),
        (640, 320, 64, 1),
    ];

    public static int Run(BenchArgs args)
    {
        int threads = args.Threads, runs = args.Int("--runs") ?? 7;
        var precisions = new[] { new LayerPrecision(8, 8), new LayerPrecision(4, 8), new LayerPrecision(2, 8), new LayerPrecision(8, 16) };
        // --precisions W8A8,W4A8 and --only <case substring> narrow a run (profiling, quick A/B checks).
        if (args.String("--precisions") is { } only)
            precisions = precisions.Where(p => only.Split(',').Contains(p.ToString(), StringComparer.OrdinalIgnoreCase)).ToArray();
        string? caseFilter = args.String("--only");
        bool Selected(string name) => caseFilter is null || name.Contains(caseFilter, StringComparison.OrdinalIgnoreCase);
        var paths = args.Flag("--all-paths") ? IntegerIsaDetector.Available.Reverse().ToArray()
            : args.Flag("--simd-paths") ? IntegerIsaDetector.Available.Where(i => i != IntegerIsa.Portable).Reverse().ToArray()
            : [IntegerIsaDetector.Best];
        var rng = new Random(1);
        Console.WriteLine($"{threads} threads, {Environment.ProcessorCount} logical processors, median of {runs} runs; integer paths: "
                          + string.Join(", ", paths.Select(IntegerIsaDetector.Describe)));

        bool cpuTime = args.Flag("--cpu-time");
        if (cpuTime) Console.WriteLine("--cpu-time: ms and GOP/s below are process CPU time (all threads), not wall time; PyTorch stays wall time.");
        var torch = TorchInt8(args, threads, runs);
        Console.WriteLine("Every case of a shape is timed in round-robin rounds (one call of each per round), so a ratio to FP32 is the");
        Console.WriteLine("median of per-round ratios, measured under the same load; ms is the median time.");
        Console.WriteLine($"{"case",-34} {"precision",-9} {"path",-24} {"ms",8} {"GOP/s",8} {"vs FP32",8} {"vs torch int8",13}");
        var fpBackend = new CpuBackend(threads);
        foreach (var (m, k, n) in LinearShapes)
        {
            if (!Selected($"linear M={m} K={k} N={n}")) continue;
            var x = Rand(rng, m, k);
            var w = Rand(rng, n, k);
            var b = Rand(rng, n);
            var fpLayer = fpBackend.PrepareLinear(Info(LayerKind.Linear, LayerPrecision.Fp32, n, k), w, b);
            var cases = new List<(string Precision, string Path, Func<Tensor> Op)> { ("FP32", fpBackend.InstructionSet, () => Released(fpBackend, fpBackend.Linear(fpLayer, x))) };
            foreach (var isa in paths)
                foreach (var p in precisions)
                {
                    var be = Backend(threads, isa);
                    var layer = be.PrepareQuantizedLinear(Info(LayerKind.Linear, p, n, k), Quantized(w.Data, n, k, k, p, x.Data), b);
                    cases.Add((p.ToString(), IntegerIsaDetector.Describe(isa), () => Released(be, be.Linear(layer, x))));
                }
            torch.TryGetValue((m, k, n), out var t);
            Report($"linear M={m} K={k} N={n}", 2.0 * m * n * k, runs, cases, t.Int8 > 0 ? t : null, cpuTime);
        }
        foreach (var (cin, cout, size, ks) in ConvShapes)
        {
            if (!Selected($"conv{ks}x{ks} {cin}->{cout} {size}x{size}")) continue;
            var x = Rand(rng, 1, cin, size, size);
            var w = Rand(rng, cout, cin, ks, ks);
            var b = Rand(rng, cout);
            var fpLayer = fpBackend.PrepareConv2d(Info(LayerKind.Conv2d, LayerPrecision.Fp32, cout, cin, ks, ks), w, b, 1, ks / 2);
            var cases = new List<(string Precision, string Path, Func<Tensor> Op)> { ("FP32", fpBackend.InstructionSet, () => Released(fpBackend, fpBackend.Conv2d(fpLayer, x))) };
            foreach (var isa in paths)
                foreach (var p in precisions)
                {
                    var be = Backend(threads, isa);
                    var layer = be.PrepareQuantizedConv2d(Info(LayerKind.Conv2d, p, cout, cin, ks, ks), Quantized(w.Data, cout, cin * ks * ks, cin, p, x.Data), b, 1, ks / 2);
                    cases.Add((p.ToString(), IntegerIsaDetector.Describe(isa), () => Released(be, be.Conv2d(layer, x))));
                }
            Report($"conv{ks}x{ks} {cin}->{cout} {size}x{size}", 2.0 * cout * cin * ks * ks * size * size, runs, cases, null, cpuTime);
        }
        return 0;
    }

    /// <summary>Times the cases round-robin; case 0 is the FP32 baseline. PyTorch's times (same threads, its own process) are printed beside.</summary>
    private static void Report(string name, double ops, int runs, List<(string Precision, string Path, Func<Tensor> Op)> cases, (double Fp32, double Int8)? torch,
        bool cpuTime)
    {
        foreach (var c in cases)
        {
            c.Op();
            c.Op();
        }
        // Outputs go back to their backend after each call, as the generated model code does (IComputeBackend.Release),
        // so neither side is timed faulting in fresh output pages.
        var times = new double[cases.Count][];
        for (int i = 0; i < cases.Count; i++) times[i] = new double[runs];
        for (int r = 0; r < runs; r++)
            for (int i = 0; i < cases.Count; i++)
            {
                double cpu0 = cpuTime ? CpuClock.Milliseconds() : 0;
                var sw = Stopwatch.StartNew();
                cases[i].Op();
                times[i][r] = cpuTime ? CpuClock.Milliseconds() - cpu0 : sw.Elapsed.TotalMilliseconds;
            }
        double fpMedian = Median(times[0]);
        for (int i = 0; i < cases.Count; i++)
        {
            double ms = Median(times[i]);
            double ratio = Median(Enumerable.Range(0, runs).Select(r => times[0][r] / times[i][r]).ToArray());
            bool integerActs = cases[i].Precision.StartsWith('W') && !cases[i].Precision.EndsWith("A16", StringComparison.Ordinal);
            Line(name, cases[i].Precision, cases[i].Path, ms, ops, ratio, torch is { } t && integerActs ? t.Int8 / ms : null);
            if (i == 0 && torch is { } pt)
            {
                Line(name, "FP32", "PyTorch (other process)", pt.Fp32, ops, fpMedian / pt.Fp32, null);
                Line(name, "INT8", "PyTorch quantize_dynamic", pt.Int8, ops, fpMedian / pt.Int8, null);
            }
        }
    }

    private static Tensor Released(IComputeBackend backend, Tensor output)
    {
        backend.Release(output);
        return output;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }

    private static CpuBackend Backend(int threads, IntegerIsa isa)
    {
        // The public way to pick a path: the environment variable every CPU backend reads when it is made.
        Environment.SetEnvironmentVariable(IntegerIsaDetector.EnvironmentVariable, isa.ToString());
        try
        {
            return new CpuBackend(threads);
        }
        finally
        {
            Environment.SetEnvironmentVariable(IntegerIsaDetector.EnvironmentVariable, null);
        }
    }

    private static QuantizedLayer Quantized(float[] w, int rows, int depth, int channels, LayerPrecision p, float[] x)
    {
        var qw = WeightQuantizer.Quantize(w, rows, depth, p.WeightBits);
        if (IntegerPrecisions.IsWeightOnly(p)) return new QuantizedLayer(qw);
        var input = new[] { new InputQuantSegment(channels, ActivationQuantParams.FromRange(x.Min(), x.Max(), p.ActivationBits)) };
        return new QuantizedLayer(qw, input);
    }

    private static void Line(string name, string precision, string path, double ms, double ops, double vsFp32, double? vsTorchInt8) =>
        Console.WriteLine($"{name,-34} {precision,-9} {path,-24} {ms,8:F2} {ops / ms / 1e6,8:F1} {vsFp32,7:F2}x {(vsTorchInt8 is { } t ? $"{t,12:F2}x" : ""),13}");

    /// <summary>PyTorch's FP32 and INT8 linear times per shape, or none (with the reason) when /usr/bin/python3 has no torch.</summary>
    private static Dictionary<(int, int, int), (double Fp32, double Int8)> TorchInt8(BenchArgs args, int threads, int runs)
    {
        var times = new Dictionary<(int, int, int), (double, double)>();
        string python = args.String("--python") ?? "/usr/bin/python3";
        if (args.Flag("--no-torch") || !File.Exists(python))
        {
            Console.WriteLine("PyTorch: skipped");
            return times;
        }
        var result = ChildProcess.Run(python,
            [Path.Combine(BenchPaths.BenchSource, "pytorch_int8_linear.py"), threads.ToString(), runs.ToString(), .. LinearShapes.Select(s => $"{s.M},{s.K},{s.N}")]);
        if (result.ExitCode != 0)
        {
            Console.WriteLine($"PyTorch: not measured ({result.StdErr.Trim().Split('\n').LastOrDefault()})");
            return times;
        }
        foreach (string line in result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                Console.WriteLine($"PyTorch: {line[1..].Trim()}");
                continue;
            }
            var f = line.Split(' ');
            times[(int.Parse(f[0]), int.Parse(f[1]), int.Parse(f[2]))] = (double.Parse(f[3]), double.Parse(f[4]));
        }
        return times;
    }

    private static Tensor Rand(Random rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    private static LayerInfo Info(LayerKind kind, LayerPrecision p, params int[] shape) => new("bench", kind.ToString(), kind, shape, p);
}
