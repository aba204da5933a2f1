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
        ErrorCodes.MetadataInvalid => "use WeightBits 2/4/8/16/32, ActivationBits 4/8/16/32, Steps 1-1000 and an existing CalibrationPrompts file",
        ErrorCodes.ClassNameInvalid => "set ClassName to a C# identifier, e.g. ClassName=\"MyModel\"",
        ErrorCodes.DuplicateClassName => "give each MixDQModel its own ClassName",
        ErrorCodes.PlanInvalid => "delete the plan and rebuild so that the compiler writes it again",
        ErrorCodes.PlanVersionUnsupported => "update the MixDQ.Sdk package, or rebuild to write the plan with this version",
        ErrorCodes.OutputNotWritable => "check that the output folder exists and is writable",
        ErrorCodes.AnalysisNotImplemented => "use WeightBits=\"16\" ActivationBits=\"16\" until the analysis lands",
        ErrorCodes.CompilerFailed => "this is a bug in the MixDQ compiler; please report it with the build log",
        ErrorCodes.InvalidArgument => "run mixdq-compile --help",
        _ => null,
    };

    /// <summary>The diagnostic line followed by the hint: <c>error MIXDQ020: ... Fix: ...</c>.</summary>
    public static string WithHint(string diagnosticLine, string code) =>
        For(code) is { } hint ? $"{diagnosticLine}. Fix: {hint}" : diagnosticLine;
}
