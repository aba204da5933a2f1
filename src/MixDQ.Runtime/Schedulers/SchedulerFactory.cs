namespace MixDQ.Runtime.Schedulers;

/// <summary>Creates the scheduler a diffusers <c>scheduler_config.json</c> describes.</summary>
public static class SchedulerFactory
{
    /// <summary>A scheduler of <paramref name="config"/>'s class with <paramref name="steps"/> steps (1–8 for the turbo models).</summary>
    /// <exception cref="Diagnostics.MixDQException"><c>MIXDQ041</c> for an invalid config, <c>MIXDQ050</c> for a bad step count.</exception>
    public static IScheduler Create(SchedulerConfig config, int steps)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Kind switch
        {
            SchedulerKind.EulerDiscrete => new EulerDiscreteScheduler(config, steps),
            SchedulerKind.EulerAncestralDiscrete => new EulerAncestralDiscreteScheduler(config, steps),
            SchedulerKind.Lcm => new LcmScheduler(config, steps),
            _ => throw new Diagnostics.MixDQException(Diagnostics.ErrorCodes.SchedulerInvalid, $"unknown scheduler kind {config.Kind}", item: "_class_name"),
        };
    }

    /// <summary>Reads and validates <c>scheduler_config.json</c>.</summary>
    /// <exception cref="Diagnostics.MixDQException"><c>MIXDQ021</c> when the file is missing; <c>MIXDQ041</c> naming the
    /// file and field for an unsupported class or value.</exception>
    public static SchedulerConfig LoadConfig(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return SchedulerConfigReader.Load(path);
    }

    /// <summary>Parses the text of a <c>scheduler_config.json</c>; <paramref name="sourcePath"/> only names it in errors.</summary>
    public static SchedulerConfig ParseConfig(string json, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return SchedulerConfigReader.Parse(json, sourcePath);
    }
}
