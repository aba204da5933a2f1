using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Evaluation.Metrics;
using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Imaging;
using MixDQ.Runtime.Pipelines;

namespace MixDQ.Compiler.Reporting;

/// <summary>
/// The image grid: each prompt with seed <c>i</c> through the FP32 model and through the plan (integer layers replayed
/// simulated from the artifact, as <c>mixdq evaluate --plan</c> does), compared with SSIM/PSNR and, when the prompt is
/// in the TinyShapes grammar, the judge's verdict per attribute.
/// </summary>
public static class ReportImages
{
    public const int DefaultPromptCount = 8;

    public static ImageSection Generate(string modelDir, string planPath, IReadOnlyList<string> prompts, int steps,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var layers = PlanSimulation.ReadIntegerLayers(planPath);
        var simulated = new SimulatedQuantBackend(new MixDQ.Runtime.Backends.Cpu.CpuBackend());
        using var quantized = DiffusionPipeline.Load(modelDir, new PipelineLoadOptions { Backend = simulated });
        simulated.Replay(layers);
        using var fp32 = DiffusionPipeline.Load(modelDir);
        var pairs = new List<ImagePair>();
        for (int i = 0; i < prompts.Count; i++)
        {
            progress?.Report($"image {i + 1}/{prompts.Count}: {prompts[i]}");
            var options = new GenerationOptions { Seed = i, Steps = steps };
            var fp = fp32.Generate(prompts[i], options, cancellationToken: cancellationToken);
            var q = quantized.Generate(prompts[i], options, cancellationToken: cancellationToken);
            double ssim = ImageMetrics.Ssim(fp.Rgb, q.Rgb, fp.Width, fp.Height, 3);
            double? psnr = fp.Rgb.AsSpan().SequenceEqual(q.Rgb) ? null : ImageMetrics.Psnr(fp.Rgb, q.Rgb);
            bool judged = TinyShapesGrammar.TryParse(prompts[i], out _) && fp.Width == TinyShapesWorld.ImageSize && fp.Height == TinyShapesWorld.ImageSize;
            pairs.Add(new ImagePair(prompts[i], i, PngFile.Encode(fp.Rgb, fp.Width, fp.Height), PngFile.Encode(q.Rgb, q.Width, q.Height), ssim, psnr,
                judged ? Judge(fp.Rgb, fp.Width, fp.Height, prompts[i]) : null, judged ? Judge(q.Rgb, q.Width, q.Height, prompts[i]) : null));
        }
        string note = $"{pairs.Count} prompts, {steps} step(s), seeds 0..{pairs.Count - 1}; the quantized images come from simulated quantization "
            + "(integer codes dequantized on the CPU backend), which computes the same values as integer kernels up to float rounding.";
        return new ImageSection(note, pairs);
    }

    /// <summary>The prompts of the grid: the first <paramref name="count"/> lines of the file (MIXDQ050 when it has none).</summary>
    public static IReadOnlyList<string> LoadPrompts(string path, int count)
    {
        var prompts = TinyShapesEvaluator.LoadPrompts(path).Take(count).ToList();
        return prompts.Count > 0 ? prompts : throw new MixDQException(ErrorCodes.InvalidArgument, "the prompt file holds no prompts", path);
    }

    private static Verdict Judge(byte[] rgb, int width, int height, string prompt)
    {
        var r = TinyShapesJudge.Score(rgb, width, height, prompt);
        bool? All(Func<ObjectJudgement, bool?> pick) =>
            r.Objects.Select(pick).Where(v => v is not null).ToList() is { Count: > 0 } stated ? stated.All(v => v == true) : null;
        return new Verdict(r.BackgroundCorrect, r.CountCorrect, r.Objects.All(o => o.Found && o.ShapeCorrect), r.Objects.All(o => o.Found && o.ColourCorrect),
            All(o => o.SizeCorrect), All(o => o.PositionCorrect));
    }
}
