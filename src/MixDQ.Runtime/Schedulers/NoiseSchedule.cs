using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// The training noise schedule β_t, ᾱ_t = Π(1 − β_s) and σ_t = √((1 − ᾱ_t)/ᾱ_t), computed the way diffusers
/// computes it on the CPU so that the σ values agree to float precision: betas with float32 arithmetic as in
/// <c>torch.linspace(…, dtype=float32)</c> (first half start + step·i, second half end − step·(n−1−i)),
/// alphas as float32 <c>1 − β</c>, and <c>torch.cumprod</c>, which accumulates in double on the CPU and
/// stores each prefix as float32.
/// </summary>
internal sealed class NoiseSchedule
{
    private NoiseSchedule(float[] alphasCumprod, float[] sigmas)
    {
        AlphasCumprod = alphasCumprod;
        Sigmas = sigmas;
    }

    /// <summary>ᾱ_t for t = 0 .. num_train_timesteps − 1.</summary>
    public float[] AlphasCumprod { get; }

    /// <summary>σ_t for t = 0 .. num_train_timesteps − 1 (increasing).</summary>
    public float[] Sigmas { get; }

    public static NoiseSchedule Create(SchedulerConfig config, string? path = null)
    {
        float[] betas = Betas(config);
        var alphasCumprod = new float[betas.Length];
        double product = 1.0;
        for (int t = 0; t < betas.Length; t++)
        {
            product *= 1f - betas[t];
            alphasCumprod[t] = (float)product;
        }
        var sigmas = new float[betas.Length];
        for (int t = 0; t < betas.Length; t++)
        {
            float a = alphasCumprod[t];
            sigmas[t] = MathF.Sqrt((1f - a) / a);
            if (!(a > 0f) || !float.IsFinite(sigmas[t]))
                throw new MixDQException(ErrorCodes.SchedulerInvalid,
                    $"the beta schedule drives ᾱ to zero at t = {t}; sigmas would be infinite", path, "beta_end");
        }
        return new NoiseSchedule(alphasCumprod, sigmas);
    }

    private static float[] Betas(SchedulerConfig c) => c.BetaSchedule switch
    {
        BetaSchedule.Linear => LinspaceFloat32((float)c.BetaStart, (float)c.BetaEnd, c.NumTrainTimesteps),
        BetaSchedule.ScaledLinear => Square(LinspaceFloat32((float)Math.Sqrt(c.BetaStart), (float)Math.Sqrt(c.BetaEnd), c.NumTrainTimesteps)),
        BetaSchedule.SquaredCosCapV2 => CosineBetas(c.NumTrainTimesteps),
        _ => throw new ArgumentOutOfRangeException(nameof(c), c.BetaSchedule, null),
    };

    /// <summary><c>torch.linspace(start, end, n, dtype=torch.float32)</c> on the CPU (scalar path).</summary>
    internal static float[] LinspaceFloat32(float start, float end, int n)
    {
        var values = new float[n];
        if (n == 1)
        {
            values[0] = start;
            return values;
        }
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        for (int i = 0; i < n; i++)
            values[i] = i < halfway ? start + step * i : end - step * (n - i - 1);
        return values;
    }

    private static float[] Square(float[] values)
    {
        for (int i = 0; i < values.Length; i++) values[i] *= values[i];
        return values;
    }

    /// <summary>diffusers <c>betas_for_alpha_bar</c> (Glide cosine, max β 0.999), in double then float32.</summary>
    private static float[] CosineBetas(int n)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);
        var betas = new float[n];
        for (int i = 0; i < n; i++)
        {
            double t1 = (double)i / n, t2 = (double)(i + 1) / n;
            betas[i] = (float)Math.Min(1 - AlphaBar(t2) / AlphaBar(t1), 0.999);
        }
        return betas;
    }
}
