using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Schedulers;
using static MixDQ.Runtime.Tests.Schedulers.SchedulerTestData;

namespace MixDQ.Runtime.Tests.Schedulers;

/// <summary>Reference values: diffusers-architecture.md §7.4 (diffusers LCMScheduler).</summary>
public class LcmSchedulerTests
{
    [Theory]
    [InlineData(1, new[] { 999f })]
    [InlineData(2, new[] { 999f, 499f })]
    [InlineData(3, new[] { 999f, 679f, 339f })]
    [InlineData(4, new[] { 999f, 759f, 499f, 259f })]
    [InlineData(8, new[] { 999f, 879f, 759f, 639f, 499f, 379f, 259f, 139f })]
    public void Timesteps_follow_the_lcm_distillation_grid(int steps, float[] expected)
    {
        var scheduler = new LcmScheduler(Lcm, steps);
        Assert.Equal(expected, scheduler.Timesteps);
        Assert.Equal(1f, scheduler.InitNoiseSigma);
    }

    [Fact]
    public void Model_input_is_not_scaled()
    {
        var scheduler = new LcmScheduler(Lcm, 4);
        var x = Ramp(1, 1, 4, 2, 2);
        Assert.Same(x, scheduler.ScaleModelInput(x, 2));
    }

    [Theory]
    [InlineData(999)]
    [InlineData(259)]
    public void Boundary_scalings_use_timestep_scaling(int t)
    {
        var (cSkip, cOut) = new LcmScheduler(Lcm, 4).BoundaryScalings(t);
        double s = 10.0 * t;
        AssertRelative(0.25 / (s * s + 0.25), cSkip, 1e-5);
        AssertRelative(s / Math.Sqrt(s * s + 0.25), cOut, 1e-6);
        var (smallSkip, smallOut) = new LcmScheduler(Lcm with { TimestepScaling = 0.001 }, 4).BoundaryScalings(t);
        double s2 = 0.001 * t;
        AssertRelative(0.25 / (s2 * s2 + 0.25), smallSkip, 1e-5);
        AssertRelative(s2 / Math.Sqrt(s2 * s2 + 0.25), smallOut, 1e-5);
    }

    [Fact]
    public void Step_before_the_last_recombines_denoised_with_fresh_noise()
    {
        var config = Lcm with { TimestepScaling = 0.001 }; // makes c_skip visibly non-zero
        var scheduler = new LcmScheduler(config, 4);
        var x = Ramp(1, 1, 4, 2, 2);
        var eps = Ramp(2, 1, 4, 2, 2);
        var noise = new PatternNoise(1.5f, -0.5f);
        var result = scheduler.Step(eps, 1, x, noise); // t = 759 → t' = 499

        double a = scheduler.AlphaCumprod(759), aPrev = scheduler.AlphaCumprod(499);
        double s = 0.001 * 759, cSkip = 0.25 / (s * s + 0.25), cOut = s / Math.Sqrt(s * s + 0.25);
        float[] z = [1.5f, -0.5f];
        for (int i = 0; i < x.Length; i++)
        {
            double x0 = (x.Span[i] - Math.Sqrt(1 - a) * eps.Span[i]) / Math.Sqrt(a);
            double denoised = cOut * x0 + cSkip * x.Span[i];
            double expected = Math.Sqrt(aPrev) * denoised + Math.Sqrt(1 - aPrev) * z[i % 2];
            Assert.Equal(expected, result.Span[i], 1e-4);
        }
        Assert.Equal(1, noise.Calls);
    }

    [Fact]
    public void Last_step_returns_denoised_without_noise()
    {
        var scheduler = new LcmScheduler(Lcm, 4);
        var x = Ramp(3, 1, 4, 2, 2);
        var eps = Ramp(4, 1, 4, 2, 2);
        var result = scheduler.Step(eps, 3, x, noise: null);
        double a = scheduler.AlphaCumprod(259);
        var (cSkip, cOut) = scheduler.BoundaryScalings(259);
        for (int i = 0; i < x.Length; i++)
        {
            double x0 = (x.Span[i] - Math.Sqrt(1 - a) * eps.Span[i]) / Math.Sqrt(a);
            Assert.Equal(cOut * x0 + cSkip * x.Span[i], result.Span[i], 1e-4);
        }
    }

    [Fact]
    public void Sample_and_v_prediction_and_clipping()
    {
        var x = Ramp(5, 1, 4, 2, 2);
        var output = Ramp(6, 1, 4, 2, 2);
        var sample = new LcmScheduler(Lcm with { PredictionType = PredictionType.Sample }, 1);
        var (cSkip, cOut) = sample.BoundaryScalings(999);
        var result = sample.Step(output, 0, x, null);
        for (int i = 0; i < x.Length; i++) Assert.Equal(cOut * output.Span[i] + cSkip * x.Span[i], result.Span[i], 1e-5);

        var v = new LcmScheduler(Lcm with { PredictionType = PredictionType.VPrediction }, 1);
        double a = v.AlphaCumprod(999);
        var vResult = v.Step(output, 0, x, null);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(cOut * (Math.Sqrt(a) * x.Span[i] - Math.Sqrt(1 - a) * output.Span[i]) + cSkip * x.Span[i], vResult.Span[i], 1e-4);

        var clipped = new LcmScheduler(Lcm with { PredictionType = PredictionType.Sample, ClipSample = true, ClipSampleRange = 0.5 }, 1);
        var clippedResult = clipped.Step(output, 0, x, null);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(cOut * Math.Clamp(output.Span[i], -0.5, 0.5) + cSkip * x.Span[i], clippedResult.Span[i], 1e-5);
    }

    [Fact]
    public void More_steps_than_the_original_schedule_is_rejected()
    {
        var e = Assert.Throws<MixDQException>(() => new LcmScheduler(Lcm, 51));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
        Assert.Equal("steps", e.Item);
        Assert.Equal(50, new LcmScheduler(Lcm, 50).Timesteps.Count);
    }
}
