using MixDQ.Runtime.Quantization;

namespace MixDQ.Compiler.Analysis.Simulation;

/// <summary>What a BOS-aware cross-attention to_k/to_v does with token 0 of the text embedding.</summary>
public enum BosHandling
{
    /// <summary>Token 0 passes through the (simulated) quantized layer like every other token.</summary>
    None,
    /// <summary>Token 0 is projected with the layer's FP weight (the analysis, before the BOS row is stored).</summary>
    FloatingPoint,
}

/// <summary>
/// How the simulating backend runs one layer: its weight fake-quantized at <see cref="WeightBits"/> (null: FP) and its
/// input fake-quantized per channel segment (null: FP). One record per layer, looked up by qualified name on every call,
/// so the sensitivity sweep switches one layer at a time without reloading the model.
/// </summary>
public sealed record LayerSimulation
{
    public int? WeightBits { get; init; }

    public WeightScheme WeightScheme { get; init; } = WeightScheme.Symmetric;

    public WeightClipping WeightClipping { get; init; } = WeightClipping.MinMax;

    /// <summary>Input quantizers in channel order; null keeps the input FP.</summary>
    public IReadOnlyList<InputQuantSegment>? Input { get; init; }

    public BosHandling Bos { get; init; }

    /// <summary>
    /// A layer of a compiled plan, read back from its artifact: its dequantized packed weight, stored input quantizers
    /// and stored BOS row replace everything above.
    /// </summary>
    public QuantizedLayer? Stored { get; init; }

    public static LayerSimulation FloatingPoint { get; } = new();

    /// <summary>The simulation that replays a stored integer layer.</summary>
    public static LayerSimulation Replay(QuantizedLayer stored) => new()
    {
        WeightBits = stored.Weight.Bits,
        WeightScheme = stored.Weight.Scheme,
        Input = stored.QuantizesInput ? stored.Input : null,
        Stored = stored,
    };

    public bool IsFloatingPoint => WeightBits is null && Input is null && Stored is null;
}
