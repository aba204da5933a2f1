using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// diffusers <c>EulerDiscreteScheduler</c> (s_churn = 0): x̂0 from the model output, d = (x − x̂0)/σ_i,
/// x ← x + d·(σ_{i+1} − σ_i). Deterministic; with one step it returns x̂0 (σ_1 = 0).
/// </summary>
public sealed class EulerDiscreteScheduler : IScheduler
{
    private readonly EulerSchedule _schedule;

    public EulerDiscreteScheduler(SchedulerConfig config, int steps)
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

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, INoiseSource? noise)
    {
        SchedulerGuards.CheckSameShape(modelOutput, sample);
        SchedulerGuards.CheckStepIndex(stepIndex, _schedule.Timesteps.Length);
        float sigma = _schedule.Sigmas[stepIndex];
        float dt = _schedule.Sigmas[stepIndex + 1] - sigma;
        ReadOnlySpan<float> x = sample.Span;
        float[] result = _schedule.PredictOriginalSample(modelOutput.Span, x, sigma);
        for (int i = 0; i < result.Length; i++)
        {
            float derivative = (x[i] - result[i]) / sigma;
            result[i] = x[i] + derivative * dt;
        }
        return new Tensor(result, sample.ShapeArray());
    }
}
