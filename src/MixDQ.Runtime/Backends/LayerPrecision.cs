namespace MixDQ.Runtime.Backends;

/// <summary>Kind of a quantizable layer.</summary>
public enum LayerKind
{
    Linear,
    Conv2d,
}

/// <summary>
/// Numeric format of one layer: bits of the weights (32 = FP32, 16 = FP16, 8/4/2 = integer) and of
/// the activations entering it (32 = FP32, 16 = FP16, 8/4 = integer). The plan carries one per layer.
/// </summary>
public readonly record struct LayerPrecision(int WeightBits, int ActivationBits)
{
    public static LayerPrecision Fp32 => new(32, 32);
    public static LayerPrecision Fp16 => new(16, 16);

    public bool IsFloat => WeightBits >= 16 && ActivationBits >= 16;

    public override string ToString() => IsFloat ? $"FP{WeightBits}" : $"W{WeightBits}A{ActivationBits}";
}

/// <summary>
/// A quantizable layer as the model graph names it: the diffusers module path
/// (e.g. <c>down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q</c>), its component
/// (<c>unet</c>, <c>text_encoder</c>, ...), its kind and weight shape, and the precision it runs in.
/// </summary>
public sealed record LayerInfo(string Component, string Name, LayerKind Kind, int[] WeightShape, LayerPrecision Precision)
{
    /// <summary><c>component/name</c>, unique across a pipeline.</summary>
    public string QualifiedName => $"{Component}/{Name}";

    public long ParameterCount => Tensors.Tensor.ElementCount(WeightShape);
}
