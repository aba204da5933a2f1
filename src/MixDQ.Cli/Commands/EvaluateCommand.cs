using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MixDQ.Compiler.Plans;
using MixDQ.Evaluation.Metrics;
using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Pipelines;

namespace MixDQ.Cli.Commands;

/// <summary>
/// <c>mixdq evaluate</c>: generates one image per TinyShapes prompt through the C# runtime (a model folder, or a
/// compiled plan and its artifact) and scores it with the analytic judge, per prompt file and per prompt form
/// (full, size only, position only, bare, mixed); for fully specified prompts also SSIM/PSNR against the world's
/// exact render and a Fréchet distance between the generated and rendered sets (an under-specified prompt has
/// no single render).
/// </summary>
internal static class EvaluateCommand
{
    /// <summary>The prompt files a model folder is scored on by default, those present of them.</summary>
    internal static readonly string[] DefaultPromptFiles = ["heldout_prompts.txt", "heldout_forms_prompts.txt", "indist_forms_prompts.txt"];

    public static Command Create(CliContext ctx)
    {
        var model = new Option<string?>("--model") { Description = "a TinyShapes diffusers folder" };
        var plan = new Option<string?>("--plan")
        {
            Description = "a compiled *.mixdq.plan.json (its artifact next to it), run as its generated code runs it (integer layers on the " +
                          "backend's integer kernels); with --model also scored against that FP32 model's images of the same seeds",
        };
        var simulate = new Option<bool>("--simulate")
        {
            Description = "with --plan and --model: run the plan's integer layers simulated (dequantized weights, fake-quantized inputs) " +
                          "over the FP32 model, as the build's analysis measured them, instead of the integer kernels",
        };
        var fpCache = new Option<string?>("--fp32-cache")
        {
            Description = "with --plan and --model: a folder that keeps the FP32 images (by prompt, steps and seed) so that several plans share one FP32 run",
        };
        var prompts = new Option<string[]>("--prompts")
        {
            Description = "prompt files, each scored on its own (default: the model folder's " + string.Join(", ", DefaultPromptFiles) + ")",
            AllowMultipleArgumentsPerToken = true,
        };
        var steps = new Option<int>("--steps") { Description = "denoising steps", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "seed of the first prompt of each file (prompt i uses seed + i)", DefaultValueFactory = _ => 0 };
        var repeats = new Option<int>("--repeats") { Description = "run each prompt list this many times with new seeds (more images for the Fréchet distance)", DefaultValueFactory = _ => 1 };
        var limit = new Option<int?>("--limit") { Description = "use only the first N prompts of each file" };
        var json = new Option<string?>("--json") { Description = "also write the numbers to this JSON file" };
        var cmd = new Command("evaluate", "Score a TinyShapes model with the analytic judge through the C# runtime.")
        {
            model, plan, simulate, fpCache, prompts, steps, seed, repeats, limit, json,
        };
        cmd.SetAction((ParseResult r, CancellationToken ct) =>
        {
            int rep = r.GetValue(repeats);
            if (rep < 1) throw new MixDQException(ErrorCodes.InvalidArgument, "--repeats must be at least 1", item: "repeats");
            string? dir = r.GetValue(model), planPath = r.GetValue(plan);
            if (dir is null && planPath is null)
                throw new MixDQException(ErrorCodes.InvalidArgument, "give --model (a folder), --plan (a compiled plan) or both", item: "model");
            bool simulated = r.GetValue(simulate);
            if (simulated && (dir is null || planPath is null))
                throw new MixDQException(ErrorCodes.InvalidArgument, "--simulate needs both --plan and --model (the FP32 weights it simulates over)", item: "simulate");
            var files = PromptFiles(r.GetValue(prompts), dir);
            var sets = files.Select(f => (File: f, Prompts: Limit(TinyShapesEvaluator.LoadPrompts(f), r.GetValue(limit)))).ToList();
            int stepCount = r.GetValue(steps);

            using var pipeline = planPath is null ? DiffusionPipeline.Load(dir!) : simulated ? LoadSimulated(dir!, planPath) : LoadCompiled(planPath);
            // With a plan and a model, the FP32 model generates the same seeds too: SSIM/PSNR against FP32 is what quantization changed.
            using var fp32 = planPath is not null && dir is not null ? DiffusionPipeline.Load(dir) : null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int total = sets.Sum(s => s.Prompts.Count * rep), done = 0;
            var rows = new List<SortedDictionary<string, object?>>();
            var everything = new List<JudgeResult>();
            foreach (var (file, list) in sets)
            {
                var all = Enumerable.Repeat(list, rep).SelectMany(x => x).ToList();
                var generated = new List<byte[]>(all.Count);
                var fpImages = new List<byte[]>(all.Count);
                var evaluation = TinyShapesEvaluator.Evaluate((prompt, s) =>
                {
                    var image = pipeline.Generate(prompt, new GenerationOptions { Seed = s, Steps = stepCount }, cancellationToken: ct).Rgb;
                    generated.Add(image);
                    if (fp32 is not null) fpImages.Add(Fp32Image(fp32, prompt, s, stepCount, r.GetValue(fpCache), ct));
                    return image;
                }, all, r.GetValue(seed), new SyncProgress<int>(i =>
                {
                    done++;
                    if (done % 100 == 0 || done == total) ctx.Error.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1}s] {done}/{total} images");
                }), ct);
                everything.AddRange(evaluation.Results);
                var row = Row(file, "all", evaluation, ImageNumbers(all, generated));
                if (fp32 is not null)
                {
                    int size = TinyShapesWorld.ImageSize;
                    row["ssim_vs_fp32"] = Enumerable.Range(0, all.Count).Average(i => ImageMetrics.Ssim(generated[i], fpImages[i], size, size, 3));
                    row["psnr_vs_fp32"] = PooledPsnr(generated, fpImages);
                }
                rows.Add(row);
                var forms = evaluation.ByForm();
                if (forms.Count > 1)
                    foreach (var (form, part) in forms)
                        rows.Add(Row(file, FormName(form), part, null));
            }

            var numbers = new SortedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["model"] = Path.GetFullPath(dir ?? planPath!),
                ["steps"] = stepCount,
                ["images"] = everything.Count,
                ["seconds_per_image"] = clock.Elapsed.TotalSeconds / everything.Count,
                ["backend"] = pipeline.BackendName,
                ["plan"] = planPath is null ? null : Path.GetFullPath(planPath),
                ["plan_execution"] = planPath is null ? null : simulated ? "simulated" : "integer kernels",
                ["sets"] = rows,
            };
            Print(ctx.Out, numbers, rows);
            if (r.GetValue(json) is { } jsonPath)
                Runtime.IO.AtomicFile.WriteAllBytes(jsonPath, JsonSerializer.SerializeToUtf8Bytes(numbers, new JsonSerializerOptions { WriteIndented = true }));
            return Task.FromResult(CliApp.ExitOk);
        });
        return cmd;
    }

    private static IReadOnlyList<string> PromptFiles(string[]? given, string? modelDir)
    {
        if (given is { Length: > 0 }) return given;
        if (modelDir is null)
            throw new MixDQException(ErrorCodes.InvalidArgument, "--plan needs --prompts (a compiled plan has no prompt files of its own)", item: "prompts");
        var present = DefaultPromptFiles.Select(f => Path.Combine(modelDir, f)).Where(File.Exists).ToList();
        // None present: name the first, so the error says which file was looked for.
        return present.Count > 0 ? present : [Path.Combine(modelDir, DefaultPromptFiles[0])];
    }

    private static List<string> Limit(IReadOnlyList<string> prompts, int? limit) =>
        limit is { } n ? prompts.Take(Math.Max(1, n)).ToList() : prompts.ToList();

    /// <summary>Loads a compiled model the way its generated code does: the artifact in place, checked against the plan's hash, with the plan's precision per layer.</summary>
    private static DiffusionPipeline LoadCompiled(string planPath)
    {
        var document = PlanDocument.Load(planPath);
        string hash = PlanDocument.HashOf(File.ReadAllBytes(planPath));
        string artifact = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(planPath))!, document.Artifact.FileName);
        var precision = document.Layers.ToDictionary(l => l.QualifiedName, l => l.Precision, StringComparer.Ordinal);
        return CompiledModelLoader.LoadPipeline(artifact, hash,
            layer => precision.TryGetValue(layer.QualifiedName, out var p) ? p : CompiledModelLoader.UnknownLayer(layer, document.ClassName),
            MixDQDevice.Cpu);
    }

    /// <summary>The FP32 model with the plan's integer layers simulated on the CPU backend (what the build's analysis measured).</summary>
    private static DiffusionPipeline LoadSimulated(string modelDir, string planPath)
    {
        var backend = new Compiler.Analysis.Simulation.SimulatedQuantBackend(new Runtime.Backends.Cpu.CpuBackend());
        var pipeline = DiffusionPipeline.Load(modelDir, new PipelineLoadOptions { Backend = backend });
        backend.Replay(Compiler.Analysis.Simulation.PlanSimulation.ReadIntegerLayers(planPath));
        return pipeline;
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

    /// <summary>PSNR of the mean squared error over every image (null when all images are identical).</summary>
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

    /// <summary>SSIM and PSNR against the render and the Fréchet distance, over the fully specified prompts only (null when there are none).</summary>
    private static (double Ssim, double Psnr, double? Frechet, int Images)? ImageNumbers(IReadOnlyList<string> prompts, IReadOnlyList<byte[]> generated)
    {
        var full = Enumerable.Range(0, prompts.Count).Select(i => (Scene: TinyShapesGrammar.Parse(prompts[i]), Image: generated[i]))
            .Where(x => x.Scene.IsFullySpecified).ToList();
        if (full.Count == 0) return null;
        int size = TinyShapesWorld.ImageSize;
        var renders = full.Select(x => TinyShapesRenderer.Render(x.Scene)).ToList();
        var images = full.Select(x => x.Image).ToList();
        double ssim = Enumerable.Range(0, full.Count).Average(i => ImageMetrics.Ssim(images[i], renders[i], size, size, 3));
        double psnr = Enumerable.Range(0, full.Count).Average(i => ImageMetrics.Psnr(images[i], renders[i]));
        double? fd = full.Count >= 2 ? FrechetDistance.Compute(images, renders, size, size) : null;
        return (ssim, psnr, fd, full.Count);
    }

    private static SortedDictionary<string, object?> Row(string file, string form, TinyShapesEvaluation e, (double Ssim, double Psnr, double? Frechet, int Images)? image) =>
        new(StringComparer.Ordinal)
        {
            ["prompts_file"] = Path.GetFullPath(file),
            ["form"] = form,
            ["images"] = e.Prompts,
            ["overall"] = e.Overall,
            ["background"] = e.Background,
            ["count"] = e.Count,
            ["shape"] = e.Shape,
            ["colour"] = e.Colour,
            ["size"] = double.IsNaN(e.Size) ? null : e.Size,
            ["position"] = double.IsNaN(e.Position) ? null : e.Position,
            ["ssim_vs_render"] = image?.Ssim,
            ["psnr_vs_render"] = image?.Psnr,
            ["frechet_distance_vs_render"] = image?.Frechet,
            ["fully_specified_images"] = image?.Images ?? 0,
        };

    internal static string FormName(PromptForm form) => form switch
    {
        PromptForm.Full => "full",
        PromptForm.SizeOnly => "size-only",
        PromptForm.PositionOnly => "position-only",
        PromptForm.Bare => "bare",
        _ => "mixed",
    };

    private static readonly string[] Columns = ["images", "overall", "background", "count", "shape", "colour", "size", "position", "ssim_vs_render", "psnr_vs_render", "frechet_distance_vs_render", "ssim_vs_fp32", "psnr_vs_fp32"];

    private static void Print(TextWriter o, SortedDictionary<string, object?> numbers, List<SortedDictionary<string, object?>> rows)
    {
        foreach (var key in new[] { "model", "plan", "plan_execution", "steps", "images", "seconds_per_image", "backend" })
            o.WriteLine($"{key,-28} {Format(numbers[key])}");
        o.WriteLine();
        o.WriteLine($"{"prompts",-28} {"form",-14} " + string.Join(" ", Columns.Select(c => $"{Short(c),8}")));
        foreach (var row in rows)
            o.WriteLine($"{Path.GetFileName((string)row["prompts_file"]!),-28} {row["form"],-14} " + string.Join(" ", Columns.Select(c => $"{Format(row.GetValueOrDefault(c)),8}")));
    }

    private static string Short(string column) => column switch
    {
        "ssim_vs_render" => "ssim",
        "psnr_vs_render" => "psnr",
        "frechet_distance_vs_render" => "frechet",
        "ssim_vs_fp32" => "ssim_fp",
        "psnr_vs_fp32" => "psnr_fp",
        "background" => "bg",
        _ => column,
    };

    private static string Format(object? v) => v switch
    {
        null => "n/a",
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
