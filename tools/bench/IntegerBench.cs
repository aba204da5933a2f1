using System.Diagnostics;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// `int8`: integer GEMM / conv throughput on UNet shapes against our FP32 kernels and (linear) PyTorch's
/// quantize_dynamic INT8 linear and FP32 linear, all in one run on the same threads. GOP/s counts 2·M·N·K.
/// Every integer path this processor runs is timed (the best one is what users get).
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
        var paths = args.Flag("--all-paths") ? IntegerIsaDetector.Available.Reverse().ToArray()
            : args.Flag("--simd-paths") ? IntegerIsaDetector.Available.Where(i => i != IntegerIsa.Portable).Reverse().ToArray()
            : [IntegerIsaDetector.Best];
        var rng = new Random(1);
        Console.WriteLine($"{threads} threads, {Environment.ProcessorCount} logical processors, median of {runs} runs; integer paths: "
                          + string.Join(", ", paths.Select(IntegerIsaDetector.Describe)));

        var torch = TorchInt8(args, threads, runs);
        Console.WriteLine($"{"case",-34} {"precision",-9} {"path",-24} {"ms",8} {"GOP/s",8} {"vs FP32",8} {"vs torch int8",13}");
        foreach (var (m, k, n) in LinearShapes)
        {
            var x = Rand(rng, m, k);
            var w = Rand(rng, n, k);
            var b = Rand(rng, n);
            double ops = 2.0 * m * n * k;
            string name = $"linear M={m} K={k} N={n}";
            var fpBackend = new CpuBackend(threads);
            var fpLayer = fpBackend.PrepareLinear(Info(LayerKind.Linear, LayerPrecision.Fp32, n, k), w, b);
            double fp = Median(runs, () => fpBackend.Linear(fpLayer, x));
            Line(name, "FP32", fpBackend.InstructionSet, fp, ops, fp, null);
            torch.TryGetValue((m, k, n), out var t);
            if (t.Fp32 > 0)
            {
                Line(name, "FP32", "PyTorch", t.Fp32, ops, fp, null);
                Line(name, "INT8", "PyTorch quantize_dynamic", t.Int8, ops, fp, null);
            }
            foreach (var isa in paths)
                foreach (var p in precisions)
                {
                    var be = Backend(threads, isa);
                    var layer = be.PrepareQuantizedLinear(Info(LayerKind.Linear, p, n, k), Quantized(w.Data, n, k, k, p, x.Data), b);
                    double ms = Median(runs, () => be.Linear(layer, x));
                    Line(name, p.ToString(), IntegerIsaDetector.Describe(isa), ms, ops, fp, t.Int8 > 0 && !IntegerPrecisions.IsWeightOnly(p) ? t.Int8 : null);
                }
        }
        foreach (var (cin, cout, size, ks) in ConvShapes)
        {
            var x = Rand(rng, 1, cin, size, size);
            var w = Rand(rng, cout, cin, ks, ks);
            var b = Rand(rng, cout);
            double ops = 2.0 * cout * cin * ks * ks * size * size;
            string name = $"conv{ks}x{ks} {cin}->{cout} {size}x{size}";
            var fpBackend = new CpuBackend(threads);
            var fpLayer = fpBackend.PrepareConv2d(Info(LayerKind.Conv2d, LayerPrecision.Fp32, cout, cin, ks, ks), w, b, 1, ks / 2);
            double fp = Median(runs, () => fpBackend.Conv2d(fpLayer, x));
            Line(name, "FP32", fpBackend.InstructionSet, fp, ops, fp, null);
            foreach (var isa in paths)
                foreach (var p in precisions)
                {
                    var be = Backend(threads, isa);
                    var layer = be.PrepareQuantizedConv2d(Info(LayerKind.Conv2d, p, cout, cin, ks, ks), Quantized(w.Data, cout, cin * ks * ks, cin, p, x.Data), b, 1, ks / 2);
                    double ms = Median(runs, () => be.Conv2d(layer, x));
                    Line(name, p.ToString(), IntegerIsaDetector.Describe(isa), ms, ops, fp, null);
                }
        }
        return 0;
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

    private static void Line(string name, string precision, string path, double ms, double ops, double fpMs, double? torchInt8Ms) =>
        Console.WriteLine($"{name,-34} {precision,-9} {path,-24} {ms,8:F2} {ops / ms / 1e6,8:F1} {fpMs / ms,7:F2}x {(torchInt8Ms is { } t ? $"{t / ms,12:F2}x" : ""),13}");

    private static double Median(int runs, Func<Tensor> op)
    {
        op();
        op();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            op();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }

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
