using System.Diagnostics;
using System.Globalization;
using MixDQ.Bench;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Tensors;

// Benchmarks of the runtime: CPU kernels (gemm, ops), model loading memory and time (load-memory, load-time) and
// end-to-end generation against PyTorch (generate). See README.md.
// Usage: dotnet run -c Release --project tools/bench -- <command> [--threads N] [--runs N] ...
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = new BenchArgs(args);
string command = options.Command;
int threads, runs;
try
{
    threads = options.Threads;
    runs = options.Int("--runs") ?? 7;
    switch (command)
    {
        case "load-memory": return LoadMemoryBench.Run(options);
        case "load-memory-child": return LoadMemoryBench.Child(options);
        case "load-time": return LoadTimeBench.Run(options);
        case "generate": return GenerateBench.Run(options);
        case "int8": return IntegerBench.Run(options);
        case "allocate": return AllocateBench.Run(options);
    }
}
catch (BenchUsageException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (command is not ("gemm" or "ops"))
{
    Console.Error.WriteLine($"unknown benchmark '{command}'; available: gemm (compute-bound kernels), ops (memory-bound ops), " +
                            "load-memory (peak memory of loading a model), load-time (an SD-Turbo-sized load), generate (image generation vs PyTorch), " +
                            "int8 (integer GEMM/conv vs FP32 and PyTorch INT8), allocate (SDXL-sized bit allocation)");
    return 2;
}

var backend = new CpuBackend(threads);
Console.WriteLine($"CPU backend: {backend.InstructionSet}, {threads} threads; {Environment.ProcessorCount} logical processors; median of {runs} runs");
var rng = new Random(1);
if (command == "ops")
{
    MemoryOps();
    return 0;
}

int lanes = MachinePeak.VectorLanes;
double? nominalGhz = MachinePeak.CpuInfoGhz();
double measuredGhz = MachinePeak.MeasuredGhz();
double fmaThreads = MachinePeak.MeasuredFmaGflops(threads), fmaOne = MachinePeak.MeasuredFmaGflops(1);
// peak = cores × clock × 2 FMA units × lanes × 2 flops per FMA
double Formula(double ghz) => threads * ghz * 2 * lanes * 2;
double peak = Formula(nominalGhz ?? measuredGhz);
Console.WriteLine($"FP32 FMA peak = {threads} cores × clock × 2 FMA units × {lanes} lanes × 2:");
if (nominalGhz is { } ghz) Console.WriteLine($"  at /proc/cpuinfo clock {ghz:F2} GHz:         {Formula(ghz),7:F1} GFLOP/s   <- 'peak' below");
Console.WriteLine($"  at measured clock {measuredGhz:F2} GHz (add chain): {Formula(measuredGhz),7:F1} GFLOP/s");
Console.WriteLine($"  measured FMA loop, 1 thread:            {fmaOne,7:F1} GFLOP/s");
Console.WriteLine($"  measured FMA loop, {threads} threads:           {fmaThreads,7:F1} GFLOP/s");
Console.WriteLine();
Console.WriteLine("GFLOP/s from the median and the best run; % peak: median vs the cpuinfo-clock formula; % loop: median of");
Console.WriteLine("(run / FMA-loop burst measured just before it), the share of this machine's achievable FMA rate at that moment.");
Console.WriteLine($"{"case",-44} {"median ms",9} {"best ms",8} {"GFLOP/s",8} {"best",8} {"% peak",7} {"% loop",8}");

Linear("linear M=4096 K=2880 N=320", 4096, 2880, 320);
Linear("linear M=1024 K=640 N=640", 1024, 640, 640);
Conv("conv3x3 320->320 64x64", 320, 320, 64);
Conv("conv3x3 640->640 32x32", 640, 640, 32);
Attention("attention 4096 tokens, 5 heads x 64", 4096, 5, 64);
Attention("attention 4096 tokens, 1 head x 512 (VAE)", 4096, 1, 512);
return 0;

// Memory-bound ops at SD-Turbo's first UNet level (batch 2, 320 channels, 64×64 latents):
// GB/s counts the bytes each op must read and write once.
void MemoryOps()
{
    Console.WriteLine($"{"op",-44} {"median ms",9} {"best ms",8} {"GB/s",8}");
    var image = Rand(2, 320, 64, 64);
    var tokens = Rand(2, 4096, 320);
    var wide = Rand(2, 4096, 2560);
    var gamma = Rand(320);
    var beta = Rand(320);
    long bytes = image.Length * 4L;
    Time("GroupNorm+SiLU [2,320,64,64] G32", 2 * bytes, () => backend.GroupNorm(image, 32, gamma, beta, 1e-5f, silu: true));
    Time("LayerNorm [2,4096,320]", 2 * bytes, () => backend.LayerNorm(tokens, gamma, beta, 1e-5f));
    Time("GEGLU [2,4096,2560]", wide.Length * 6L, () => backend.Geglu(wide));
    Time("GELU [2,4096,2560]", wide.Length * 8L, () => backend.Activate(wide, Activation.Gelu));
    Time("SiLU [2,320,64,64]", 2 * bytes, () => backend.Activate(image, Activation.Silu));
    Time("Add [2,320,64,64]", 3 * bytes, () => backend.Add(image, image));
    Time("NchwToTokens [2,320,64,64]", 2 * bytes, () => backend.NchwToTokens(image));
    Time("TokensToNchw [2,4096,320]", 2 * bytes, () => backend.TokensToNchw(tokens, 64, 64));
    Time("UpsampleNearest [2,320,64,64] -> 128x128", 5 * bytes, () => backend.UpsampleNearest(image, 128, 128));
    Time("Concat [2,320,64,64] x2 axis 1", 4 * bytes, () => backend.Concat(image, image, 1));
}

void Time(string name, long bytes, Func<Tensor> op)
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
    Console.WriteLine($"{name,-44} {times[runs / 2],9:F2} {times[0],8:F2} {bytes / times[runs / 2] / 1e6,8:F1}");
}

void Linear(string name, int m, int k, int n)
{
    var x = Rand(m, k);
    var layer = backend.PrepareLinear(Info(LayerKind.Linear, n, k), Rand(n, k), Rand(n));
    Report(name, 2.0 * m * n * k, () => backend.Linear(layer, x));
}

void Conv(string name, int cin, int cout, int size)
{
    var x = Rand(1, cin, size, size);
    var layer = backend.PrepareConv2d(Info(LayerKind.Conv2d, cout, cin, 3, 3), Rand(cout, cin, 3, 3), Rand(cout), 1, 1);
    Report(name, 2.0 * cout * cin * 9 * size * size, () => backend.Conv2d(layer, x));
}

void Attention(string name, int tokens, int heads, int d)
{
    var q = Rand(1, tokens, heads * d);
    var k = Rand(1, tokens, heads * d);
    var v = Rand(1, tokens, heads * d);
    // Q·Kᵀ and P·V; the softmax's exponentials are not counted.
    Report(name, 4.0 * heads * tokens * tokens * d, () => backend.Attention(q, k, v, heads, causal: false));
}

// Each timed run is preceded by a short burst of the FMA loop on the same threads, so that the
// ratio of the two is measured under the same load from other processes (this machine is shared).
void Report(string name, double flops, Func<Tensor> op)
{
    op();
    op();
    var times = new double[runs];
    var ratios = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        double loop = MachinePeak.MeasuredFmaGflops(threads, iterations: 3_000_000, rounds: 1);
        var sw = Stopwatch.StartNew();
        op();
        times[i] = sw.Elapsed.TotalMilliseconds;
        ratios[i] = flops / times[i] / 1e6 / loop;
    }
    Array.Sort(times);
    Array.Sort(ratios);
    double median = times[runs / 2], gflops = flops / median / 1e6;
    Console.WriteLine($"{name,-44} {median,9:F2} {times[0],8:F2} {gflops,8:F1} {flops / times[0] / 1e6,8:F1} {100 * gflops / peak,6:F1}% {100 * ratios[runs / 2],7:F1}%");
}

Tensor Rand(params int[] shape)
{
    var t = Tensor.Zeros(shape);
    for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
    return t;
}

static LayerInfo Info(LayerKind kind, params int[] shape) => new("bench", kind.ToString(), kind, shape, LayerPrecision.Fp32);
