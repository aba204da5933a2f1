using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Analysis;

/// <summary>The calibrated range of one input quantizer segment.</summary>
public sealed record SegmentRange(int Channels, float Min, float Max)
{
    public InputQuantSegment ToSegment(int bits) => new(Channels, ActivationQuantParams.FromRange(Min, Max, bits));
}

/// <summary>Calibrated input ranges per layer (qualified name), one per quantizer segment, in channel order.</summary>
public sealed record CalibrationResult(IReadOnlyDictionary<string, SegmentRange[]> Ranges)
{
    /// <summary>The layer's input quantizers at <paramref name="bits"/>.</summary>
    public IReadOnlyList<InputQuantSegment> Segments(string qualifiedName, int bits) =>
        Ranges[qualifiedName].Select(r => r.ToSegment(bits)).ToList();
}

/// <summary>
/// Calibration: the FP pipeline over the calibration prompts at the compiled step count, recording each UNet
/// Linear/Conv input's range as the EMA (momentum 0.95) of per-batch min/max, as MixDQ does. Weights are fake-quantized
/// at 8 bits meanwhile (the reference PTQ order). With BOS-aware methods the cross-attention to_k/to_v see tokens 1..L−1
/// only, so the BOS outlier never sets their scale; with split inputs each half of [h, skip] gets its own range.
/// </summary>
public static class CalibrationPass
{
    /// <summary>Prompts per EMA batch (the reference code's batch size is 8 for 32 prompts).</summary>
    public const int BatchSize = 4;

    public const float Momentum = 0.95f;

    public static CalibrationResult Run(AnalysisSession session, IProgress<AnalysisProgress>? progress, CancellationToken cancellationToken)
    {
        var layers = session.Layers.ToDictionary(l => l.QualifiedName, StringComparer.Ordinal);
        var backend = session.Backend;
        backend.SetLayers(session.Layers.Select(l => KeyValuePair.Create(l.QualifiedName, new LayerSimulation
        {
            WeightBits = 8,
            WeightScheme = session.Settings.WeightScheme,
            Bos = session.BosAware && l.BosAware ? BosHandling.FloatingPoint : BosHandling.None,
        })));
        var tap = new RangeTap(layers, session.SplitInputs);
        var prompts = session.Prompts.Take(Math.Max(1, session.Settings.CalibrationPromptCount)).ToList();
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new AnalysisProgress("calibrate", i, prompts.Count));
                session.Run(prompts, i, tap, cancellationToken);
                if ((i + 1) % BatchSize == 0 || i == prompts.Count - 1) tap.EndBatch();
            }
        }
        finally
        {
            backend.ClearLayers();
            backend.TrimCache();
        }
        progress?.Report(new AnalysisProgress("calibrate", prompts.Count, prompts.Count));
        return new CalibrationResult(tap.Result());
    }

    /// <summary>Per-segment min/max within the current batch, folded into an EMA observer at each batch end.</summary>
    private sealed class RangeTap(IReadOnlyDictionary<string, AnalysisLayer> layers, bool split) : ISimulationTap
    {
        private readonly Dictionary<string, (int[] Channels, float[] Min, float[] Max, RangeObserver[] Observers)> _state = new(StringComparer.Ordinal);

        public void OnInput(LayerInfo layer, Tensor x)
        {
            if (!layers.TryGetValue(layer.QualifiedName, out var l)) return;
            if (!_state.TryGetValue(l.QualifiedName, out var s))
            {
                var channels = l.SegmentChannels(split);
                s = (channels, Fill(channels.Length, float.PositiveInfinity), Fill(channels.Length, float.NegativeInfinity),
                    channels.Select(_ => new RangeObserver(Momentum)).ToArray());
                _state[l.QualifiedName] = s;
            }
            int axis = l.Info.Kind == LayerKind.Linear ? x.Rank - 1 : 1;
            SegmentMinMax(x, axis, s.Channels, s.Min, s.Max, l.QualifiedName);
        }

        public void OnOutput(LayerInfo layer, Tensor y)
        {
        }

        public void EndBatch()
        {
            foreach (var s in _state.Values)
            {
                for (int k = 0; k < s.Channels.Length; k++)
                {
                    if (float.IsFinite(s.Min[k])) s.Observers[k].Observe(s.Min[k], s.Max[k]);
                    s.Min[k] = float.PositiveInfinity;
                    s.Max[k] = float.NegativeInfinity;
                }
            }
        }

        public Dictionary<string, SegmentRange[]> Result() => _state.ToDictionary(
            kv => kv.Key,
            kv => kv.Value.Channels.Select((c, k) => new SegmentRange(c, kv.Value.Observers[k].Min, kv.Value.Observers[k].Max)).ToArray(),
            StringComparer.Ordinal);

        private static float[] Fill(int n, float v) => Enumerable.Repeat(v, n).ToArray();
    }

    /// <summary>Folds the min and max of each channel run of <paramref name="x"/> (along <paramref name="axis"/>) into the running values.</summary>
    internal static void SegmentMinMax(Tensor x, int axis, int[] segmentChannels, float[] min, float[] max, string layer)
    {
        int channels = x.Dim(axis), inner = 1;
        for (int d = axis + 1; d < x.Rank; d++) inner *= x.Dim(d);
        int outer = x.Length / Math.Max(1, channels * inner);
        var data = x.Data;
        for (int o = 0; o < outer; o++)
        {
            int c0 = 0;
            for (int k = 0; k < segmentChannels.Length; k++)
            {
                var span = data.AsSpan((o * channels + c0) * inner, segmentChannels[k] * inner);
                foreach (float v in span)
                {
                    if (!float.IsFinite(v))
                        throw new Runtime.Diagnostics.MixDQException(Runtime.Diagnostics.ErrorCodes.QuantizationSettingsInvalid,
                            "a calibration activation is not finite", item: layer);
                    if (v < min[k]) min[k] = v;
                    if (v > max[k]) max[k] = v;
                }
                c0 += segmentChannels[k];
            }
        }
    }
}

/// <summary>A phase of the analysis and how far it is (<see cref="Done"/> of <see cref="Total"/>).</summary>
public readonly record struct AnalysisProgress(string Phase, int Done, int Total)
{
    public int Percent => Total <= 0 ? 100 : (int)(100L * Done / Total);
}
