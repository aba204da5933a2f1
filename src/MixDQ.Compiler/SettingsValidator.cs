using System.Globalization;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;

namespace MixDQ.Compiler;

/// <summary>Checks a <see cref="CompileSettings"/> before anything is read: each value names its MSBuild metadata.</summary>
public static class SettingsValidator
{
    public static void Check(CompileSettings s)
    {
        CheckWidths(s.WeightCandidates, IntegerFormat.IsWeightWidth, "WeightCandidates", "2, 4 and 8");
        CheckWidths(s.ActivationCandidates, IntegerFormat.IsActivationWidth, "ActivationCandidates", "4 and 8");
        CheckTarget(s.WeightBits, s.WeightCandidates, "WeightBits", s.Method);
        CheckTarget(s.ActivationBits, s.ActivationCandidates, "ActivationBits", s.Method);
        if (s.QuantizesActivations && !s.QuantizesWeights)
            throw new MixDQException(ErrorCodes.AnalysisSettingsInvalid,
                F($"integer activations ({s.ActivationBits} bits) need integer weights: an integer layer stores packed weights; set WeightBits to 8 or less"), item: "ActivationBits");
        if (!(s.ProtectedShare is >= 0 and <= 1))
            throw new MixDQException(ErrorCodes.MetadataInvalid, F($"ProtectedShare {s.ProtectedShare} must be between 0 and 1"), item: "ProtectedShare");
        if (s.CalibrationPromptCount is < 1 or > CalibrationPromptsLimit)
            throw new MixDQException(ErrorCodes.MetadataInvalid, F($"CalibrationPromptCount {s.CalibrationPromptCount} must be between 1 and {CalibrationPromptsLimit}"), item: "CalibrationPromptCount");
        if (s.SensitivityPromptCount is < 1 or > 1024)
            throw new MixDQException(ErrorCodes.MetadataInvalid, F($"SensitivityPrompts {s.SensitivityPromptCount} must be between 1 and 1024"), item: "SensitivityPrompts");
        if (s.PickShortlist is < 0 or > 100_000)
            throw new MixDQException(ErrorCodes.MetadataInvalid, F($"PickShortlist {s.PickShortlist} must be between 0 (every candidate) and 100000"), item: "PickShortlist");
    }

    private const int CalibrationPromptsLimit = 100_000;

    private static void CheckWidths(IReadOnlyList<int> widths, Func<int, bool> allowed, string item, string names)
    {
        if (widths.Count == 0 || widths.Any(b => !allowed(b)) || widths.Distinct().Count() != widths.Count)
            throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} '{string.Join(",", widths)}' must list distinct widths among {names}", item: item);
    }

    private static void CheckTarget(double target, IReadOnlyList<int> candidates, string item, QuantizationMethod method)
    {
        if (!double.IsFinite(target))
            throw new MixDQException(ErrorCodes.MetadataInvalid, $"{item} must be a number", item: item);
        if (target >= 16)
        {
            if (target is not (16 or 32))
                throw new MixDQException(ErrorCodes.MetadataInvalid, F($"{item} {target} is not a float width; use 16 or 32, or an integer average within the candidates"), item: item);
            return;
        }
        int min = candidates.Min(), max = candidates.Max();
        if (target < min || target > max)
            throw new MixDQException(ErrorCodes.BitBudgetUnreachable,
                F($"{item} {target} is outside the candidate widths {string.Join(", ", candidates.Order())}: reachable averages are {min}–{max} (or 16/32 for floating point)"), item: item);
        if (method == QuantizationMethod.Naive && (target != Math.Floor(target) || !candidates.Contains((int)target)))
            throw new MixDQException(ErrorCodes.BitBudgetUnreachable,
                F($"Method 'naive' gives every layer the same width: {item} {target} must be one of {string.Join(", ", candidates.Order())}"), item: item);
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
