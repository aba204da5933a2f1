namespace MixDQ.Compiler;

/// <summary>What the user asked for (MSBuild item metadata or command-line options).</summary>
public sealed record CompileSettings
{
    /// <summary>Allowed weight widths: integer 2/4/8, or 16/32 for FP16/FP32.</summary>
    public static readonly IReadOnlyList<int> AllowedWeightBits = [2, 4, 8, 16, 32];

    /// <summary>Allowed activation widths: integer 4/8, or 16/32 for FP16/FP32.</summary>
    public static readonly IReadOnlyList<int> AllowedActivationBits = [4, 8, 16, 32];

    public int WeightBits { get; init; } = 16;

    public int ActivationBits { get; init; } = 16;

    /// <summary>Denoising steps the model is compiled (and later calibrated) for.</summary>
    public int Steps { get; init; } = 1;

    /// <summary>A text file with one calibration prompt per line; null = none.</summary>
    public string? CalibrationPromptsFile { get; init; }
}
