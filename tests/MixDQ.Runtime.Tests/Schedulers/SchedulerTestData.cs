using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Schedulers;

internal static class SchedulerTestData
{
    /// <summary>sd-turbo's scheduler_config.json with the keys and values listed in diffusers-architecture.md §1.1 (DDIM-only keys included).</summary>
    public const string SdTurboJson = """
        {
          "_class_name": "EulerDiscreteScheduler",
          "_diffusers_version": "0.24.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "sigma_max": null,
          "sigma_min": null,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "trailing",
          "timestep_type": "discrete",
          "trained_betas": null,
          "use_karras_sigmas": false
        }
        """;

    /// <summary>sdxl-turbo's scheduler_config.json values per diffusers-architecture.md §1.2.</summary>
    public const string SdxlTurboJson = """
        {
          "_class_name": "EulerAncestralDiscreteScheduler",
          "_diffusers_version": "0.24.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "trailing",
          "trained_betas": null
        }
        """;

    public const string LcmJson = """
        {
          "_class_name": "LCMScheduler",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "num_train_timesteps": 1000,
          "original_inference_steps": 50,
          "prediction_type": "epsilon",
          "set_alpha_to_one": true,
          "steps_offset": 1,
          "timestep_scaling": 10.0,
          "timestep_spacing": "leading"
        }
        """;

    public static SchedulerConfig SdTurbo => SchedulerFactory.ParseConfig(SdTurboJson);

    public static SchedulerConfig SdxlTurbo => SchedulerFactory.ParseConfig(SdxlTurboJson);

    public static SchedulerConfig Lcm => SchedulerFactory.ParseConfig(LcmJson);

    /// <summary>A small latent-shaped tensor with varied values.</summary>
    public static Tensor Ramp(int seed, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Span[i] = MathF.Sin(0.37f * i + seed) * (1 + 0.1f * seed);
        return t;
    }

    public static void AssertRelative(double expected, double actual, double tolerance = 1e-3)
    {
        double error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-12);
        Assert.True(error <= tolerance, $"expected {expected}, got {actual} (relative error {error:E2} > {tolerance:E0})");
    }
}

/// <summary>A noise source returning a fixed pattern, so that a step's result can be computed by hand.</summary>
internal sealed class PatternNoise(params float[] pattern) : INoiseSource
{
    public int Calls { get; private set; }

    public void FillStandardNormal(Span<float> destination)
    {
        Calls++;
        for (int i = 0; i < destination.Length; i++) destination[i] = pattern[i % pattern.Length];
    }
}
