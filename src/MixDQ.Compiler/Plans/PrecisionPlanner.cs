using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Plans;

/// <summary>
/// Chooses each layer's precision. The MixDQ analysis (calibration, sensitivities, bit allocation) is
/// not implemented yet, so every layer stays floating point: FP32 when 32 bits are requested, FP16
/// otherwise. Requesting integer widths gives warning MIXDQ067 instead of a plan that pretends.
/// </summary>
public static class PrecisionPlanner
{
    public static (int WeightBits, int ActivationBits, string FloatDType) Choose(CompileSettings settings, ICollection<MixDQWarning> warnings)
    {
        int w = settings.WeightBits == 32 ? 32 : 16;
        int a = settings.ActivationBits == 32 ? 32 : 16;
        if (settings.WeightBits < 16 || settings.ActivationBits < 16)
        {
            warnings.Add(new MixDQWarning(ErrorCodes.AnalysisNotImplemented,
                $"W{settings.WeightBits}A{settings.ActivationBits} was requested, but the MixDQ analysis and bit allocation are not implemented yet: " +
                $"every layer is compiled as {(w == 32 ? "FP32" : "FP16")} weights with {(a == 32 ? "FP32" : "FP16")} activations"));
        }
        return (w, a, w == 32 ? "F32" : "F16");
    }
}
