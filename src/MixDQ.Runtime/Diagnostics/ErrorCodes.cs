namespace MixDQ.Runtime.Diagnostics;

/// <summary>
/// Every stable error code of the product, in one place so that codes are never reused.
/// Ranges: 001-019 tensor files (safetensors, npy); 020-039 model folders, configs and weight binding;
/// 040-049 tokenizer and schedulers; 050-059 pipeline, images and CLI; 060-079 compiler, plan and SDK;
/// 080-089 judge and metrics; 090-099 reserved for quantization.
/// </summary>
public static class ErrorCodes
{
    // Tensor files.
    public const string FileTruncated = "MIXDQ001";
    public const string HeaderLengthInvalid = "MIXDQ002";
    public const string HeaderNotJson = "MIXDQ003";
    public const string TensorEntryInvalid = "MIXDQ004";
    public const string TensorOffsetsInvalid = "MIXDQ005";
    public const string TensorOverlap = "MIXDQ006";
    public const string UnknownDType = "MIXDQ007";
    public const string DuplicateTensor = "MIXDQ008";
    public const string TensorNotFound = "MIXDQ009";
    public const string NpyInvalid = "MIXDQ010";
    public const string FileUnreadable = "MIXDQ011";
    public const string NonFiniteWeights = "MIXDQ012"; // a warning: names the tensor
    public const string TensorTooLarge = "MIXDQ013"; // valid file, but one tensor exceeds what one .NET buffer holds

    // Model folders, configs, weight binding.
    public const string ModelFolderMissing = "MIXDQ020";
    public const string ConfigMissing = "MIXDQ021";
    public const string ConfigInvalid = "MIXDQ022";
    public const string ConfigUnsupportedValue = "MIXDQ023";
    public const string WeightsMismatch = "MIXDQ024";
    public const string WeightsFileMissing = "MIXDQ025";
    public const string NotADiffusersModel = "MIXDQ026";

    // Tokenizer and schedulers.
    public const string TokenizerFilesInvalid = "MIXDQ040";
    public const string SchedulerInvalid = "MIXDQ041";
    public const string PromptTruncated = "MIXDQ042"; // a warning

    // Pipeline, images, CLI.
    public const string InvalidArgument = "MIXDQ050";
    public const string OutputNotWritable = "MIXDQ051";
    public const string LatentsInvalid = "MIXDQ052";
    public const string ImageInvalid = "MIXDQ053";
    public const string NonFiniteOutput = "MIXDQ054";
    public const string DeviceUnavailable = "MIXDQ057"; // a device asked for by name (cuda) is not present or its backend is not installed
    public const string InternalError = "MIXDQ059";

    // Compiler, plan, SDK.
    public const string PlanInvalid = "MIXDQ060";
    public const string PlanVersionUnsupported = "MIXDQ061";
    public const string ArtifactInvalid = "MIXDQ062";
    public const string MetadataInvalid = "MIXDQ063";
    public const string ClassNameInvalid = "MIXDQ064";
    public const string DuplicateClassName = "MIXDQ065";
    public const string CompilerFailed = "MIXDQ066";
    public const string AnalysisNotImplemented = "MIXDQ067"; // retired (no longer emitted): integer bits used to give an FP16 plan
    public const string ArtifactPlanMismatch = "MIXDQ068";
    public const string CalibrationPromptsInvalid = "MIXDQ069"; // missing, empty or over-long calibration prompt file
    public const string BitBudgetUnreachable = "MIXDQ070"; // a target average the candidate widths cannot reach
    public const string LockFileIgnored = "MIXDQ071"; // a warning: corrupt lock file or one of another model; the analysis reruns
    public const string AllocationNotProven = "MIXDQ072"; // a warning: the solver stopped with a feasible, unproven allocation
    public const string AnalysisSettingsInvalid = "MIXDQ073"; // settings that contradict each other (e.g. integer activations with FP weights)
    public const string ReportLockInvalid = "MIXDQ078"; // mixdq report: a lock file it cannot read fully
    public const string ReportInputsMismatch = "MIXDQ079"; // mixdq report: plan, lock file or model folder of different models

    // Quantization: formats, packed weights, precisions a backend runs.
    public const string QuantizedWeightsInvalid = "MIXDQ090"; // packed sizes, scales or zero points that disagree with the layer
    public const string PrecisionNotSupported = "MIXDQ091"; // a backend asked to run a precision it has no kernel for
    public const string QuantizationSettingsInvalid = "MIXDQ092"; // a width, scheme or range the formats do not define

    // Judge and metrics.
    public const string JudgeImageSize = "MIXDQ080";
    public const string JudgePromptGrammar = "MIXDQ081";
    public const string MetricInputInvalid = "MIXDQ082";
}
