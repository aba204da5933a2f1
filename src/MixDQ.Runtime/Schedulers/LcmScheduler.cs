using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// diffusers <c>LCMScheduler</c>: x̂0 from ᾱ_t (epsilon: (x − √(1−ᾱ_t)·ε)/√ᾱ_t), then the consistency
/// boundary condition with s = t·timestep_scaling and σ_data = 0.5: c_skip = 0.25/(s² + 0.25),
/// c_out = s/√(s² + 0.25), denoised = c_out·x̂0 + c_skip·x; before the last step
/// x ← √ᾱ_{t′}·denoised + √(1−ᾱ_{t′})·N(0,1), on the last x ← denoised. Model input is not scaled and the
/// initial noise has σ = 1. The timestep spacing and offset keys are ignored, as in diffusers.
/// </summary>
public sealed class LcmScheduler : IScheduler
{
    private const float SigmaDataSquared = 0.25f;

    private readonly float[] _alphasCumprod;
    private readonly int[] _timesteps;
    private readonly float[] _timestepsAsFloat;

    public LcmScheduler(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        SchedulerConfigValidator.Validate(config, null);
        SchedulerGuards.CheckStepCount(steps, config.OriginalInferenceSteps, "original_inference_steps");
        Config = config;
        _alphasCumprod = NoiseSchedule.Create(config).AlphasCumprod;
        _timesteps = TimestepSchedules.Lcm(config, steps);
        _timestepsAsFloat = Array.ConvertAll(_timesteps, t => (float)t);
    }

    public SchedulerConfig Config { get; }

    public IReadOnlyList<float> Timesteps => _timestepsAsFloat;

    public float InitNoiseSigma => 1f;

    /// <summary>ᾱ_t of the training schedule.</summary>
    public float AlphaCumprod(int timestep) => _alphasCumprod[timestep];

    /// <summary>(c_skip, c_out) at a timestep, float32 as diffusers computes them.</summary>
    public (float CSkip, float COut) BoundaryScalings(int timestep)
    {
        float s = timestep * (float)Config.TimestepScaling;
        float cSkip = SigmaDataSquared / (s * s + SigmaDataSquared);
        float cOut = s / MathF.Sqrt(s * s + SigmaDataSquared);
        return (cSkip, cOut);
    }

    /// <summary>Identity: LCM feeds the sample to the UNet unscaled (the same instance is returned).</summary>
    public Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        ArgumentNullException.ThrowIfNull(sample);
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length);
        return sample;
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, INoiseSource? noise)
    {
        SchedulerGuards.CheckSameShape(modelOutput, sample);
        SchedulerGuards.CheckStepIndex(stepIndex, _timesteps.Length);
        int t = _timesteps[stepIndex];
        bool last = stepIndex == _timesteps.Length - 1;
        float alpha = _alphasCumprod[t];
        var (cSkip, cOut) = BoundaryScalings(t);

        ReadOnlySpan<float> x = sample.Span;
        float[] result = PredictOriginalSample(modelOutput.Span, x, alpha);
        for (int i = 0; i < result.Length; i++) result[i] = cOut * result[i] + cSkip * x[i];

        if (!last)
        {
            float alphaPrev = _alphasCumprod[_timesteps[stepIndex + 1]];
            float sqrtAlphaPrev = MathF.Sqrt(alphaPrev);
            float sqrtBetaPrev = MathF.Sqrt(1f - alphaPrev);
            var z = new float[result.Length];
            SchedulerGuards.RequireNoise(noise, nameof(LcmScheduler)).FillStandardNormal(z);
            for (int i = 0; i < result.Length; i++) result[i] = sqrtAlphaPrev * result[i] + sqrtBetaPrev * z[i];
        }
        return new Tensor(result, sample.ShapeArray());
    }

    private float[] PredictOriginalSample(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> x, float alpha)
    {
        float sqrtAlpha = MathF.Sqrt(alpha);
        float sqrtBeta = MathF.Sqrt(1f - alpha);
        var x0 = new float[x.Length];
        switch (Config.PredictionType)
        {
            case PredictionType.Epsilon:
                for (int i = 0; i < x0.Length; i++) x0[i] = (x[i] - sqrtBeta * modelOutput[i]) / sqrtAlpha;
                break;
            case PredictionType.Sample:
                modelOutput.CopyTo(x0);
                break;
            case PredictionType.VPrediction:
                for (int i = 0; i < x0.Length; i++) x0[i] = sqrtAlpha * x[i] - sqrtBeta * modelOutput[i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(modelOutput), Config.PredictionType, null);
        }
        if (Config.ClipSample)
        {
            float range = (float)Config.ClipSampleRange;
            for (int i = 0; i < x0.Length; i++) x0[i] = Math.Clamp(x0[i], -range, range);
        }
        return x0;
    }
}
