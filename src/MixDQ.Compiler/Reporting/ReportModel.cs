using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Reporting;

/// <summary>Everything the report page shows, computed up front; the emitter only prints it.</summary>
public sealed record ReportModel(
    ReportHeader Header,
    bool Analysed,
    IReadOnlyList<ComponentDrawing> Components,
    IReadOnlyList<SensitivityTable> Sensitivity,
    IReadOnlyList<BudgetRow> Budget,
    ImageSection Images);

/// <summary>What produced the page: plan identity, settings and the command that makes it again.</summary>
public sealed record ReportHeader(
    string ClassName,
    string ModelFamily,
    string PipelineClass,
    string PlanCompilerVersion,
    string ToolVersion,
    string PlanHash,
    string InputHash,
    string? LockHash,
    PlanSettings Settings,
    string Command);

/// <summary>One plan layer as drawn: where it sits, what it got, what it measured.</summary>
public sealed record LayerCell(PlanLayer Layer, string LocalName, bool Protected, CandidateScores? Candidates)
{
    public string QualifiedName => Layer.QualifiedName;
}

/// <summary>A network of the pipeline, drawn as its blocks in execution order.</summary>
public sealed record ComponentDrawing(string Name, IReadOnlyList<BlockDrawing> Blocks);

/// <summary>A block (<c>down_blocks.1</c>, <c>mid_block</c>, <c>conv_in</c>) and its modules; Depth is its level in the U.</summary>
public sealed record BlockDrawing(string Name, int Depth, IReadOnlyList<ModuleDrawing> Modules);

/// <summary>A module of a block (<c>resnets.0</c>, <c>attentions.0</c>; empty name for a layer that is the block itself).</summary>
public sealed record ModuleDrawing(string Name, IReadOnlyList<LayerCell> Layers);

/// <summary>The analysed layers of one group, most sensitive first, with every candidate width measured.</summary>
public sealed record SensitivityTable(LayerGroup Group, string Metric, IReadOnlyList<LayerCell> Rows, IReadOnlyList<int> WeightWidths, IReadOnlyList<int> ActivationWidths);

/// <summary>Size-weighted average widths and weight memory of a set of layers.</summary>
public sealed record BudgetRow(string Label, int Layers, long Parameters, double AverageWeightBits, double AverageActivationBits, long WeightBytes)
{
    public long Fp16Bytes => Parameters * 2;
    public long Fp32Bytes => Parameters * 4;
}

/// <summary>The FP vs quantized images, or why there are none (<see cref="Note"/>).</summary>
public sealed record ImageSection(string? Note, IReadOnlyList<ImagePair> Pairs)
{
    public static ImageSection Missing(string note) => new(note, []);
}

/// <summary>The same prompt and seed through the FP32 model and the quantized plan.</summary>
public sealed record ImagePair(string Prompt, int Seed, byte[] FpPng, byte[] QuantizedPng, double Ssim, double? Psnr, Verdict? FpVerdict, Verdict? QuantizedVerdict);

/// <summary>The TinyShapes judge's verdict per attribute; null where the prompt states no such attribute.</summary>
public sealed record Verdict(bool Background, bool Count, bool Shape, bool Colour, bool? Size, bool? Position);
