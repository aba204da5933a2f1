using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Schedulers;

namespace MixDQ.Runtime.Tests.Schedulers;

public class NoiseTests
{
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox_matches_random123_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3)
    {
        Assert.Equal((r0, r1, r2, r3), Philox4x32.Generate(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void Same_seed_gives_same_values_and_different_seeds_differ()
    {
        float[] a = Draw(42, 1000), b = Draw(42, 1000), c = Draw(43, 1000);
        Assert.Equal(a, b);
        Assert.True(a.Zip(c).Count(p => p.First != p.Second) > 990);
        Assert.NotEqual(Draw(-1, 8), Draw(long.MaxValue, 8));
    }

    [Fact]
    public void Stream_does_not_depend_on_how_it_is_cut()
    {
        float[] whole = Draw(7, 11);
        var noise = new GaussianNoise(7);
        var parts = new float[11];
        noise.FillStandardNormal(parts.AsSpan(0, 3));
        noise.FillStandardNormal(parts.AsSpan(3, 0));
        noise.FillStandardNormal(parts.AsSpan(3, 1));
        noise.FillStandardNormal(parts.AsSpan(4, 7));
        Assert.Equal(whole, parts);
        Assert.Equal(11, noise.Position);
    }

    [Fact]
    public void Values_are_standard_normal()
    {
        float[] v = Draw(1234, 100_000);
        double mean = v.Average(x => (double)x);
        double std = Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(std, 0.99, 1.01);
        double within1 = v.Count(x => Math.Abs(x) < 1) / (double)v.Length;
        Assert.InRange(within1, 0.6827 - 0.005, 0.6827 + 0.005);
        Assert.All(v, x => Assert.True(float.IsFinite(x)));
    }

    [Fact]
    public void First_values_of_seed_zero_are_pinned()
    {
        // Regression guard for cross-platform determinism: these floats must never change on any OS or runtime.
        // Cross-checked with an independent Python Philox4x32-10 + Box–Muller (math.log/cos/sin) computation.
        Assert.Equal(PinnedSeedZero, Draw(0, PinnedSeedZero.Length));
    }

    private static readonly float[] PinnedSeedZero =
        [-0.39766753f, -0.31039548f, 1.3868444f, 0.3292132f, -0.20578629f, 1.4966588f, -1.188176f, 0.58879155f];

    [Fact]
    public void Deterministic_log_and_sincos_agree_with_system_math()
    {
        var rng = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            double x = i == 0 ? 1.0 : i == 1 ? Math.Pow(2, -53) : rng.NextDouble() + 1e-300;
            double log = DeterministicMath.Log(x);
            Assert.True(Math.Abs(log - Math.Log(x)) <= 4e-16 * Math.Max(1, Math.Abs(Math.Log(x))), $"ln {x}: {log} vs {Math.Log(x)}");
            double u = i == 2 ? 0.0 : rng.NextDouble();
            var (sin, cos) = DeterministicMath.SinCosTwoPi(u);
            Assert.True(Math.Abs(sin - Math.Sin(2 * Math.PI * u)) < 2e-15, $"sin 2π·{u}");
            Assert.True(Math.Abs(cos - Math.Cos(2 * Math.PI * u)) < 2e-15, $"cos 2π·{u}");
        }
    }

    [Fact]
    public void Sample_builds_a_tensor_and_rejects_bad_shapes()
    {
        var t = GaussianNoise.Sample(new GaussianNoise(9), 1, 4, 8, 8);
        Assert.Equal([1, 4, 8, 8], t.ShapeArray());
        Assert.Equal(Draw(9, 256), t.Data);
        var e = Assert.Throws<MixDQException>(() => GaussianNoise.Sample(new GaussianNoise(9), 1, 0, 8));
        Assert.Equal(ErrorCodes.InvalidArgument, e.Code);
    }

    private static float[] Draw(long seed, int count)
    {
        var values = new float[count];
        new GaussianNoise(seed).FillStandardNormal(values);
        return values;
    }
}
