using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Bench;

/// <summary>
/// Time per image of <see cref="DiffusionPipeline.Generate(string, GenerationOptions?, IProgress{GenerationProgress}?, CancellationToken)"/>
/// on the CPU backend, per step count (warm-up runs, then the median of the timed runs) with a per-stage
/// breakdown, next to the same pipeline in PyTorch on CPU (tools/bench/pytorch_generate.py with the
/// TinyShapes modules of tools/tiny-shapes), run as a child process in the same invocation. Both start
/// from the same initial latents, so the images they produce are compared too.
/// </summary>
internal static class GenerateBench
{
    private const string DefaultPrompt = "a small red circle at the top left and a large blue square at the bottom right on a white background";

    public static int Run(BenchArgs args)
    {
        string model = BenchPaths.Resolve(args.String("--model") ?? Path.Combine("samples", "models", "tiny-shapes"));
        if (!File.Exists(Path.Combine(model, "model_index.json")))
            throw new BenchUsageException($"no diffusers model at {model}; pass --model DIR");
        int threads = args.Threads, runs = args.Int("--runs") ?? 7, warmup = args.Int("--warmup") ?? 3;
        int[] stepCounts = args.IntList("--steps", [1, 2, 4]);
        string prompt = args.String("--prompt") ?? DefaultPrompt;
        string work = Path.Combine(Path.GetTempPath(), "mixdq-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var backend = new CpuBackend(threads);
            var sw = Stopwatch.StartNew();
            using var pipeline = DiffusionPipeline.Load(model, new PipelineLoadOptions { Backend = backend });
            double loadMs = sw.Elapsed.TotalMilliseconds;
            var noise = InitialNoise(pipeline, seed: 0);
            string noisePath = Path.Combine(work, "noise.npy");
            Npy.WriteFloat32(noisePath, noise);

            Console.WriteLine($"model: {model}");
            Console.WriteLine($"prompt: \"{prompt}\"; {pipeline.DefaultWidth}x{pipeline.DefaultHeight} image; warm-up: {warmup}+ rounds over all step counts, at least {MinWarmUpSeconds} s; then median of {runs} runs");
            Console.WriteLine($"C#: CPU backend {backend.InstructionSet}, {threads} threads ({Environment.ProcessorCount} logical processors); load {loadMs:F0} ms");
            var csharp = new List<StageTimes>();
            var images = new Dictionary<int, byte[]>();
            WarmUp(pipeline, prompt, noise, stepCounts, warmup);
            foreach (int steps in stepCounts)
            {
                var (times, image) = TimeCSharp(pipeline, prompt, noise, steps, runs);
                csharp.Add(times);
                images[steps] = image;
            }

            var torch = args.Flag("--no-pytorch") ? null : RunPyTorch(args, model, threads, runs, warmup, stepCounts, prompt, noisePath, work);
            Print(csharp, torch, images, work);
            // --plans fp32,w8a8,w4a8: the same image through compiled plans, round-robin against the FP32 pipeline above.
            PlanGenerateBench.Run(args, model, prompt, noise, threads, runs, stepCounts, pipeline, backend);
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Standard-normal latents [1, C, h, w] for the model's default image size.</summary>
    private static Tensor InitialNoise(DiffusionPipeline pipeline, int seed)
    {
        int f = pipeline.VaeScaleFactor;
        var t = Tensor.Zeros(1, pipeline.LatentChannels, pipeline.DefaultHeight / f, pipeline.DefaultWidth / f);
        new GaussianNoise(seed).FillStandardNormal(t.Data);
        return t;
    }

    /// <summary>
    /// Rounds over every step count, at least <paramref name="rounds"/> and at least <see cref="MinWarmUpSeconds"/>:
    /// the JIT recompiles hot methods with full optimization in the background after about 30 calls, so a count
    /// alone can leave the first step count timed on unoptimized code. pytorch_generate.py warms up the same way.
    /// </summary>
    private static void WarmUp(DiffusionPipeline pipeline, string prompt, Tensor noise, int[] stepCounts, int rounds)
    {
        var sw = Stopwatch.StartNew();
        for (int round = 0; round < rounds || sw.Elapsed.TotalSeconds < MinWarmUpSeconds; round++)
            foreach (int steps in stepCounts)
                pipeline.Generate(prompt, new GenerationOptions { Steps = steps, InitialLatents = noise });
    }

    private const double MinWarmUpSeconds = 2;

    private static (StageTimes Times, byte[] Image) TimeCSharp(DiffusionPipeline pipeline, string prompt, Tensor noise, int steps, int runs)
    {
        var options = new GenerationOptions { Steps = steps, InitialLatents = noise };
        var samples = new List<StageTimes>();
        byte[] image = [];
        for (int i = 0; i < runs; i++)
        {
            var clock = new StageClock();
            var sw = Stopwatch.StartNew();
            var result = pipeline.Generate(prompt, options, clock);
            double total = sw.Elapsed.TotalMilliseconds;
            samples.Add(clock.Times(steps, total));
            image = result.Rgb;
        }
        return (StageTimes.Median(samples), image);
    }

    private static PyTorchReport? RunPyTorch(BenchArgs args, string model, int threads, int runs, int warmup, int[] stepCounts,
        string prompt, string noisePath, string work)
    {
        string python = args.String("--python") ?? "/usr/bin/python3";
        string? tools = args.String("--pytorch-tools") is { } t ? BenchPaths.Resolve(t) : BenchPaths.TinyShapesTools;
        string script = Path.Combine(BenchPaths.BenchSource, "pytorch_generate.py");
        string? skip = !File.Exists(python) ? $"{python} does not exist"
            : tools is null || !File.Exists(Path.Combine(tools, "loader.py")) ? $"no TinyShapes PyTorch code (loader.py) in {tools ?? "tools/tiny-shapes"}; pass --pytorch-tools DIR"
            : !File.Exists(script) ? $"{script} does not exist"
            : null;
        if (skip is not null)
        {
            Console.WriteLine($"PyTorch: skipped ({skip})");
            return null;
        }
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        // One OpenMP pool of the asked size (torch.set_num_threads alone leaves other pools at their defaults).
        var environment = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = I(threads), ["MKL_NUM_THREADS"] = I(threads) };
        // OpenMP threads spin while they wait for work; where other processes hold the cores (a shared machine) a
        // spinning thread keeps its partner off its core and PyTorch runs 10-30x slower than its best, so the
        // default lets them sleep. "default" leaves the variable unset (the OpenMP runtime's own policy).
        string waitPolicy = args.String("--omp-wait-policy") ?? "PASSIVE";
        if (!waitPolicy.Equals("default", StringComparison.OrdinalIgnoreCase)) environment["OMP_WAIT_POLICY"] = waitPolicy;
        var result = ChildProcess.Run(python,
            [script, "--model", model, "--tools", tools!, "--threads", I(threads), "--runs", I(runs), "--warmup", I(warmup),
             "--steps", string.Join(',', stepCounts), "--prompt", prompt, "--noise", noisePath, "--out-dir", work],
            environment);
        string lastLine = result.StdOut.Trim().Split('\n')[^1];
        if (result.ExitCode == 3)
        {
            Console.WriteLine($"PyTorch: skipped ({JsonDocument.Parse(lastLine).RootElement.GetProperty("error").GetString()})");
            return null;
        }
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed (exit {result.ExitCode}):\n{result.StdErr}{result.StdOut}");
        return JsonSerializer.Deserialize<PyTorchReport>(lastLine) ?? throw new InvalidOperationException($"{script} printed no report");
    }

    private static void Print(List<StageTimes> csharp, PyTorchReport? torch, Dictionary<int, byte[]> images, string work)
    {
        if (torch is not null)
            Console.WriteLine($"PyTorch: {torch.Torch}, {torch.Threads} threads (torch.set_num_threads), OMP_WAIT_POLICY={torch.OmpWaitPolicy ?? "(unset)"}, torch.no_grad; load {torch.LoadMs:F0} ms");
        Console.WriteLine();
        Console.WriteLine("median ms per image; text = tokenizer + text encoder, unet/step = one UNet call + Euler step, decode = VAE decoder + to uint8");
        string torchHeader = torch is null ? "" : $" | {"PyTorch total",13} {"best",7} {"text",7} {"unet/step",9} {"decode",7} | {"PT/C#",6} {"best",6} {"max |dpx|",9}";
        Console.WriteLine($"{"steps",5} | {"C# total",9} {"best",7} {"text",7} {"unet/step",9} {"decode",7}{torchHeader}");
        foreach (var c in csharp)
        {
            string line = $"{c.Steps,5} | {c.TotalMs,9:F2} {c.BestTotalMs,7:F2} {c.TextMs,7:F2} {c.UnetStepMs,9:F2} {c.DecodeMs,7:F2}";
            if (torch?.Results.FirstOrDefault(r => r.Steps == c.Steps) is { } p)
            {
                string diff = ImageDifference(images[c.Steps], Path.Combine(work, $"image_{c.Steps}.npy"));
                line += $" | {p.TotalMs,13:F2} {p.BestTotalMs,7:F2} {p.TextMs,7:F2} {p.UnetStepMs,9:F2} {p.DecodeMs,7:F2} | {p.TotalMs / c.TotalMs,6:F2} {p.BestTotalMs / c.BestTotalMs,6:F2} {diff,9}";
            }
            Console.WriteLine(line);
        }
        if (torch is not null)
            Console.WriteLine("PT/C#: PyTorch time over C# time, of the medians and of the best runs (above 1: C# is faster); max |dpx|: largest difference of one 8-bit channel between the two images from the same latents");
    }

    /// <summary>The largest per-channel difference between the C# image and PyTorch's (a check that both did the same work).</summary>
    private static string ImageDifference(byte[] csharp, string torchPath)
    {
        if (!File.Exists(torchPath)) return "n/a";
        var t = Npy.Read(torchPath);
        if (t.Bytes.Length != csharp.Length) return "size!";
        int max = 0;
        for (int i = 0; i < csharp.Length; i++) max = Math.Max(max, Math.Abs(csharp[i] - t.Bytes[i]));
        return max.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Timestamps of the pipeline's progress reports, taken synchronously on the generating thread
    /// (<see cref="Progress{T}"/> would post them to the thread pool and time the posting instead).
    /// </summary>
    internal sealed class StageClock : IProgress<GenerationProgress>
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private readonly Dictionary<(string Stage, int Step), double> _at = [];

        public void Report(GenerationProgress value) => _at.TryAdd((value.Stage, value.Step), _watch.Elapsed.TotalMilliseconds);

        public StageTimes Times(int steps, double totalMs)
        {
            double At(string stage, int step) => _at.TryGetValue((stage, step), out double ms)
                ? ms
                : throw new InvalidOperationException($"the pipeline reported no progress ({stage}, {step})");
            return new StageTimes(steps, totalMs, totalMs,
                At("text", 1) - At("text", 0),
                (At("unet", steps) - At("unet", 0)) / steps,
                At("decode", 1) - At("decode", 0));
        }
    }
}

/// <summary>Milliseconds of one image (or the medians over runs).</summary>
internal sealed record StageTimes(int Steps, double TotalMs, double BestTotalMs, double TextMs, double UnetStepMs, double DecodeMs)
{
    /// <summary>The median of each field on its own (the parts need not add up to the median total).</summary>
    public static StageTimes Median(IReadOnlyList<StageTimes> runs)
    {
        double M(Func<StageTimes, double> f)
        {
            var v = runs.Select(f).Order().ToArray();
            return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        }
        return new StageTimes(runs[0].Steps, M(r => r.TotalMs), runs.Min(r => r.TotalMs), M(r => r.TextMs), M(r => r.UnetStepMs), M(r => r.DecodeMs));
    }
}

/// <summary>The JSON that pytorch_generate.py prints.</summary>
internal sealed record PyTorchReport(
    [property: JsonPropertyName("torch")] string Torch,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("load_ms")] double LoadMs,
    [property: JsonPropertyName("omp_wait_policy")] string? OmpWaitPolicy,
    [property: JsonPropertyName("results")] IReadOnlyList<PyTorchResult> Results);

internal sealed record PyTorchResult(
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("total_ms")] double TotalMs,
    [property: JsonPropertyName("best_total_ms")] double BestTotalMs,
    [property: JsonPropertyName("text_ms")] double TextMs,
    [property: JsonPropertyName("unet_step_ms")] double UnetStepMs,
    [property: JsonPropertyName("decode_ms")] double DecodeMs);
