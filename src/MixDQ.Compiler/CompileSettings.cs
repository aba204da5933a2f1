using MixDQ.Runtime.Quantization;

namespace MixDQ.Compiler;

/// <summary>Which variant of the analysis runs (the paper's ablation, reproducible from a project file).</summary>
public enum QuantizationMethod
{
    /// <summary>Calibration, BOS-aware text embedding, metric-decoupled sensitivity, OR-Tools bit allocation.</summary>
    MixDQ,
    /// <summary>Uniform bits (the target must be a candidate width), min-max, one input quantizer per layer, no BOS handling.</summary>
    Naive,
    /// <summary>Mixed precision scored by SQNR alone, one program over all layers (no metric decoupling), BOS-aware.</summary>
    SqnrOnly,
    /// <summary>MixDQ without BOS-aware text-embedding quantization (calibration sees token 0; no BOS rows).</summary>
    NoBos,
}

/// <summary>What the user asked for (MSBuild item metadata or command-line options).</summary>
public sealed record CompileSettings
{
    /// <summary>Float widths: 16 (FP16) or 32 (FP32). Anything below 16 is an average integer target.</summary>
    public static readonly IReadOnlyList<int> FloatWidths = [16, 32];

    /// <summary>Target average weight bits of the UNet: 16/32 (float) or an average within the candidate widths (e.g. 3.66).</summary>
    public double WeightBits { get; init; } = 16;

    /// <summary>Target average activation bits of the UNet's quantizable layer inputs: 16/32 or within the activation candidates (e.g. 7.7).</summary>
    public double ActivationBits { get; init; } = 16;

    /// <summary>Denoising steps the model is compiled (and calibrated) for.</summary>
    public int Steps { get; init; } = 1;

    /// <summary>A text file with one calibration prompt per line; null = the model folder's <c>calibration_prompts.txt</c>.</summary>
    public string? CalibrationPromptsFile { get; init; }

    /// <summary>How many calibration prompts (from the top of the file) calibrate the activation ranges.</summary>
    public int CalibrationPromptCount { get; init; } = 16;

    /// <summary>Images per sensitivity measurement (SSIM / SQNR) and per candidate of the final MSE pick (first prompts of the file).</summary>
    public int SensitivityPromptCount { get; init; } = 4;

    /// <summary>
    /// Candidates of the final MSE pick that are generated on every sensitivity prompt: the best of a screen that ranks every
    /// candidate by its denoised latents for the first prompt (no decode). 0 = every candidate's images (the exhaustive pick).
    /// </summary>
    public int PickShortlist { get; init; } = 8;

    /// <summary>Weight widths of the content group (the quality group uses those ≥ 4, as the paper).</summary>
    public IReadOnlyList<int> WeightCandidates { get; init; } = [2, 4, 8];

    /// <summary>Activation widths of both groups.</summary>
    public IReadOnlyList<int> ActivationCandidates { get; init; } = [4, 8];

    /// <summary>Share of each group's activation layers, the most sensitive ones, kept FP16 (the paper keeps ~1 %).</summary>
    public double ProtectedShare { get; init; } = 0.01;

    public QuantizationMethod Method { get; init; } = QuantizationMethod.MixDQ;

    public WeightScheme WeightScheme { get; init; } = WeightScheme.Symmetric;

    public WeightClipping WeightClipping { get; init; } = WeightClipping.MinMax;

    /// <summary>The analysis cache; null = <c>{OutputDirectory}/{ClassName}.mixdq.lock.json</c>.</summary>
    public string? LockFile { get; init; }

    public bool QuantizesWeights => WeightBits < 16;

    public bool QuantizesActivations => ActivationBits < 16;

    /// <summary>True when the analysis (calibration, sensitivity, allocation) has to run.</summary>
    public bool IsQuantized => QuantizesWeights || QuantizesActivations;
}
