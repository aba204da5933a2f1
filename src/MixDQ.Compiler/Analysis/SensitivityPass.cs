using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Compiler.Plans;
using MixDQ.Evaluation.Metrics;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Analysis;

/// <summary>The metric a layer's sensitivity is measured with.</summary>
public enum SensitivityMetric
{
    /// <summary>Mean SSIM of the generated images against the FP images (content layers).</summary>
    Ssim,
    /// <summary>SQNR in dB of the UNet outputs against the FP outputs (quality layers; every layer for sqnr-only).</summary>
    Sqnr,
}

/// <summary>One layer's sensitivities: score per candidate width (higher = less harm), for weights and for activations.</summary>
public sealed record LayerSensitivity(SensitivityMetric Metric, IReadOnlyDictionary<int, double> Weights, IReadOnlyDictionary<int, double> Activations);

/// <summary>What the sensitivity sweep measured, plus each layer's input size (elements per call), which weighs the activation budget.</summary>
public sealed record SensitivityResult(IReadOnlyDictionary<string, LayerSensitivity> Layers, IReadOnlyDictionary<string, long> InputElements);

/// <summary>
/// Metric-decoupled sensitivity: one layer quantized at a time (all others FP), every candidate width, separately for
/// weights (inputs FP) and for activations (weights FP). Content layers are scored by SSIM of the image against the FP
/// image, quality layers by SQNR of the UNet output against FP (both over the sensitivity prompts).
/// </summary>
public static class SensitivityPass
{
    public static SensitivityResult Run(AnalysisSession session, CalibrationResult? calibration, bool weights, bool activations,
        IProgress<AnalysisProgress>? progress, CancellationToken cancellationToken)
    {
        var s = session.Settings;
        var backend = session.Backend;
        backend.ClearLayers();
        var sizes = new InputSizeTap();
        var reference = session.SensitivityPrompts.Select((_, i) => session.Run(session.SensitivityPrompts, i, sizes, cancellationToken)).ToList();

        int total = session.Layers.Sum(l => (weights ? WeightCandidates(s, l.Group).Count : 0) + (activations ? s.ActivationCandidates.Count : 0));
        int done = 0;
        var result = new Dictionary<string, LayerSensitivity>(StringComparer.Ordinal);
        foreach (var layer in session.Layers)
        {
            var metric = MetricOf(s.Method, layer.Group);
            var w = new SortedDictionary<int, double>();
            var a = new SortedDictionary<int, double>();
            var bos = session.BosAware && layer.BosAware ? BosHandling.FloatingPoint : BosHandling.None;
            if (weights)
            {
                foreach (int bits in WeightCandidates(s, layer.Group))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Report(new AnalysisProgress("sensitivity", done++, total));
                    backend.SetLayer(layer.QualifiedName, new LayerSimulation { WeightBits = bits, WeightScheme = s.WeightScheme, WeightClipping = s.WeightClipping, Bos = bos });
                    w[bits] = Score(metric, reference, session.RunSensitivitySet(cancellationToken));
                }
            }
            if (activations)
            {
                foreach (int bits in s.ActivationCandidates)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Report(new AnalysisProgress("sensitivity", done++, total));
                    backend.SetLayer(layer.QualifiedName, new LayerSimulation { Input = calibration!.Segments(layer.QualifiedName, bits), Bos = bos });
                    a[bits] = Score(metric, reference, session.RunSensitivitySet(cancellationToken));
                }
            }
            backend.SetLayer(layer.QualifiedName, LayerSimulation.FloatingPoint);
            backend.TrimCache();
            result[layer.QualifiedName] = new LayerSensitivity(metric, w, a);
        }
        progress?.Report(new AnalysisProgress("sensitivity", total, total));
        return new SensitivityResult(result, sizes.Sizes);
    }

    /// <summary>
    /// Weight widths a layer chooses from: content layers all candidates, quality layers those ≥ 4 (the paper's {4, 8}). The
    /// same for every method: sqnr-only differs from MixDQ only in its metric and its single program, so that the ablation
    /// measures metric decoupling, not 2-bit ResNet convs that MixDQ never allows.
    /// </summary>
    public static IReadOnlyList<int> WeightCandidates(CompileSettings settings, LayerGroup group)
    {
        if (group == LayerGroup.Content) return settings.WeightCandidates;
        var wide = settings.WeightCandidates.Where(b => b >= 4).ToList();
        return wide.Count > 0 ? wide : settings.WeightCandidates;
    }

    public static SensitivityMetric MetricOf(QuantizationMethod method, LayerGroup group) =>
        method == QuantizationMethod.SqnrOnly || group == LayerGroup.Quality ? SensitivityMetric.Sqnr : SensitivityMetric.Ssim;

    public static double Score(SensitivityMetric metric, IReadOnlyList<AnalysisSample> reference, IReadOnlyList<AnalysisSample> quantized) =>
        metric == SensitivityMetric.Ssim
            ? Enumerable.Range(0, reference.Count).Average(i => ImageMetrics.Ssim(quantized[i].Image, reference[i].Image, reference[i].Width, reference[i].Height, 3))
            : Sqnr(reference.SelectMany(r => r.UnetOutput).ToArray(), quantized.SelectMany(q => q.UnetOutput).ToArray());

    /// <summary>10·log10(Σ y_fp² / Σ (y_q − y_fp)²) over the whole tensor, capped at 200 dB when the outputs are equal.</summary>
    public static double Sqnr(ReadOnlySpan<float> reference, ReadOnlySpan<float> quantized)
    {
        double signal = 0, noise = 0;
        int n = Math.Min(reference.Length, quantized.Length);
        for (int i = 0; i < n; i++)
        {
            signal += (double)reference[i] * reference[i];
            double d = (double)quantized[i] - reference[i];
            noise += d * d;
        }
        if (noise <= 0) return 200;
        return Math.Min(200, 10 * Math.Log10(Math.Max(signal, 1e-30) / noise));
    }

    /// <summary>Mean squared pixel error in float (the reference code's uint8 wrap-around is not copied).</summary>
    public static double PixelMse(IReadOnlyList<AnalysisSample> reference, IReadOnlyList<AnalysisSample> candidate)
    {
        double se = 0;
        long n = 0;
        for (int i = 0; i < reference.Count; i++)
        {
            var a = reference[i].Image;
            var b = candidate[i].Image;
            for (int k = 0; k < a.Length; k++)
            {
                double d = (double)a[k] - b[k];
                se += d * d;
            }
            n += a.Length;
        }
        return se / Math.Max(1, n);
    }

    /// <summary>Elements of each UNet layer's input in one call (the first call seen).</summary>
    private sealed class InputSizeTap : ISimulationTap
    {
        public Dictionary<string, long> Sizes { get; } = new(StringComparer.Ordinal);

        public void OnInput(LayerInfo layer, Tensor x)
        {
            if (layer.Component == "unet") Sizes.TryAdd(layer.QualifiedName, x.Length);
        }

        public void OnOutput(LayerInfo layer, Tensor y)
        {
        }
    }
}
