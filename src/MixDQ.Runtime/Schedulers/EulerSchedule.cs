namespace MixDQ.Runtime.Schedulers;

/// <summary>
/// Timesteps and sigmas shared by the Euler and Euler-ancestral schedulers: σ at each (possibly fractional)
/// timestep by linear interpolation of the training σ table (numpy, double), stored as float32, then 0 appended.
/// </summary>
internal sealed class EulerSchedule
{
    public EulerSchedule(SchedulerConfig config, int steps)
    {
        SchedulerGuards.CheckStepCount(steps, config.NumTrainTimesteps, "num_train_timesteps");
        Config = config;
        var noise = NoiseSchedule.Create(config);
        Timesteps = TimestepSchedules.Euler(config, steps);
        Sigmas = new float[steps + 1];
        for (int i = 0; i < steps; i++) Sigmas[i] = (float)TimestepSchedules.Interpolate(noise.Sigmas, Timesteps[i]);
        float max = Sigmas.Max();
        // diffusers: max σ for linspace/trailing, √(σ_max² + 1) for leading (float32 tensor math).
        InitNoiseSigma = config.TimestepSpacing == TimestepSpacing.Leading ? MathF.Sqrt(max * max + 1f) : max;
    }

    public SchedulerConfig Config { get; }

    public float[] Timesteps { get; }

    /// <summary>σ per step plus a trailing 0.</summary>
    public float[] Sigmas { get; }

    public float InitNoiseSigma { get; }

    /// <summary>x / √(σ² + 1), element by element in float32 as torch divides.</summary>
    public Tensors.Tensor ScaleModelInput(Tensors.Tensor sample, int stepIndex)
    {
        ArgumentNullException.ThrowIfNull(sample);
        SchedulerGuards.CheckStepIndex(stepIndex, Timesteps.Length);
        float sigma = Sigmas[stepIndex];
        float denominator = MathF.Sqrt(sigma * sigma + 1f);
        var result = new float[sample.Length];
        ReadOnlySpan<float> x = sample.Span;
        for (int i = 0; i < result.Length; i++) result[i] = x[i] / denominator;
        return new Tensors.Tensor(result, sample.ShapeArray());
    }

    /// <summary>The predicted denoised sample x̂0 for σ, per <c>prediction_type</c>.</summary>
    public float[] PredictOriginalSample(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma)
    {
        var x0 = new float[sample.Length];
        switch (Config.PredictionType)
        {
            case PredictionType.Epsilon:
                for (int i = 0; i < x0.Length; i++) x0[i] = sample[i] - sigma * modelOutput[i];
                break;
            case PredictionType.VPrediction:
                float sigmaSqPlusOne = sigma * sigma + 1f;
                float cOut = -sigma / MathF.Sqrt(sigmaSqPlusOne);
                for (int i = 0; i < x0.Length; i++) x0[i] = modelOutput[i] * cOut + sample[i] / sigmaSqPlusOne;
                break;
            case PredictionType.Sample:
                modelOutput.CopyTo(x0);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(modelOutput), Config.PredictionType, null);
        }
        return x0;
    }
}
