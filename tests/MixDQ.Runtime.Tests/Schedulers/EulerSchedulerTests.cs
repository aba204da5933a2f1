using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Tensors;
using static MixDQ.Runtime.Tests.Schedulers.SchedulerTestData;

namespace MixDQ.Runtime.Tests.Schedulers;

/// <summary>Reference values: diffusers-architecture.md §7 (diffusers EulerDiscrete/EulerAncestral, scaled_linear 0.00085→0.012).</summary>
public class EulerSchedulerTests
{
    [Fact]
    public void Training_schedule_matches_diffusers_values()
    {
        var schedule = NoiseSchedule.Create(SdTurbo);
        AssertRelative(14.6146, schedule.Sigmas[999]);
        AssertRelative(0.029167, schedule.Sigmas[0]);
        AssertRelative(0.0046601, schedule.AlphasCumprod[999]);
        AssertRelative(0.068265, Math.Sqrt(schedule.AlphasCumprod[999]));
        for (int t = 1; t < 1000; t++) Assert.True(schedule.Sigmas[t] > schedule.Sigmas[t - 1]);
    }

    public static TheoryData<int, float[], double[]> TrailingReference => new()
    {
        { 1, [999], [14.6146] },
        { 2, [999, 499], [14.6146, 1.6129] },
        { 3, [999, 666, 332], [] },
        { 4, [999, 749, 499, 249], [14.6146, 4.0817, 1.6129, 0.6932] },
    };

    [Theory]
    [MemberData(nameof(TrailingReference))]
    public void Trailing_timesteps_and_sigmas_match_diffusers(int steps, float[] timesteps, double[] sigmas)
    {
        foreach (var scheduler in new IScheduler[] { new EulerDiscreteScheduler(SdTurbo, steps), new EulerAncestralDiscreteScheduler(SdxlTurbo, steps) })
        {
            Assert.Equal(timesteps, scheduler.Timesteps);
            AssertRelative(14.6146, scheduler.InitNoiseSigma);
        }
        var euler = new EulerDiscreteScheduler(SdTurbo, steps);
        Assert.Equal(steps + 1, euler.Sigmas.Count);
        Assert.Equal(0f, euler.Sigmas[^1]);
        for (int i = 0; i < sigmas.Length; i++) AssertRelative(sigmas[i], euler.Sigmas[i]);
    }

    [Fact]
    public void Leading_spacing_adds_the_offset_and_scales_the_initial_sigma()
    {
        var config = SdTurbo with { TimestepSpacing = TimestepSpacing.Leading };
        var scheduler = new EulerDiscreteScheduler(config, 4);
        Assert.Equal([751f, 501f, 251f, 1f], scheduler.Timesteps);
        float max = scheduler.Sigmas[0];
        Assert.Equal(MathF.Sqrt(max * max + 1f), scheduler.InitNoiseSigma);
    }

    [Fact]
    public void Linspace_spacing_follows_numpy_including_the_single_step_case()
    {
        var config = SdTurbo with { TimestepSpacing = TimestepSpacing.Linspace };
        Assert.Equal([999f, 666f, 333f, 0f], new EulerDiscreteScheduler(config, 4).Timesteps);
        Assert.Equal([0f], new EulerDiscreteScheduler(config, 1).Timesteps); // np.linspace(0, 999, 1) == [0]
        var three = new EulerDiscreteScheduler(config, 3);
        Assert.Equal([999f, 499.5f, 0f], three.Timesteps);
        // Fractional timestep: σ interpolated linearly between σ_499 and σ_500.
        var table = NoiseSchedule.Create(config).Sigmas;
        Assert.Equal((float)(table[499] + 0.5 * ((double)table[500] - table[499])), three.Sigmas[1]);
    }

    [Fact]
    public void Scale_model_input_divides_by_sqrt_sigma_squared_plus_one()
    {
        var scheduler = new EulerDiscreteScheduler(SdTurbo, 2);
        var x = Ramp(1, 1, 4, 2, 2);
        for (int step = 0; step < 2; step++)
        {
            var scaled = scheduler.ScaleModelInput(x, step);
            float sigma = scheduler.Sigmas[step];
            Assert.Equal(x.ShapeArray(), scaled.ShapeArray());
            for (int i = 0; i < x.Length; i++) AssertRelative(x.Span[i] / Math.Sqrt(sigma * (double)sigma + 1), scaled.Span[i], 1e-6);
        }
        AssertRelative(1 / Math.Sqrt(14.6146 * 14.6146 + 1), scheduler.ScaleModelInput(Tensor.FromSpan([1f], 1), 0).Span[0]);
    }

    [Fact]
    public void One_euler_step_returns_x0_for_epsilon()
    {
        var x = Ramp(1, 1, 4, 3, 3);
        var eps = Ramp(2, 1, 4, 3, 3);
        float sigma = new EulerDiscreteScheduler(SdTurbo, 1).Sigmas[0];
        foreach (var scheduler in new IScheduler[] { new EulerDiscreteScheduler(SdTurbo, 1), new EulerAncestralDiscreteScheduler(SdxlTurbo, 1) })
        {
            var result = scheduler.Step(eps, 0, x, noise: null); // the last step draws no noise
            for (int i = 0; i < x.Length; i++)
                Assert.Equal(x.Span[i] - sigma * eps.Span[i], result.Span[i], 1e-4f);
        }
    }

    [Fact]
    public void One_step_v_prediction_and_sample_give_their_x0()
    {
        var x = Ramp(3, 1, 4, 2, 2);
        var output = Ramp(4, 1, 4, 2, 2);
        var v = new EulerDiscreteScheduler(SdTurbo with { PredictionType = PredictionType.VPrediction }, 1);
        float s = v.Sigmas[0];
        var vResult = v.Step(output, 0, x, null);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = output.Span[i] * (-s / Math.Sqrt(s * s + 1.0)) + x.Span[i] / (s * s + 1.0);
            Assert.Equal(expected, vResult.Span[i], 1e-4);
        }
        foreach (var scheduler in new IScheduler[]
        {
            new EulerDiscreteScheduler(SdTurbo with { PredictionType = PredictionType.Sample }, 1),
            new EulerAncestralDiscreteScheduler(SdxlTurbo with { PredictionType = PredictionType.Sample }, 1),
        })
        {
            var result = scheduler.Step(output, 0, x, null);
            for (int i = 0; i < x.Length; i++) Assert.Equal(output.Span[i], result.Span[i], 1e-4f);
        }
    }

    [Fact]
    public void Multi_step_euler_moves_along_the_derivative()
    {
        var scheduler = new EulerDiscreteScheduler(SdTurbo, 2);
        var x = Ramp(5, 2, 4, 2, 2);
        var eps = Ramp(6, 2, 4, 2, 2);
        float s0 = scheduler.Sigmas[0], s1 = scheduler.Sigmas[1];
        var result = scheduler.Step(eps, 0, x, null);
        // epsilon: d = (x − (x − σ0·ε))/σ0 = ε, so x ← x + ε·(σ1 − σ0).
        for (int i = 0; i < x.Length; i++) Assert.Equal(x.Span[i] + eps.Span[i] * (s1 - s0), result.Span[i], 1e-4f);
    }

    [Fact]
    public void Euler_ancestral_splits_sigma_into_up_and_down_and_adds_noise()
    {
        var scheduler = new EulerAncestralDiscreteScheduler(SdxlTurbo, 4);
        float from = scheduler.Sigmas[1], to = scheduler.Sigmas[2];
        var (up, down) = scheduler.AncestralSigmas(1);
        AssertRelative(Math.Sqrt(to * (double)to * (from * (double)from - to * (double)to) / (from * (double)from)), up, 1e-5);
        AssertRelative(to * (double)to, up * (double)up + down * (double)down, 1e-5);
        Assert.Equal((0f, 0f), scheduler.AncestralSigmas(3));

        var x = Ramp(7, 1, 4, 2, 2);
        var eps = Ramp(8, 1, 4, 2, 2);
        var noise = new PatternNoise(0.5f, -1.25f, 2f);
        var result = scheduler.Step(eps, 1, x, noise);
        Assert.Equal(1, noise.Calls);
        float[] z = [0.5f, -1.25f, 2f];
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(x.Span[i] + eps.Span[i] * (down - from) + z[i % 3] * up, result.Span[i], 1e-4f);
    }

    [Fact]
    public void Euler_ancestral_needs_noise_before_the_last_step()
    {
        var scheduler = new EulerAncestralDiscreteScheduler(SdxlTurbo, 2);
        var x = Ramp(1, 1, 4, 2, 2);
        var e = Assert.Throws<MixDQException>(() => scheduler.Step(x, 0, x, null));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal("noise", e.Item);
    }

    [Fact]
    public void Steps_validate_shapes_and_indices()
    {
        var scheduler = new EulerDiscreteScheduler(SdTurbo, 2);
        var x = Ramp(1, 1, 4, 2, 2);
        var e = Assert.Throws<MixDQException>(() => scheduler.Step(Ramp(1, 1, 4, 2, 3), 0, x, null));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        e = Assert.Throws<MixDQException>(() => scheduler.Step(x, 2, x, null));
        Assert.Equal("stepIndex", e.Item);
        e = Assert.Throws<MixDQException>(() => scheduler.ScaleModelInput(x, -1));
        Assert.Equal("stepIndex", e.Item);
    }

    [Fact]
    public void Initial_latents_are_noise_times_init_sigma()
    {
        var scheduler = new EulerDiscreteScheduler(SdTurbo, 1);
        var latents = scheduler.InitialLatents(new GaussianNoise(3), 1, 4, 8, 8);
        var noise = GaussianNoise.Sample(new GaussianNoise(3), 1, 4, 8, 8);
        Assert.Equal([1, 4, 8, 8], latents.ShapeArray());
        for (int i = 0; i < noise.Length; i++) Assert.Equal(noise.Span[i] * scheduler.InitNoiseSigma, latents.Span[i]);
    }
}
