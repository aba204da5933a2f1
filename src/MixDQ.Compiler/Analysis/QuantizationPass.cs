using MixDQ.Compiler.Analysis.Allocation;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Compiler.Analysis;

/// <summary>
/// The final integer form of every layer the allocation quantized: per-channel weights at the chosen width, the calibrated
/// input quantizers at the chosen activation width (none for weight-only layers), and for BOS-aware cross-attention
/// to_k/to_v the FP32 output row of the BOS token, W·ehs[0] + b, computed once here (token 0 of the text embedding is the
/// same for every prompt under CLIP's causal mask).
/// </summary>
public static class QuantizationPass
{
    public static IReadOnlyDictionary<string, QuantizedLayer> Run(AnalysisSession session, CalibrationResult? calibration, BitAllocation allocation,
        CancellationToken cancellationToken)
    {
        var s = session.Settings;
        float[]? bosHidden = null;
        var result = new Dictionary<string, QuantizedLayer>(StringComparer.Ordinal);
        foreach (var l in session.Layers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int w = allocation.WeightBitsOf(l.QualifiedName), a = allocation.ActivationBitsOf(l.QualifiedName);
            if (w >= 16) continue;
            var sim = session.Backend.Layers[l.QualifiedName];
            var weight = sim.Quantize(w, s.WeightScheme, s.WeightClipping);
            var input = a < 16 ? calibration!.Segments(l.QualifiedName, a) : null;
            float[]? bos = null;
            if (session.BosAware && l.BosAware)
            {
                bosHidden ??= BosHiddenState(session);
                bos = FloatRow(sim.Weight.Data, sim.Bias?.Data, bosHidden);
            }
            result[l.QualifiedName] = new QuantizedLayer(weight, input, bos, l.QualifiedName);
        }
        return result;
    }

    /// <summary>Row 0 of the text encoder's output (the BOS token's hidden state; any prompt gives the same row).</summary>
    public static float[] BosHiddenState(AnalysisSession session)
    {
        var context = session.EncodePrompt("");
        return context.Data.AsSpan(0, context.Dim(2)).ToArray();
    }

    /// <summary>W·h + b in double precision, rounded once to FP32.</summary>
    public static float[] FloatRow(float[] weight, float[]? bias, float[] h)
    {
        int k = h.Length, n = weight.Length / k;
        var row = new float[n];
        for (int o = 0; o < n; o++)
        {
            double acc = bias?[o] ?? 0;
            for (int i = 0; i < k; i++) acc += (double)weight[o * k + i] * h[i];
            row[o] = (float)acc;
        }
        return row;
    }
}
