using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// A diffusion sampler with a fixed number of steps. Usage, for i = 0 .. Timesteps.Count − 1:
/// <c>x_in = ScaleModelInput(x, i)</c>, <c>out = UNet(x_in, Timesteps[i], …)</c>, <c>x = Step(out, i, x, noise)</c>;
/// start from <c>x = N(0, 1)·InitNoiseSigma</c> (see <see cref="SchedulerExtensions.InitialLatents"/>).
/// Implementations are immutable: the step index is passed in, so one instance can serve concurrent generations.
/// </summary>
public interface IScheduler
{
    /// <summary>The timesteps given to the UNet, one per step, descending (e.g. 999 for one step).</summary>
    IReadOnlyList<float> Timesteps { get; }

    /// <summary>Standard deviation of the initial latents.</summary>
    float InitNoiseSigma { get; }

    /// <summary>The UNet input for step <paramref name="stepIndex"/> (Euler: x/√(σ²+1); LCM: x itself).</summary>
    Tensor ScaleModelInput(Tensor sample, int stepIndex);

    /// <summary>
    /// The sample after step <paramref name="stepIndex"/>, from the UNet output. <paramref name="noise"/> is drawn
    /// from only by stochastic steps (Euler-ancestral before the last step, LCM before the last step) and may be
    /// null for the others.
    /// </summary>
    Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, INoiseSource? noise);
}

public static class SchedulerExtensions
{
    /// <summary>Initial latents: N(0, 1) noise of <paramref name="shape"/> times <see cref="IScheduler.InitNoiseSigma"/>.</summary>
    public static Tensor InitialLatents(this IScheduler scheduler, INoiseSource noise, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        var latents = GaussianNoise.Sample(noise, shape);
        float sigma = scheduler.InitNoiseSigma;
        Span<float> data = latents.Span;
        for (int i = 0; i < data.Length; i++) data[i] *= sigma;
        return latents;
    }
}
