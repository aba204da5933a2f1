using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Schedulers;
using MixDQ.Tests;
using static MixDQ.Runtime.Tests.Schedulers.SchedulerTestData;

namespace MixDQ.Runtime.Tests.Schedulers;

public class SchedulerConfigTests
{
    [Fact]
    public void Sd_turbo_config_is_read_with_its_values()
    {
        var c = SdTurbo;
        Assert.Equal(SchedulerKind.EulerDiscrete, c.Kind);
        Assert.Equal("EulerDiscreteScheduler", c.ClassName);
        Assert.Equal(1000, c.NumTrainTimesteps);
        Assert.Equal(0.00085, c.BetaStart);
        Assert.Equal(0.012, c.BetaEnd);
        Assert.Equal(BetaSchedule.ScaledLinear, c.BetaSchedule);
        Assert.Equal(PredictionType.Epsilon, c.PredictionType);
        Assert.Equal(TimestepSpacing.Trailing, c.TimestepSpacing);
        Assert.Equal(1, c.StepsOffset);
        Assert.IsType<EulerDiscreteScheduler>(SchedulerFactory.Create(c, 1));
    }

    [Fact]
    public void Sdxl_turbo_and_lcm_configs_create_their_schedulers()
    {
        Assert.IsType<EulerAncestralDiscreteScheduler>(SchedulerFactory.Create(SdxlTurbo, 4));
        var lcm = Lcm;
        Assert.Equal(SchedulerKind.Lcm, lcm.Kind);
        Assert.Equal(50, lcm.OriginalInferenceSteps);
        Assert.Equal(10.0, lcm.TimestepScaling);
        Assert.IsType<LcmScheduler>(SchedulerFactory.Create(lcm, 4));
    }

    [Fact]
    public void Missing_keys_take_the_class_defaults()
    {
        var euler = SchedulerFactory.ParseConfig("""{"_class_name": "EulerDiscreteScheduler"}""");
        Assert.Equal(SchedulerConfig.Defaults(SchedulerKind.EulerDiscrete), euler);
        Assert.Equal(BetaSchedule.Linear, euler.BetaSchedule);
        Assert.Equal(TimestepSpacing.Linspace, euler.TimestepSpacing);
        var lcm = SchedulerFactory.ParseConfig("""{"_class_name": "LCMScheduler", "beta_start": null}""");
        Assert.Equal(0.00085, lcm.BetaStart);
        Assert.Equal(BetaSchedule.ScaledLinear, lcm.BetaSchedule);
    }

    [Fact]
    public void Linear_and_cosine_beta_schedules_work()
    {
        var linear = NoiseSchedule.Create(SdTurbo with { BetaSchedule = BetaSchedule.Linear, BetaStart = 0.0001, BetaEnd = 0.02 });
        AssertRelative(1 - 0.0001, linear.AlphasCumprod[0], 1e-6);
        var cosine = NoiseSchedule.Create(SdTurbo with { BetaSchedule = BetaSchedule.SquaredCosCapV2 });
        Assert.True(cosine.Sigmas[999] > cosine.Sigmas[0]);
        Assert.NotNull(SchedulerFactory.Create(SdTurbo with { BetaSchedule = BetaSchedule.SquaredCosCapV2 }, 2));
    }

    [Fact]
    public void Float32_linspace_matches_torch_scalar_formula()
    {
        float[] v = NoiseSchedule.LinspaceFloat32(MathF.Sqrt(0.00085f), MathF.Sqrt(0.012f), 1000);
        Assert.Equal(MathF.Sqrt(0.00085f), v[0]);
        Assert.Equal(MathF.Sqrt(0.012f), v[999]);
        float step = (v[999] - v[0]) / 999;
        Assert.Equal(v[0] + step * 10, v[10]);
        Assert.Equal(v[999] - step * (1000 - 700 - 1), v[700]);
    }

    [Theory]
    [InlineData("""{"_class_name": "DDIMScheduler"}""", "_class_name")]
    [InlineData("""{"beta_start": 0.001}""", "_class_name")]
    [InlineData("""{"_class_name": 3}""", "_class_name")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "use_karras_sigmas": true}""", "use_karras_sigmas")]
    [InlineData("""{"_class_name": "EulerAncestralDiscreteScheduler", "prediction_type": "flow"}""", "prediction_type")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "trained_betas": [0.1, 0.2]}""", "trained_betas")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "interpolation_type": "log_linear"}""", "interpolation_type")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "beta_schedule": "sigmoid"}""", "beta_schedule")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "karras"}""", "timestep_spacing")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": "1000"}""", "num_train_timesteps")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1}""", "num_train_timesteps")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "beta_end": 1.5}""", "beta_end")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "rescale_betas_zero_snr": true}""", "rescale_betas_zero_snr")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "final_sigmas_type": "sigma_min"}""", "final_sigmas_type")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "prediction_type": "v_prediction", "timestep_type": "continuous"}""", "timestep_type")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "use_karras_sigmas": "no"}""", "use_karras_sigmas")]
    [InlineData("""{"_class_name": "LCMScheduler", "thresholding": true}""", "thresholding")]
    [InlineData("""{"_class_name": "LCMScheduler", "original_inference_steps": 0}""", "original_inference_steps")]
    [InlineData("""{"_class_name": "LCMScheduler", "prediction_type": "original_sample"}""", "prediction_type")]
    public void Unsupported_values_name_the_field_and_file(string json, string field)
    {
        using var dir = RepoPaths.NewTempDir();
        string path = dir.File("scheduler_config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<MixDQException>(() => SchedulerFactory.LoadConfig(path));
        Assert.Equal(ErrorCodes.SchedulerInvalid, e.Code);
        Assert.Equal(field, e.Item);
        Assert.Equal(path, e.File);
    }

    [Fact]
    public void Unknown_keys_and_ddim_only_keys_are_ignored()
    {
        var c = SchedulerFactory.ParseConfig("""
            {"_class_name": "EulerDiscreteScheduler", "clip_sample": true, "thresholding": true, "some_future_key": [1, 2]}
            """);
        Assert.Equal(SchedulerKind.EulerDiscrete, c.Kind);
        Assert.False(c.ClipSample);
    }

    [Fact]
    public void Continuous_timesteps_with_epsilon_behave_as_discrete()
    {
        var c = SchedulerFactory.ParseConfig("""{"_class_name": "EulerDiscreteScheduler", "timestep_type": "continuous"}""");
        Assert.Equal(PredictionType.Epsilon, c.PredictionType);
    }

    [Fact]
    public void Missing_file_is_config_missing()
    {
        string path = Path.Combine(Path.GetTempPath(), "mixdq-no-such-dir", "scheduler_config.json");
        var e = Assert.Throws<MixDQException>(() => SchedulerFactory.LoadConfig(path));
        Assert.Equal(ErrorCodes.ConfigMissing, e.Code);
        Assert.Equal(path, e.File);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    public void Malformed_json_is_scheduler_invalid(string json)
    {
        var e = Assert.Throws<MixDQException>(() => SchedulerFactory.ParseConfig(json, "x/scheduler_config.json"));
        Assert.Equal(ErrorCodes.SchedulerInvalid, e.Code);
        Assert.Equal("x/scheduler_config.json", e.File);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(1001)]
    public void Step_counts_outside_the_schedule_are_invalid_arguments(int steps)
    {
        var e = Assert.Throws<MixDQException>(() => SchedulerFactory.Create(SdTurbo, steps));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal("steps", e.Item);
    }

    [Fact]
    public void Configs_built_in_code_are_validated_too()
    {
        var e = Assert.Throws<MixDQException>(() => SchedulerFactory.Create(SdTurbo with { BetaStart = -1 }, 1));
        Assert.Equal(ErrorCodes.SchedulerInvalid, e.Code);
        Assert.Equal("beta_start", e.Item);
        e = Assert.Throws<MixDQException>(() => SchedulerFactory.Create(SdTurbo with { BetaStart = 0.9, BetaEnd = 0.99, BetaSchedule = BetaSchedule.Linear }, 1));
        Assert.Equal("beta_end", e.Item); // ᾱ underflows to 0: σ would be infinite
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(50)]
    public void All_kinds_support_the_usual_step_counts(int steps)
    {
        foreach (var config in new[] { SdTurbo, SdxlTurbo, Lcm })
        {
            var s = SchedulerFactory.Create(config, steps);
            Assert.Equal(steps, s.Timesteps.Count);
            for (int i = 1; i < steps; i++) Assert.True(s.Timesteps[i] < s.Timesteps[i - 1]);
        }
    }
}
