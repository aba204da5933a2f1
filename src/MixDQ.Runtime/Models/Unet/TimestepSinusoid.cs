namespace MixDQ.Runtime.Models.Unet;

/// <summary>
/// diffusers <c>get_timestep_embedding</c> (the <c>Timesteps</c> module), computed in FP32 as PyTorch does:
/// freq_i = exp(−ln(10000)·i / (half − shift)), a = t·freq, [sin a, cos a], halves swapped when
/// flip_sin_to_cos, a zero appended for odd widths.
/// </summary>
public static class TimestepSinusoid
{
    /// <summary>The embedding of each value of <paramref name="timesteps"/>, row after row: [n, dim].</summary>
    public static float[] Embed(ReadOnlySpan<float> timesteps, int dim, bool flipSinToCos, int freqShift, double maxPeriod = 10000)
    {
        var result = new float[timesteps.Length * dim];
        Embed(timesteps, dim, flipSinToCos, freqShift, result, maxPeriod);
        return result;
    }

    /// <summary>The same, written to <paramref name="destination"/> ([n, dim]; every element written).</summary>
    public static void Embed(ReadOnlySpan<float> timesteps, int dim, bool flipSinToCos, int freqShift, Span<float> destination,
        double maxPeriod = 10000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNotEqual(destination.Length, timesteps.Length * dim);
        int half = dim / 2;
        var freqs = new float[half];
        float logMax = (float)-Math.Log(maxPeriod);
        float denom = half - freqShift;
        for (int i = 0; i < half; i++)
        {
            // Mirror torch's float32 steps: (−ln P · i) / (half − shift), then exp.
            float exponent = logMax * i / denom;
            freqs[i] = MathF.Exp(exponent);
        }
        for (int n = 0; n < timesteps.Length; n++)
        {
            var row = destination.Slice(n * dim, dim);
            if (dim % 2 == 1) row[dim - 1] = 0; // the zero column of odd widths
            for (int i = 0; i < half; i++)
            {
                float a = timesteps[n] * freqs[i];
                float sin = (float)Math.Sin(a), cos = (float)Math.Cos(a);
                row[flipSinToCos ? half + i : i] = sin;
                row[flipSinToCos ? i : half + i] = cos;
            }
        }
    }
}
