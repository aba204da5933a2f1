namespace MixDQ.Runtime.Schedulers;

/// <summary>The diffusers scheduler classes this runtime implements.</summary>
public enum SchedulerKind
{
    /// <summary><c>EulerDiscreteScheduler</c> (sd-turbo).</summary>
    EulerDiscrete,

    /// <summary><c>EulerAncestralDiscreteScheduler</c> (sdxl-turbo).</summary>
    EulerAncestralDiscrete,

    /// <summary><c>LCMScheduler</c> (LCM-LoRA).</summary>
    Lcm,
}

/// <summary>diffusers <c>beta_schedule</c>.</summary>
public enum BetaSchedule
{
    Linear,
    ScaledLinear,
    SquaredCosCapV2,
}

/// <summary>diffusers <c>prediction_type</c>: what the UNet predicts.</summary>
public enum PredictionType
{
    Epsilon,
    VPrediction,
    Sample,
}

/// <summary>diffusers <c>timestep_spacing</c> (Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed").</summary>
public enum TimestepSpacing
{
    Linspace,
    Leading,
    Trailing,
}

/// <summary>
/// The supported subset of a diffusers <c>scheduler_config.json</c>, as plain values. Read one with
/// <see cref="SchedulerFactory.LoadConfig"/> (which validates) or start from <see cref="Defaults"/> and use
/// <c>with</c>. Property defaults are those of diffusers' Euler schedulers; <see cref="Defaults"/> gives each
/// class its own.
/// </summary>
public sealed record SchedulerConfig
{
    public SchedulerKind Kind { get; init; } = SchedulerKind.EulerDiscrete;

    /// <summary><c>num_train_timesteps</c>.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>beta_start</c>.</summary>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary><c>beta_end</c>.</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary><c>beta_schedule</c>.</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary><c>prediction_type</c>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary><c>timestep_spacing</c> (Euler family; LCM has its own schedule and ignores it, like diffusers).</summary>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary><c>steps_offset</c> (used by "leading" spacing only).</summary>
    public int StepsOffset { get; init; }

    /// <summary><c>original_inference_steps</c> (LCM).</summary>
    public int OriginalInferenceSteps { get; init; } = 50;

    /// <summary><c>timestep_scaling</c> (LCM boundary-condition scalings).</summary>
    public double TimestepScaling { get; init; } = 10.0;

    /// <summary><c>clip_sample</c> (LCM: clamp the predicted x0).</summary>
    public bool ClipSample { get; init; }

    /// <summary><c>clip_sample_range</c> (LCM).</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>The diffusers <c>_class_name</c> of <see cref="Kind"/>.</summary>
    public string ClassName => ClassNameOf(Kind);

    /// <summary>diffusers' constructor defaults for a scheduler class.</summary>
    public static SchedulerConfig Defaults(SchedulerKind kind) => kind switch
    {
        SchedulerKind.Lcm => new SchedulerConfig
        {
            Kind = kind,
            BetaStart = 0.00085,
            BetaEnd = 0.012,
            BetaSchedule = BetaSchedule.ScaledLinear,
            TimestepSpacing = TimestepSpacing.Leading,
        },
        _ => new SchedulerConfig { Kind = kind },
    };

    public static string ClassNameOf(SchedulerKind kind) => kind switch
    {
        SchedulerKind.EulerDiscrete => "EulerDiscreteScheduler",
        SchedulerKind.EulerAncestralDiscrete => "EulerAncestralDiscreteScheduler",
        SchedulerKind.Lcm => "LCMScheduler",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
