using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using MixDQ.Compiler.Hashing;
using MixDQ.Compiler.Models;
using MixDQ.Compiler.Plans;
using MixDQ.Compiler.Safetensors;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler;

/// <summary>One compilation: which model, which class, where to write, with which settings.</summary>
public sealed record CompileRequest(string ModelDirectory, string ClassName, string OutputDirectory, CompileSettings Settings)
{
    /// <summary>Also write <c>{ClassName}.mixdq.report.html</c> beside the plan (MSBuild <c>MixDQReport="true"</c>); off by default.</summary>
    public bool WriteReport { get; init; }
}

/// <summary>What a compilation produced.</summary>
public sealed record CompileResult(
    PlanDocument Plan,
    string PlanPath,
    string PlanHash,
    string ArtifactPath,
    long ArtifactBytes,
    IReadOnlyList<MixDQWarning> Warnings,
    TimeSpan Elapsed);

/// <summary>
/// Reads a diffusers folder and writes <c>{Class}.mixdq.plan.json</c> and <c>{Class}.mixdq.safetensors</c>.
/// The artifact holds every tensor of the networks the runtime runs (text encoders, UNet, VAE), named
/// <c>component/tensor</c>, floats at the plan's precision, plus in <c>__metadata__</c> the plan hash, the
/// input hash and the small text files (model_index.json, configs, tokenizer files) as <c>mixdq.file:path</c>,
/// so that the artifact alone is enough to run the model.
/// </summary>
public static class ModelCompiler
{
    public const string ArtifactSuffix = ".mixdq.safetensors";

    /// <summary>Metadata keys of the artifact.</summary>
    public static class ArtifactKeys
    {
        public const string FormatVersion = "mixdq.artifact_version";
        public const string PlanHash = "mixdq.plan_hash";
        public const string InputHash = "mixdq.input_hash";
        public const string ClassName = "mixdq.class_name";
        public const string FilePrefix = "mixdq.file:";
    }

    /// <summary>The version written into plans (the assembly's informational version without the commit suffix).</summary>
    public static string CompilerVersion { get; } = ReadVersion();

    public static CompileResult Compile(CompileRequest request, IModelDescriber? describer = null, IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        describer ??= new RuntimeModelDescriber();
        ValidateRequest(request);
        var warnings = new List<MixDQWarning>();

        progress?.Report($"reading model folder {request.ModelDirectory}");
        using var folder = ModelFolder.Open(request.ModelDirectory);

        var inputs = folder.InputFiles().ToList();
        string inputHash = InputHasher.Hash(folder.Root, inputs,
            new Progress(p => progress?.Report($"hashing {p.File} ({p.Index + 1}/{p.Count})")), cancellationToken);

        var settings = request.Settings;
        int floatWeightBits = settings.WeightBits >= 32 ? 32 : 16, floatActivationBits = settings.ActivationBits >= 32 ? 32 : 16;
        string floatDType = floatWeightBits == 32 ? "F32" : "F16";

        var descriptions = new Dictionary<string, ComponentDescription>(StringComparer.Ordinal);
        foreach (var component in folder.Components.Where(c => c.Role == ComponentRole.Network))
        {
            progress?.Report($"describing {component.Name} ({component.ClassName})");
            descriptions.Add(component.Name, describer.Describe(component));
        }

        // The MixDQ analysis: only when integer widths are asked for.
        Analysis.AnalysisOutcome? analysis = null;
        string? promptsHash = settings.CalibrationPromptsFile is { } prompts ? InputHasher.HashFile(prompts) : null;
        if (settings.IsQuantized)
        {
            string lockPath = settings.LockFile ?? Path.Combine(request.OutputDirectory, request.ClassName + Analysis.AnalysisLock.FileSuffix);
            analysis = Analysis.ModelAnalysis.Run(folder.Root, inputHash, settings, lockPath, progress, warnings, cancellationToken);
            promptsHash = analysis.PromptsHash;
        }

        var layers = new List<PlanLayer>();
        foreach (var description in descriptions.Values)
            foreach (var layer in description.Layers)
                layers.Add(PlanLayerOf(layer, LayerGrouping.Classify(layer.Component, layer.Name), analysis, floatWeightBits, floatActivationBits));

        var programs = ForwardPrograms.Trace(folder, progress);

        string artifactFile = request.ClassName + ArtifactSuffix;
        var plan = new PlanDocument(
            PlanDocument.CurrentSchemaVersion, CompilerVersion, request.ClassName, inputHash, ModelFamily(folder), folder.PipelineClass,
            new PlanSettings(settings.WeightBits, settings.ActivationBits, settings.Steps, promptsHash) { Method = analysis?.Method },
            new PlanArtifact(artifactFile, floatDType),
            folder.Components.Select(c => new PlanComponent(c.Name, c.ClassName, c.WeightsRelativePath)).ToList(),
            layers,
            PlanTotals.Of(layers)) { Programs = programs };
        byte[] planBytes = plan.ToUtf8Json();
        string planHash = PlanDocument.HashOf(planBytes);

        Directory.CreateDirectory(request.OutputDirectory);
        string artifactPath = Path.GetFullPath(Path.Combine(request.OutputDirectory, artifactFile));
        string planPath = Path.GetFullPath(Path.Combine(request.OutputDirectory, request.ClassName + PlanDocument.FileSuffix));

        progress?.Report($"writing {artifactFile} ({floatDType})");
        var tensors = ArtifactTensors(folder, descriptions, Enum.Parse<DType>(floatDType), analysis?.Quantized);
        var metadata = ArtifactMetadata(folder, request.ClassName, planHash, inputHash);
        // 64-byte aligned panels: the CPU backend uses them in place (PLAN-FORMAT.md, "Float weights stored as panels").
        SafetensorsWriter.WriteStreamed(artifactPath, tensors, metadata, cancellationToken, dataAlignment: 64);
        // The plan goes last: a plan on disk always has its artifact beside it.
        AtomicFile.WriteAllBytes(planPath, planBytes);

        return new CompileResult(plan, planPath, planHash, artifactPath, new FileInfo(artifactPath).Length, warnings, clock.Elapsed);
    }

    private static void ValidateRequest(CompileRequest request)
    {
        if (!ClassNames.IsValidIdentifier(request.ClassName))
            throw new MixDQException(ErrorCodes.ClassNameInvalid,
                $"class name '{request.ClassName}' is not a C# identifier; use letters, digits and '_', not starting with a digit", item: "ClassName");
        var s = request.Settings;
        SettingsValidator.Check(s);
        if (s.Steps is < 1 or > 1000)
            throw new MixDQException(ErrorCodes.MetadataInvalid, $"steps {s.Steps} must be between 1 and 1000", item: "Steps");
        if (s.CalibrationPromptsFile is { } f && !File.Exists(f))
            throw new MixDQException(ErrorCodes.CalibrationPromptsInvalid, "the calibration prompt file does not exist", f, "CalibrationPrompts");
    }

    /// <summary>A short family name from the pipeline class and the UNet's text width.</summary>
    private static string ModelFamily(ModelFolder folder)
    {
        if (folder.PipelineClass == "StableDiffusionXLPipeline") return "sdxl";
        if (folder.PipelineClass != "StableDiffusionPipeline") return folder.PipelineClass;
        string? unetConfig = folder.Find("unet")?.ConfigJson;
        if (unetConfig is null) return "sd";
        using var doc = JsonDocument.Parse(unetConfig, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        return doc.RootElement.TryGetProperty("cross_attention_dim", out var d) && d.ValueKind == JsonValueKind.Number
            ? d.GetInt32() switch { 768 => "sd1", 1024 => "sd2", _ => "sd" }
            : "sd";
    }

    /// <summary>The tensors the runtime reads (the VAE encoder, for one, stays behind), in name order.</summary>
    private static List<SafetensorsStreamEntry> ArtifactTensors(ModelFolder folder, Dictionary<string, ComponentDescription> descriptions, DType floatDType,
        IReadOnlyDictionary<string, Runtime.Quantization.QuantizedLayer>? quantized)
    {
        var list = new List<SafetensorsStreamEntry>();
        var replacedWeights = quantized?.Keys.Select(k => k + ".weight").ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var c in folder.Components.Where(c => c.Weights is not null))
        {
            var uses = descriptions[c.Name].UsesTensor;
            // FP32 artifacts store float layer weights as the CPU kernels' panels; FP16 ones keep them row-major.
            var layerOfWeight = floatDType == DType.F32
                ? descriptions[c.Name].Layers.ToDictionary(l => l.Name + ".weight", StringComparer.Ordinal)
                : [];
            foreach (var e in c.Weights!.Tensors.Where(e => uses(e.Name)).OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                string name = $"{c.Name}/{e.Name}";
                if (replacedWeights.Contains(name)) continue; // an integer layer: its packed form below replaces the float weight
                bool isFloat = e.DType is DType.F16 or DType.BF16 or DType.F32 or DType.F64;
                if (isFloat && layerOfWeight.TryGetValue(e.Name, out var layer) && PanelTensor.Create(c.Name, layer, c.Weights, e) is { } panels)
                {
                    list.Add(panels);
                    continue;
                }
                list.Add(ConvertedTensor.Create(name, c.Weights, e, isFloat ? floatDType : e.DType));
            }
        }
        if (quantized is not null)
            foreach (var (layer, q) in quantized.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                list.AddRange(IntegerLayerTensors.Of(layer, q));
        return list;
    }

    /// <summary>A described layer with the widths and quantization the analysis chose (FP when it chose nothing).</summary>
    private static PlanLayer PlanLayerOf(LayerInfo layer, Runtime.Compiled.LayerGroup group, Analysis.AnalysisOutcome? analysis, int floatWeightBits, int floatActivationBits)
    {
        string name = layer.QualifiedName;
        var plain = new PlanLayer(layer.Component, layer.Name, layer.Kind, layer.WeightShape, floatWeightBits, floatActivationBits, group);
        if (analysis is null || layer.Component != "unet") return plain;
        var sensitivity = analysis.Sensitivity?.Layers.GetValueOrDefault(name);
        int w = analysis.Allocation.WeightBitsOf(name), a = analysis.Allocation.ActivationBitsOf(name);
        var planSensitivity = sensitivity is null ? null : new PlanSensitivity(
            sensitivity.Metric == Analysis.SensitivityMetric.Ssim ? MixDQ.Plans.PlanSchema.Ssim : MixDQ.Plans.PlanSchema.Sqnr,
            w < 16 && sensitivity.Weights.TryGetValue(w, out double sw) ? sw : null,
            a < 16 && sensitivity.Activations.TryGetValue(a, out double sa) ? sa : null);
        if (!analysis.Quantized.TryGetValue(name, out var q)) return plain with { Sensitivity = planSensitivity };
        return plain with
        {
            WeightBits = q.Weight.Bits,
            ActivationBits = q.QuantizesInput ? q.Input[0].Params.Bits : floatActivationBits,
            Quantization = new PlanQuantization(q.Weight.Scheme == Runtime.Quantization.WeightScheme.Asymmetric,
                q.Input.Select(s => new PlanInputQuant(s.Channels, s.Params.Scale, s.Params.ZeroPoint)).ToList(), q.BosRow is not null),
            Sensitivity = planSensitivity,
        };
    }

    private static Dictionary<string, string> ArtifactMetadata(ModelFolder folder, string className, string planHash, string inputHash)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ArtifactKeys.FormatVersion] = "2",
            [ArtifactKeys.PlanHash] = planHash,
            [ArtifactKeys.InputHash] = inputHash,
            [ArtifactKeys.ClassName] = className,
            [ArtifactKeys.FilePrefix + "model_index.json"] = folder.ModelIndexJson,
        };
        foreach (var c in folder.Components)
        {
            foreach (string rel in c.TextFiles)
                metadata[ArtifactKeys.FilePrefix + rel] = File.ReadAllText(Path.Combine(folder.Root, rel));
        }
        return metadata;
    }

    private static string ReadVersion()
    {
        string? v = typeof(ModelCompiler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(v)) return typeof(ModelCompiler).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        int plus = v.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 ? v[..plus] : v;
    }

    private sealed class Progress(Action<(string File, int Index, int Count)> report) : IProgress<(string File, int Index, int Count)>
    {
        public void Report((string File, int Index, int Count) value) => report(value);
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
