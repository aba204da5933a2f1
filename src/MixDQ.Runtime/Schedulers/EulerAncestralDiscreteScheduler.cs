using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// diffusers <c>EulerAncestralDiscreteScheduler</c>: with σ_up = √(σ_{i+1}²(σ_i² − σ_{i+1}²)/σ_i²) and
/// σ_down = √(σ_{i+1}² − σ_up²), x ← x + (x − x̂0)/σ_i·(σ_down − σ_i) + N(0,1)·σ_up. The last step has
/// σ_up = 0 and draws no noise, so one step returns x̂0. <c>prediction_type = sample</c> (x̂0 = model output)
/// is supported here although diffusers leaves it unimplemented for this class.
/// </summary>
public sealed class EulerAncestralDiscreteScheduler : IScheduler
{
    private readonly EulerSchedule _schedule;

    public EulerAncestralDiscreteScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        SchedulerConfigValidator.Validate(config, null);
        _schedule = new EulerSchedule(config, steps);
    }

    public SchedulerConfig Config => _schedule.Config;

    public IReadOnlyList<float> Timesteps => _schedule.Timesteps;

    /// <summary>σ per step, followed by 0.</summary>
    public IReadOnlyList<float> Sigmas => _schedule.Sigmas;

    public float InitNoiseSigma => _schedule.InitNoiseSigma;

    public Tensor ScaleModelInput(Tensor sample, int stepIndex) => _schedule.ScaleModelInput(sample, stepIndex);

    /// <summary>(σ_up, σ_down) of step <paramref name="stepIndex"/>, float32 as diffusers computes them.</summary>
    public (float Up, float Down) AncestralSigmas(int stepIndex)
    {
        SchedulerGuards.CheckStepIndex(stepIndex, _schedule.Timesteps.Length);
        float from = _schedule.Sigmas[stepIndex];
        float to = _schedule.Sigmas[stepIndex + 1];
        float up = MathF.Sqrt(to * to * (from * from - to * to) / (from * from));
        float down = MathF.Sqrt(MathF.Max(to * to - up * up, 0f));
        return (up, down);
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, INoiseSource? noise)
    {
        SchedulerGuards.CheckSameShape(modelOutput, sample);
        var (up, down) = AncestralSigmas(stepIndex);
        float sigma = _schedule.Sigmas[stepIndex];
        float dt = down - sigma;
        ReadOnlySpan<float> x = sample.Span;
        float[] result = _schedule.PredictOriginalSample(modelOutput.Span, x, sigma);
        for (int i = 0; i < result.Length; i++)
        {
            float derivative = (x[i] - result[i]) / sigma;
            result[i] = x[i] + derivative * dt;
        }
        if (up > 0f)
        {
            var z = new float[result.Length];
            SchedulerGuards.RequireNoise(noise, nameof(EulerAncestralDiscreteScheduler)).FillStandardNormal(z);
            for (int i = 0; i < result.Length; i++) result[i] += z[i] * up;
        }
        return new Tensor(result, sample.ShapeArray());
    }
}
