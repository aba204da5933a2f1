using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MixDQ.Evaluation.Metrics;
using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;

namespace MixDQ.Cli.Commands;

/// <summary>
/// <c>mixdq evaluate</c>: generates one image per TinyShapes prompt through the C# runtime and scores it
/// with the analytic judge; also reports SSIM/PSNR against the world's exact render of each prompt and a
/// Fréchet distance between the generated and rendered sets.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Option<string>("--model") { Description = "a TinyShapes diffusers folder", Required = true };
        var prompts = new Option<string?>("--prompts") { Description = "prompt file (default: <model>/heldout_prompts.txt)" };
        var steps = new Option<int>("--steps") { Description = "denoising steps", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "seed of the first prompt (prompt i uses seed + i)", DefaultValueFactory = _ => 0 };
        var repeats = new Option<int>("--repeats") { Description = "run the prompt list this many times with new seeds (more images for the Fréchet distance)", DefaultValueFactory = _ => 1 };
        var limit = new Option<int?>("--limit") { Description = "use only the first N prompts" };
        var json = new Option<string?>("--json") { Description = "also write the numbers to this JSON file" };
        var plan = new Option<string?>("--plan")
        {
            Description = "a compiled plan of this model: its integer layers run simulated (dequantized packed weights, stored input quantizers and BOS rows) on the CPU backend; other layers FP32 from --model",
        };
        var fpCache = new Option<string?>("--fp32-cache")
        {
            Description = "with --plan: a folder that keeps the FP32 images (by steps and seed) so that several plans share one FP32 run",
        };
        var cmd = new Command("evaluate", "Score a TinyShapes model with the analytic judge through the C# runtime.")
        {
            model, prompts, steps, seed, repeats, limit, json, plan, fpCache,
        };
        cmd.SetAction((ParseResult r, CancellationToken ct) =>
        {
            string dir = r.GetValue(model)!;
            string promptFile = r.GetValue(prompts) ?? Path.Combine(dir, "heldout_prompts.txt");
            var list = TinyShapesEvaluator.LoadPrompts(promptFile).ToList();
            if (r.GetValue(limit) is { } n) list = list.Take(Math.Max(1, n)).ToList();
            int rep = r.GetValue(repeats);
            if (rep < 1) throw new MixDQException(ErrorCodes.InvalidArgument, "--repeats must be at least 1", item: "repeats");
            var all = Enumerable.Repeat(list, rep).SelectMany(x => x).ToList();
            int stepCount = r.GetValue(steps);

            string? planPath = r.GetValue(plan);
            var simulated = planPath is null ? null : new Compiler.Analysis.Simulation.SimulatedQuantBackend(new Runtime.Backends.Cpu.CpuBackend());
            using var pipeline = DiffusionPipeline.Load(dir, new PipelineLoadOptions { Backend = simulated });
            if (simulated is not null) simulated.Replay(Compiler.Analysis.Simulation.PlanSimulation.ReadIntegerLayers(planPath!));
            // With a plan, the FP32 model generates the same seeds too: SSIM/PSNR against FP32 is what quantization changed.
            using var fp32 = planPath is null ? null : DiffusionPipeline.Load(dir);
            var fpImages = new List<byte[]>(all.Count);
            var generated = new List<byte[]>(all.Count);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var evaluation = TinyShapesEvaluator.Evaluate((prompt, s) =>
            {
                var image = pipeline.Generate(prompt, new GenerationOptions { Seed = s, Steps = stepCount }, cancellationToken: ct).Rgb;
                generated.Add(image);
                if (fp32 is not null) fpImages.Add(Fp32Image(fp32, prompt, s, stepCount, r.GetValue(fpCache), ct));
                return image;
            }, all, r.GetValue(seed), new SyncProgress<int>(i =>
            {
                if (i % 50 == 0 || i == all.Count) ctx.Error.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1}s] {i}/{all.Count} images");
            }), ct);

            int size = TinyShapesWorld.ImageSize;
            var renders = all.Select(p => TinyShapesRenderer.Render(TinyShapesGrammar.Parse(p))).ToList();
            double ssim = Enumerable.Range(0, all.Count).Average(i => ImageMetrics.Ssim(generated[i], renders[i], size, size, 3));
            double psnr = Enumerable.Range(0, all.Count).Average(i => ImageMetrics.Psnr(generated[i], renders[i]));
            double? fd = all.Count >= 2 ? FrechetDistance.Compute(generated, renders, size, size) : null;

            var numbers = new SortedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["model"] = Path.GetFullPath(dir),
                ["prompts_file"] = Path.GetFullPath(promptFile),
                ["images"] = evaluation.Prompts,
                ["steps"] = stepCount,
                ["overall"] = evaluation.Overall,
                ["background"] = evaluation.Background,
                ["count"] = evaluation.Count,
                ["shape"] = evaluation.Shape,
                ["colour"] = evaluation.Colour,
                ["size"] = double.IsNaN(evaluation.Size) ? null : evaluation.Size,
                ["position"] = double.IsNaN(evaluation.Position) ? null : evaluation.Position,
                ["ssim_vs_render"] = ssim,
                ["psnr_vs_render"] = psnr,
                ["frechet_distance_vs_render"] = fd,
                ["seconds_per_image"] = clock.Elapsed.TotalSeconds / all.Count,
                ["backend"] = pipeline.BackendName,
                ["plan"] = planPath is null ? null : Path.GetFullPath(planPath),
                ["ssim_vs_fp32"] = fp32 is null ? null : Enumerable.Range(0, all.Count).Average(i => ImageMetrics.Ssim(generated[i], fpImages[i], size, size, 3)),
                ["psnr_vs_fp32"] = fp32 is null ? null : PooledPsnr(generated, fpImages),
            };
            foreach (var (k, v) in numbers)
                ctx.Out.WriteLine($"{k,-28} {Format(v)}");
            if (r.GetValue(json) is { } jsonPath)
                Runtime.IO.AtomicFile.WriteAllBytes(jsonPath, JsonSerializer.SerializeToUtf8Bytes(numbers, new JsonSerializerOptions { WriteIndented = true }));
            return Task.FromResult(CliApp.ExitOk);
        });
        return cmd;
    }

    /// <summary>The FP32 image of a prompt and seed, from the cache folder when it holds it (keyed by prompt, seed and steps).</summary>
    private static byte[] Fp32Image(DiffusionPipeline fp32, string prompt, int seed, int steps, string? cache, CancellationToken ct)
    {
        string? file = null;
        if (cache is not null)
        {
            string key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{prompt}\n{seed}\n{steps}")))[..24];
            file = Path.Combine(cache, key + ".rgb");
            if (File.Exists(file)) return File.ReadAllBytes(file);
        }
        var rgb = fp32.Generate(prompt, new GenerationOptions { Seed = seed, Steps = steps }, cancellationToken: ct).Rgb;
        if (file is not null)
        {
            Directory.CreateDirectory(cache!);
            Runtime.IO.AtomicFile.WriteAllBytes(file, rgb);
        }
        return rgb;
    }

    /// <summary>PSNR of the mean squared error over every image (finite unless all images are identical: then null).</summary>
    private static double? PooledPsnr(List<byte[]> a, List<byte[]> b)
    {
        double se = 0;
        long n = 0;
        for (int i = 0; i < a.Count; i++)
        {
            for (int k = 0; k < a[i].Length; k++)
            {
                double d = a[i][k] - b[i][k];
                se += d * d;
            }
            n += a[i].Length;
        }
        return se == 0 ? null : 10 * Math.Log10(255.0 * 255.0 * n / se);
    }

    private static string Format(object? v) => v switch
    {
        null => "n/a",
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
