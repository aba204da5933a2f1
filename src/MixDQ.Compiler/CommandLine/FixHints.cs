using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.CommandLine;

/// <summary>One sentence per error code telling the user what to change.</summary>
public static class FixHints
{
    public static string? For(string code) => code switch
    {
        ErrorCodes.ModelFolderMissing => "check the model path (MixDQModel Include is relative to the project file)",
        ErrorCodes.NotADiffusersModel => "point it at a diffusers pipeline folder: the one holding model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/",
        ErrorCodes.ConfigMissing or ErrorCodes.ConfigInvalid or ErrorCodes.ConfigUnsupportedValue
            => "restore the component's config file from the original model download",
        ErrorCodes.WeightsFileMissing => "add the component's weights as .safetensors (PyTorch .bin files are not supported)",
        ErrorCodes.FileTruncated or ErrorCodes.HeaderLengthInvalid or ErrorCodes.HeaderNotJson or ErrorCodes.TensorEntryInvalid
            or ErrorCodes.TensorOffsetsInvalid or ErrorCodes.TensorOverlap or ErrorCodes.UnknownDType or ErrorCodes.DuplicateTensor
            => "the weights file is damaged or not a safetensors file: download it again",
        ErrorCodes.FileUnreadable => "check that the file exists and is readable",
        ErrorCodes.MetadataInvalid => "use WeightBits 2-8 (an average, e.g. 3.66) or 16/32, ActivationBits 4-8 or 16/32, Steps 1-1000, Method mixdq|naive|sqnr-only|no-bos",
        ErrorCodes.CalibrationPromptsInvalid => "point CalibrationPrompts at a UTF-8 text file with one prompt (under 1000 characters) per line, or add calibration_prompts.txt to the model folder",
        ErrorCodes.BitBudgetUnreachable => "choose a target within the candidate widths (WeightCandidates/ActivationCandidates), or 16 for floating point",
        ErrorCodes.LockFileIgnored => "nothing to do: the analysis reran and rewrote the lock file; commit the new one",
        ErrorCodes.AllocationNotProven => "the plan is valid; rebuild on a less loaded machine for a proven-optimal allocation",
        ErrorCodes.AnalysisSettingsInvalid => "quantize weights too (WeightBits 8 or less) when ActivationBits is below 16",
        ErrorCodes.ClassNameInvalid => "set ClassName to a C# identifier, e.g. ClassName=\"MyModel\"",
        ErrorCodes.DuplicateClassName => "give each MixDQModel its own ClassName",
        ErrorCodes.PlanInvalid => "delete the plan and rebuild so that the compiler writes it again",
        ErrorCodes.PlanVersionUnsupported => "update the MixDQ.Sdk package, or rebuild to write the plan with this version",
        ErrorCodes.OutputNotWritable => "check that the output folder exists and is writable",
        ErrorCodes.CompilerFailed => "this is a bug in the MixDQ compiler; please report it with the build log",
        ErrorCodes.InvalidArgument => "run mixdq-compile --help",
        _ => null,
    };

    /// <summary>The diagnostic line followed by the hint: <c>error MIXDQ020: ... Fix: ...</c>.</summary>
    public static string WithHint(string diagnosticLine, string code) =>
        For(code) is { } hint ? $"{diagnosticLine}. Fix: {hint}" : diagnosticLine;
}
