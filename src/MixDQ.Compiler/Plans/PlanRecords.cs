using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Plans;

/// <summary>One input quantizer of an integer layer as the plan stores it.</summary>
public sealed record PlanInputQuant(int Channels, float Scale, int ZeroPoint);

/// <summary>The quantization fields of an integer layer: weight scheme, input quantizers (none: weight-only), BOS row stored.</summary>
public sealed record PlanQuantization(bool Asymmetric, IReadOnlyList<PlanInputQuant> Input, bool Bos)
{
    public bool Equals(PlanQuantization? other) =>
        other is not null && Asymmetric == other.Asymmetric && Bos == other.Bos && Input.SequenceEqual(other.Input);

    public override int GetHashCode() => HashCode.Combine(Asymmetric, Bos, Input.Count);
}

/// <summary>The sensitivity that decided a layer's widths: the metric and the scores at the chosen widths (null where FP).</summary>
public sealed record PlanSensitivity(string Metric, double? Weight, double? Activation);

/// <summary>One quantizable layer of the plan and the precision the compiler chose for it.</summary>
public sealed record PlanLayer(
    string Component,
    string Name,
    LayerKind Op,
    int[] WeightShape,
    int WeightBits,
    int ActivationBits,
    LayerGroup Group)
{
    /// <summary>Set for integer layers (weightBits 2/4/8).</summary>
    public PlanQuantization? Quantization { get; init; }

    /// <summary>Set for layers the analysis measured.</summary>
    public PlanSensitivity? Sensitivity { get; init; }

    /// <summary><c>component/name</c>, unique across the plan (the key <see cref="LayerInfo.QualifiedName"/> uses).</summary>
    public string QualifiedName => $"{Component}/{Name}";

    public long Parameters => MixDQ.Runtime.Tensors.Tensor.ElementCount(WeightShape);

    /// <summary>Bytes of the weight in the artifact (integer layers: packed codes, scales and zero points).</summary>
    public long WeightBytes => MixDQ.Plans.PlanSchema.WeightBytes(WeightShape, WeightBits, Quantization?.Asymmetric == true);

    public long Fp32WeightBytes => Parameters * 4;

    public LayerPrecision Precision => new(WeightBits, ActivationBits);

    public bool Equals(PlanLayer? other) =>
        other is not null && Component == other.Component && Name == other.Name && Op == other.Op
        && WeightShape.AsSpan().SequenceEqual(other.WeightShape) && WeightBits == other.WeightBits
        && ActivationBits == other.ActivationBits && Group == other.Group && Equals(Quantization, other.Quantization)
        && Sensitivity == other.Sensitivity;

    public override int GetHashCode() => HashCode.Combine(Component, Name, Op, WeightShape.Length, WeightBits, ActivationBits, Group);
}

/// <summary>The settings the plan was made with, as requested (the per-layer bits say what was applied).</summary>
public sealed record PlanSettings(double RequestedWeightBits, double RequestedActivationBits, int Steps, string? CalibrationPromptsHash)
{
    /// <summary><c>mixdq</c>, <c>naive</c>, <c>sqnr-only</c> or <c>no-bos</c>; null for float plans.</summary>
    public string? Method { get; init; }
}

/// <summary>A component of the pipeline and the weight file its tensors came from.</summary>
public sealed record PlanComponent(string Name, string ClassName, string? WeightsFile);

/// <summary>The weights file that goes with the plan: its file name and the element type of float tensors.</summary>
public sealed record PlanArtifact(string FileName, string FloatDType);

/// <summary>Sums over <see cref="PlanDocument.Layers"/>.</summary>
public sealed record PlanTotals(int LayerCount, int ContentLayers, int QualityLayers, long Parameters, long WeightBytes, long Fp32WeightBytes)
{
    public static PlanTotals Of(IReadOnlyList<PlanLayer> layers) => new(
        layers.Count,
        layers.Count(l => l.Group == LayerGroup.Content),
        layers.Count(l => l.Group == LayerGroup.Quality),
        layers.Sum(l => l.Parameters),
        layers.Sum(l => l.WeightBytes),
        layers.Sum(l => l.Fp32WeightBytes));
}
