using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;

namespace MixDQ.Compiler.Plans;

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
    /// <summary><c>component/name</c>, unique across the plan (the key <see cref="LayerInfo.QualifiedName"/> uses).</summary>
    public string QualifiedName => $"{Component}/{Name}";

    public long Parameters => MixDQ.Runtime.Tensors.Tensor.ElementCount(WeightShape);

    /// <summary>Bytes of the weight at plan precision (packed integers count bits/8; scales are not included yet).</summary>
    public long WeightBytes => Parameters * WeightBits / 8;

    public long Fp32WeightBytes => Parameters * 4;

    public LayerPrecision Precision => new(WeightBits, ActivationBits);

    public bool Equals(PlanLayer? other) =>
        other is not null && Component == other.Component && Name == other.Name && Op == other.Op
        && WeightShape.AsSpan().SequenceEqual(other.WeightShape) && WeightBits == other.WeightBits
        && ActivationBits == other.ActivationBits && Group == other.Group;

    public override int GetHashCode() => HashCode.Combine(Component, Name, Op, WeightShape.Length, WeightBits, ActivationBits, Group);
}

/// <summary>The settings the plan was made with, as requested (the per-layer bits say what was applied).</summary>
public sealed record PlanSettings(int RequestedWeightBits, int RequestedActivationBits, int Steps, string? CalibrationPromptsHash);

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
