using MixDQ.Runtime.Quantization;

namespace MixDQ.Runtime.Backends.Cpu;

/// <summary>
/// What both integer layer kinds hold: either integer panels and input quantizers (WxA8/WxA4: integer GEMM), or the
/// stored packed weight alone (weight-only WxA16: dequantized block by block inside the FP GEMM). Never an FP copy.
/// </summary>
internal sealed class IntegerWeights
{
    private IntegerWeights(QuantizedWeight? stored, IntegerPanels? panels, ActivationQuantParams[] segments, IntegerTileKernel? tile, float[]? bias, float[]? bos)
    {
        Stored = stored;
        Panels = panels;
        Segments = segments;
        Tile = tile;
        Bias = bias;
        Bos = bos;
        if (panels is not null)
        {
            Terms = Enumerable.Range(0, segments.Length).Select(s => new RunTerms(panels, s, segments[s], tile!.Offset)).ToArray();
            PaddedBias = new float[panels.PanelCount * IntegerPanels.Nr];
            bias?.CopyTo(PaddedBias, 0);
        }
        else
        {
            Terms = [];
            PaddedBias = [];
        }
    }

    /// <summary>Epilogue terms per depth run (integer paths).</summary>
    public RunTerms[] Terms { get; }

    /// <summary>The bias (zeros without one) padded to whole 16-channel panels (integer paths).</summary>
    public float[] PaddedBias { get; }

    /// <summary>The weight as the artifact stores it: what the weight-only path reads (null on integer paths, which keep only the panels).</summary>
    public QuantizedWeight? Stored { get; }

    /// <summary>The kernel layout (integer inputs only).</summary>
    public IntegerPanels? Panels { get; }

    /// <summary>One quantizer per depth run (empty for weight-only layers).</summary>
    public ActivationQuantParams[] Segments { get; }

    public IntegerTileKernel? Tile { get; }

    public float[]? Bias { get; }

    /// <summary>The FP row emitted at token 0 of every sequence (BOS-aware cross-attention keys/values).</summary>
    public float[]? Bos { get; }

    public bool QuantizesInput => Panels is not null;

    /// <summary>Weight bytes this layer keeps resident: the kernel panels (or the stored codes) with their scales and sums, bias and BOS row.</summary>
    public long ResidentBytes =>
        (Panels?.ResidentBytes ?? Stored!.StoredBytes) + 4L * ((Bias?.Length ?? 0) + (Bos?.Length ?? 0) + PaddedBias.Length + 3L * Terms.Length * PaddedBias.Length);

    public static IntegerWeights Create(QuantizedLayer layer, int perChannel, float[]? bias, IntegerIsa isa, string item)
    {
        if (!layer.QuantizesInput)
            return new IntegerWeights(layer.Weight, null, [], null, bias, layer.BosRow);
        var runs = DepthRuns.For(layer, layer.Weight.RowLength, perChannel);
        RunTerms.Check(runs, item);
        var tile = IntegerTileKernel.For(isa, layer.Weight.Bits);
        var panels = IntegerPanels.Pack(layer.Weight, runs, tile.Offset);
        // The stored form is only needed to build the panels: not kept, so the artifact's copy can be collected.
        return new IntegerWeights(null, panels, layer.Input.Select(s => s.Params).ToArray(), tile, bias, layer.BosRow);
    }
}

/// <summary>An integer linear layer of the CPU backend.</summary>
internal sealed class CpuQuantizedLinear(LayerInfo layer, int inFeatures, int outFeatures, IntegerWeights weights, GemmEngine engine) : IPreparedLinear
{
    public LayerInfo Layer { get; } = layer;

    public int InFeatures { get; } = inFeatures;

    public int OutFeatures { get; } = outFeatures;

    public IntegerWeights Weights { get; } = weights;

    /// <summary>The FP engine the weight-only path dequantizes into.</summary>
    public GemmEngine Engine { get; } = engine;
}

/// <summary>An integer 2-D convolution of the CPU backend (implicit GEMM over in·k·k codes per output channel).</summary>
internal sealed class CpuQuantizedConv2d(LayerInfo layer, int inChannels, int outChannels, int kernelSize, int stride, int padding,
    IntegerWeights weights, GemmEngine engine) : IPreparedConv2d
{
    public LayerInfo Layer { get; } = layer;

    public int InChannels { get; } = inChannels;

    public int OutChannels { get; } = outChannels;

    public int KernelSize { get; } = kernelSize;

    public int Stride { get; } = stride;

    public int Padding { get; } = padding;

    public IntegerWeights Weights { get; } = weights;

    public GemmEngine Engine { get; } = engine;
}
