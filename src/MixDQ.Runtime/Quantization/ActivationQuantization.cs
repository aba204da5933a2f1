using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Quantization;

/// <summary>
/// A static per-tensor asymmetric activation quantizer: code = clamp(round(x / Scale) + ZeroPoint, 0, 2^Bits − 1),
/// value = Scale · (code − ZeroPoint). Scales come from calibration (<see cref="RangeObserver"/>), one per layer input
/// for every timestep, as MixDQ.
/// </summary>
public readonly record struct ActivationQuantParams
{
    public ActivationQuantParams(int bits, float scale, int zeroPoint)
    {
        IntegerFormat.CheckActivationWidth(bits);
        if (!float.IsFinite(scale) || scale <= 0)
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"activation scale {scale} must be finite and > 0");
        if (zeroPoint < 0 || zeroPoint > IntegerFormat.MaxCode(bits))
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"activation zero point {zeroPoint} is outside the {bits}-bit codes");
        Bits = bits;
        Scale = scale;
        ZeroPoint = zeroPoint;
    }

    public int Bits { get; }

    public float Scale { get; }

    public int ZeroPoint { get; }

    /// <summary>Smallest scale a range yields, so a constant-zero input still gets a usable grid (per tensor, not the reference code's whole-tensor fill).</summary>
    public const float MinScale = 1e-8f;

    /// <summary>The grid of a calibrated range, widened to include zero (min ≤ 0 ≤ max) as the reference code does.</summary>
    public static ActivationQuantParams FromRange(float min, float max, int bits)
    {
        IntegerFormat.CheckActivationWidth(bits);
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"activation range [{min}, {max}] is not a finite interval");
        min = MathF.Min(min, 0);
        max = MathF.Max(max, 0);
        float scale = MathF.Max((max - min) / IntegerFormat.MaxCode(bits), MinScale);
        int zp = Math.Clamp((int)MathF.Round(-min / scale), 0, IntegerFormat.MaxCode(bits));
        return new ActivationQuantParams(bits, scale, zp);
    }

    public byte Quantize(float x) => (byte)Math.Clamp((int)MathF.Round(x / Scale) + ZeroPoint, 0, IntegerFormat.MaxCode(Bits));

    public float Dequantize(byte code) => Scale * (code - ZeroPoint);

    /// <summary>Codes of <paramref name="x"/> into <paramref name="codes"/>.</summary>
    public void Quantize(ReadOnlySpan<float> x, Span<byte> codes)
    {
        for (int i = 0; i < x.Length; i++) codes[i] = Quantize(x[i]);
    }

    /// <summary>Quantize then dequantize (simulated quantization, what the analysis measures).</summary>
    public void FakeQuantize(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = Dequantize(Quantize(x[i]));
    }

    public override string ToString() => $"A{Bits}(s={Scale:R}, z={ZeroPoint})";
}

/// <summary>
/// One input quantizer of a layer over a run of input channels. Most layers have one segment over all channels; an
/// up-block conv whose input is the [h, skip] concatenation has two, one per half (as Q-Diffusion and MixDQ split it).
/// </summary>
public sealed record InputQuantSegment(int Channels, ActivationQuantParams Params);

/// <summary>
/// Calibration statistic of one activation: the EMA of per-batch min and max (momentum 0.95 in MixDQ); the first batch
/// sets the range. Not thread-safe: one observer per layer input.
/// </summary>
public sealed class RangeObserver
{
    public RangeObserver(float momentum = 0.95f)
    {
        if (!(momentum is >= 0 and < 1))
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, $"EMA momentum {momentum} must be in [0, 1)");
        Momentum = momentum;
    }

    public float Momentum { get; }

    public int Batches { get; private set; }

    public float Min { get; private set; }

    public float Max { get; private set; }

    /// <summary>Folds one batch in; non-finite values are refused (they would poison every later scale).</summary>
    public void Observe(ReadOnlySpan<float> batch)
    {
        if (batch.IsEmpty) return;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in batch)
        {
            if (!float.IsFinite(v))
                throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, "a calibration activation is not finite");
            if (v < min) min = v;
            if (v > max) max = v;
        }
        Observe(min, max);
    }

    /// <summary>Folds in a batch already reduced to its min and max.</summary>
    public void Observe(float min, float max)
    {
        if (Batches == 0)
        {
            Min = min;
            Max = max;
        }
        else
        {
            Min = Momentum * Min + (1 - Momentum) * min;
            Max = Momentum * Max + (1 - Momentum) * max;
        }
        Batches++;
    }

    public ActivationQuantParams ToParams(int bits)
    {
        if (Batches == 0)
            throw new MixDQException(ErrorCodes.QuantizationSettingsInvalid, "an activation range was never observed during calibration");
        return ActivationQuantParams.FromRange(Min, Max, bits);
    }
}
