using System.Diagnostics;
using System.Globalization;
using MixDQ.Compiler.Analysis.Allocation;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Compiler.Analysis;

/// <summary>What the analysis decided: the allocation, each integer layer's stored form, and the sensitivities behind it.</summary>
public sealed record AnalysisOutcome(
    BitAllocation Allocation,
    IReadOnlyDictionary<string, QuantizedLayer> Quantized,
    SensitivityResult? Sensitivity,
    string Method,
    string PromptsHash);

/// <summary>
/// The MixDQ analysis as ordered passes — calibrate → measure sensitivity → allocate → quantize — each reusing the lock
/// file's result when its key (input hash + the settings it depends on) matches.
/// </summary>
public static class ModelAnalysis
{
    public static string MethodName(QuantizationMethod m) => m switch
    {
        QuantizationMethod.MixDQ => "mixdq",
        QuantizationMethod.Naive => "naive",
        QuantizationMethod.SqnrOnly => "sqnr-only",
        _ => "no-bos",
    };

    public static AnalysisOutcome Run(string modelDirectory, string inputHash, CompileSettings settings, string lockPath,
        IProgress<string>? progress, ICollection<MixDQWarning> warnings, CancellationToken cancellationToken)
    {
        string promptsFile = CalibrationPrompts.Resolve(settings.CalibrationPromptsFile, modelDirectory);
        var prompts = CalibrationPrompts.Load(promptsFile);
        string promptsHash = Hashing.InputHasher.HashFile(promptsFile);
        var analysisLock = AnalysisLock.Open(lockPath, inputHash, warnings);
        var phaseProgress = new PhaseProgress(progress);
        void Log(string line) => progress?.Report("analysis: " + line);

        using var session = AnalysisSession.Open(modelDirectory, settings, prompts);
        Log($"{session.Layers.Count} UNet layers ({session.Layers.Count(l => l.Group == Runtime.Compiled.LayerGroup.Content)} content), " +
            $"{prompts.Count} calibration prompts in {Path.GetFileName(promptsFile)}, method {MethodName(settings.Method)}");

        // Calibrate (activation ranges; also needed for activation sensitivities).
        string calibrationKey = AnalysisLock.Key("calibration-v1", inputHash, promptsHash, Math.Min(settings.CalibrationPromptCount, prompts.Count),
            settings.Steps, session.BosAware, session.SplitInputs, settings.WeightScheme, CalibrationPass.BatchSize, CalibrationPass.Momentum);
        var calibration = analysisLock.Calibration(calibrationKey);
        if (calibration is null)
        {
            var clock = Stopwatch.StartNew();
            calibration = CalibrationPass.Run(session, phaseProgress, cancellationToken);
            analysisLock.SetCalibration(calibrationKey, calibration);
            Log($"calibrated {calibration.Ranges.Count} layer inputs in {clock.Elapsed.TotalSeconds:0.0} s");
        }
        else Log("calibration ranges from the lock file");

        // Measure sensitivity (not for naive: uniform bits need none).
        SensitivityResult? sensitivity = null;
        string sensitivityKey = AnalysisLock.Key("sensitivity-v2", calibrationKey, Math.Min(settings.SensitivityPromptCount, prompts.Count),
            string.Join(",", SensitivityPass.WeightCandidates(settings, Runtime.Compiled.LayerGroup.Content)),
            string.Join(",", SensitivityPass.WeightCandidates(settings, Runtime.Compiled.LayerGroup.Quality)),
            string.Join(",", settings.ActivationCandidates), settings.WeightClipping, MethodName(settings.Method));
        if (settings.Method != QuantizationMethod.Naive)
        {
            sensitivity = analysisLock.Sensitivity(sensitivityKey);
            if (sensitivity is null)
            {
                var clock = Stopwatch.StartNew();
                sensitivity = SensitivityPass.Run(session, calibration, weights: true, activations: true, phaseProgress, cancellationToken);
                analysisLock.SetSensitivity(sensitivityKey, sensitivity);
                Log($"measured {sensitivity.Layers.Count} layers' sensitivities in {clock.Elapsed.TotalSeconds:0.0} s");
            }
            else Log("sensitivities from the lock file");
        }

        // Allocate.
        string allocationKey = AnalysisLock.Key("allocation-v2", sensitivityKey, settings.WeightBits, settings.ActivationBits, settings.ProtectedShare, AllocationPass.Tolerance,
            settings.PickShortlist);
        var allocation = analysisLock.Allocation(allocationKey);
        if (allocation is null || !Covers(allocation, session))
        {
            var clock = Stopwatch.StartNew();
            var cache = new AllocationCache(analysisLock,
                AnalysisLock.Key("weight-pick-v1", sensitivityKey, settings.WeightBits, AllocationPass.Tolerance, settings.PickShortlist),
                AnalysisLock.Key("activation-candidates-v1", sensitivityKey, settings.ActivationBits, settings.ProtectedShare, AllocationPass.Tolerance));
            allocation = AllocationPass.Run(session, calibration, sensitivity, phaseProgress, warnings, Log, cancellationToken, cache);
            analysisLock.SetAllocation(allocationKey, allocation);
            Log($"allocated bits in {clock.Elapsed.TotalSeconds:0.0} s");
        }
        else Log("bit allocation from the lock file");
        Log(Summary(session, allocation));

        // Quantize.
        var quantized = QuantizationPass.Run(session, calibration, allocation, cancellationToken);
        return new AnalysisOutcome(allocation, quantized, sensitivity, MethodName(settings.Method), promptsHash);
    }

    /// <summary>An allocation read back from the lock names exactly this model's layers.</summary>
    private static bool Covers(BitAllocation allocation, AnalysisSession session)
    {
        var names = session.Layers.Select(l => l.QualifiedName).ToHashSet(StringComparer.Ordinal);
        return allocation.WeightBits.Keys.Concat(allocation.ActivationBits.Keys).All(names.Contains);
    }

    private static string Summary(AnalysisSession session, BitAllocation a)
    {
        double wBits = 0, wSize = 0;
        foreach (var l in session.Layers)
        {
            wBits += (double)l.Parameters * a.WeightBitsOf(l.QualifiedName);
            wSize += l.Parameters;
        }
        var widths = session.Layers.GroupBy(l => (a.WeightBitsOf(l.QualifiedName), a.ActivationBitsOf(l.QualifiedName)))
            .OrderBy(g => g.Key).Select(g => $"W{g.Key.Item1}A{g.Key.Item2}×{g.Count()}");
        return string.Create(CultureInfo.InvariantCulture, $"UNet weights average {wBits / wSize:0.00} bits; layers {string.Join(" ", widths)}");
    }

    /// <summary>Phase progress as lines "analysis: PHASE NN% (d/t)", one per percent step of 10 or phase change.</summary>
    private sealed class PhaseProgress(IProgress<string>? lines) : IProgress<AnalysisProgress>
    {
        private string? _phase;
        private int _lastPercent = -1;

        public void Report(AnalysisProgress value)
        {
            if (lines is null) return;
            int bucket = value.Percent / 10 * 10;
            if (value.Phase == _phase && bucket == _lastPercent) return;
            _phase = value.Phase;
            _lastPercent = bucket;
            lines.Report(string.Create(CultureInfo.InvariantCulture, $"analysis: {value.Phase} {value.Percent}% ({value.Done}/{value.Total})"));
        }
    }
}
