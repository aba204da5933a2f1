using MixDQ.Compiler.Hashing;
using MixDQ.Compiler.Models;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;

namespace MixDQ.Compiler.Reporting;

/// <summary>What to report on and where to write it (the options of <c>mixdq report</c>).</summary>
public sealed record ReportRequest(string PlanPath, string OutputPath)
{
    public string? LockPath { get; init; }

    /// <summary>The model folder; with it the page shows FP32 vs quantized images.</summary>
    public string? ModelDirectory { get; init; }

    /// <summary>Prompt file of the image grid (default: <c>heldout_prompts.txt</c> of the model).</summary>
    public string? PromptsPath { get; init; }

    public int PromptCount { get; init; } = ReportImages.DefaultPromptCount;

    /// <summary>The command line that reproduces the page, printed on it.</summary>
    public required string Command { get; init; }
}

/// <summary>Reads the inputs, checks they belong together, makes the images, builds the model and writes the page.</summary>
public static class ReportGenerator
{
    public static ReportModel Run(ReportRequest request, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var (planPath, bytes, plan, lockFile) = ReportInputs.Read(request.PlanPath, request.LockPath);
        bool integer = plan.Layers.Any(l => MixDQ.Plans.PlanSchema.IsIntegerWeight(l.WeightBits));
        ImageSection images;
        if (request.ModelDirectory is not { } model)
            images = ImageSection.Missing("No images: the report was made without --model, so the FP32 and quantized images were not generated.");
        else
        {
            CheckModelMatches(model, plan.InputHash, cancellationToken);
            images = integer
                ? ReportImages.Generate(model, planPath, ReportImages.LoadPrompts(request.PromptsPath ?? Path.Combine(model, "heldout_prompts.txt"), request.PromptCount),
                    plan.Settings.Steps, progress, cancellationToken)
                : ImageSection.Missing("No images: the plan has no integer layers, so its images are the FP ones.");
        }
        var report = ReportBuilder.Build(new ReportInputs(planPath, bytes, plan, lockFile, images, request.Command), ModelCompiler.CompilerVersion);
        AtomicFile.WriteAllBytes(request.OutputPath, new HtmlReportEmitter().Emit(report));
        return report;
    }

    /// <summary>The model folder must be the one the plan was compiled from (same input hash), else MIXDQ079.</summary>
    private static void CheckModelMatches(string modelDir, string planInputHash, CancellationToken cancellationToken)
    {
        using var folder = ModelFolder.Open(modelDir);
        string hash = InputHasher.Hash(folder.Root, folder.InputFiles().ToList(), null, cancellationToken);
        if (hash != planInputHash)
            throw new MixDQException(ErrorCodes.ReportInputsMismatch,
                $"the model folder (input hash {hash}) is not the one the plan was compiled from ({planInputHash})", modelDir, "inputHash");
    }
}
