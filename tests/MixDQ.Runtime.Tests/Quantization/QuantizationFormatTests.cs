using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Quantization;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.Quantization;

/// <summary>The integer formats every side shares: packing, weight grids, activation quantizers, calibration.</summary>
public class QuantizationFormatTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 13)]
    [InlineData(4, 7)]
    [InlineData(4, 64)]
    [InlineData(8, 45)]
    public void Pack_unpack_round_trips_with_padding_bits_zero(int bits, int count)
    {
        var r = new Random(bits * 100 + count);
        var codes = Enumerable.Range(0, count).Select(_ => (byte)r.Next(IntegerFormat.MaxCode(bits) + 1)).ToArray();
        var packed = new byte[IntegerFormat.RowBytes(count, bits)];
        Array.Fill(packed, (byte)0xFF);
        BitPacking.PackRow(codes, bits, packed);
        var back = new byte[count];
        BitPacking.UnpackRow(packed, bits, back);
        Assert.Equal(codes, back);
        int used = count * bits % 8;
        if (used != 0) Assert.Equal(0, packed[^1] >> used);
        // Low bits first: code 0 sits in the least significant bits of byte 0.
        Assert.Equal(codes[0], packed[0] & IntegerFormat.MaxCode(bits));
    }

    [Fact]
    public void Layout_is_the_documented_one()
    {
        var packed = new byte[2];
        BitPacking.PackRow([1, 2, 3, 0, 2], 2, packed);
        Assert.Equal(new byte[] { 0b00_11_10_01, 0b10 }, packed);
        BitPacking.PackRow([0xA, 0x5, 0xC], 4, packed);
        Assert.Equal(new byte[] { 0x5A, 0x0C }, packed);
    }

    [Theory]
    [InlineData(8, WeightScheme.Symmetric)]
    [InlineData(4, WeightScheme.Symmetric)]
    [InlineData(2, WeightScheme.Symmetric)]
    [InlineData(8, WeightScheme.Asymmetric)]
    [InlineData(4, WeightScheme.Asymmetric)]
    [InlineData(2, WeightScheme.Asymmetric)]
    public void Weights_round_trip_within_half_a_step(int bits, WeightScheme scheme)
    {
        var r = new Random(bits);
        int rows = 9, k = 37;
        var w = Enumerable.Range(0, rows * k).Select(i => (float)(r.NextDouble() * 2 - 1) * (1 + i / k) + (scheme == WeightScheme.Asymmetric ? 0.3f : 0)).ToArray();
        var q = WeightQuantizer.Quantize(w, rows, k, bits, scheme);
        var d = q.Dequantize();
        double worst = 0;
        for (int row = 0; row < rows; row++)
        {
            float step = q.Scales[row];
            float min = Math.Min(0, w.Skip(row * k).Take(k).Min()), max = Math.Max(0, w.Skip(row * k).Take(k).Max());
            float lo = step * (0 - q.ZeroPoints[row]), hi = step * (IntegerFormat.MaxCode(bits) - q.ZeroPoints[row]);
            for (int i = row * k; i < row * k + k; i++)
            {
                // Within the grid's range every value is at most half a step away; outside (2-bit symmetric) it clamps.
                float expected = Math.Clamp(w[i], lo, hi);
                double err = Math.Abs(d[i] - expected);
                worst = Math.Max(worst, err / step);
                Assert.True(err <= step / 2 * (1 + 1e-5), $"W{bits} {scheme} [{row}, {i - row * k}]: {w[i]} → {d[i]}, step {step}");
            }
            Assert.True(lo <= min + step && hi >= max - step, $"grid [{lo}, {hi}] does not cover [{min}, {max}]");
            if (scheme == WeightScheme.Symmetric) Assert.Equal(IntegerFormat.SymmetricZeroPoint(bits), q.ZeroPoints[row]);
        }
        output.WriteLine($"W{bits} {scheme}: worst error {worst:F4} steps");
    }

    [Fact]
    public void Symmetric_and_asymmetric_grids_follow_their_formulas()
    {
        float[] w = [-0.5f, 0.25f, 1.0f, 0f];
        var sym = WeightQuantizer.Quantize(w, 1, 4, 8, WeightScheme.Symmetric);
        Assert.Equal(1.0f / 127, sym.Scales[0]);
        Assert.Equal(128, sym.ZeroPoints[0]);
        var asym = WeightQuantizer.Quantize(w, 1, 4, 8, WeightScheme.Asymmetric);
        Assert.Equal(1.5f / 255, asym.Scales[0]);
        Assert.Equal((int)MathF.Round(0.5f / (1.5f / 255)), asym.ZeroPoints[0]);
        var codes = new byte[4];
        asym.RowCodes(0, codes);
        Assert.Equal(asym.ZeroPoints[0], codes[3]); // zero is exactly on the grid
        var two = WeightQuantizer.Quantize(w, 1, 4, 2, WeightScheme.Symmetric);
        Assert.Equal(1.0f, two.Scales[0]); // 2-bit symmetric: Δ = max|w|
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Mse_clipping_is_never_worse_than_min_max(int bits)
    {
        var r = new Random(bits + 7);
        int rows = 16, k = 200;
        // Heavy tails: a few outliers per row, where clipping pays.
        var w = Enumerable.Range(0, rows * k).Select(i => (float)(r.NextDouble() < 0.02 ? 8 * (r.NextDouble() - 0.5) : r.NextDouble() - 0.5)).ToArray();
        foreach (var scheme in new[] { WeightScheme.Symmetric, WeightScheme.Asymmetric })
        {
            var minMax = WeightQuantizer.Quantize(w, rows, k, bits, scheme).Dequantize();
            var mse = WeightQuantizer.Quantize(w, rows, k, bits, scheme, WeightClipping.MseSearch).Dequantize();
            double total0 = 0, total1 = 0;
            for (int row = 0; row < rows; row++)
            {
                double e0 = 0, e1 = 0;
                for (int i = row * k; i < row * k + k; i++)
                {
                    e0 += Math.Pow(minMax[i] - w[i], 2);
                    e1 += Math.Pow(mse[i] - w[i], 2);
                }
                Assert.True(e1 <= e0 * (1 + 1e-6), $"W{bits} {scheme} row {row}: MSE search {e1} worse than min-max {e0}");
                total0 += e0;
                total1 += e1;
            }
            output.WriteLine($"W{bits} {scheme}: squared error min-max {total0:G4}, MSE search {total1:G4}");
        }
    }

    [Fact]
    public void Activation_quantizer_rounds_half_to_even_and_clamps()
    {
        var q = ActivationQuantParams.FromRange(-1f, 3f, 8);
        Assert.Equal(4f / 255, q.Scale);
        Assert.Equal((int)MathF.Round(255 / 4f), q.ZeroPoint);
        Assert.Equal(0, q.Quantize(-100f));
        Assert.Equal(255, q.Quantize(100f));
        Assert.Equal(q.ZeroPoint, q.Quantize(0f));
        var half = new ActivationQuantParams(8, 1f, 10);
        Assert.Equal(12, half.Quantize(2.5f)); // round half to even: 2.5 → 2
        Assert.Equal(14, half.Quantize(3.5f));
        // Within range, fake quantization moves a value by at most half a step.
        var r = new Random(3);
        var x = Enumerable.Range(0, 1000).Select(_ => (float)(r.NextDouble() * 4 - 1)).ToArray();
        var y = new float[x.Length];
        q.FakeQuantize(x, y);
        Assert.All(Enumerable.Range(0, x.Length), i => Assert.True(Math.Abs(x[i] - y[i]) <= q.Scale / 2 * (1 + 1e-5)));
        // A range that excludes zero is widened to include it.
        var positive = ActivationQuantParams.FromRange(2f, 5f, 4);
        Assert.Equal(0, positive.ZeroPoint);
        Assert.Equal(5f / 15, positive.Scale);
    }

    [Fact]
    public void Range_observer_keeps_an_ema_of_batch_extremes()
    {
        var o = new RangeObserver(0.9f);
        o.Observe([-1f, 2f]);
        Assert.Equal((-1f, 2f), (o.Min, o.Max));
        o.Observe([-3f, 0f, 4f]);
        Assert.Equal(0.9f * -1 + 0.1f * -3, o.Min, 6);
        Assert.Equal(0.9f * 2 + 0.1f * 4, o.Max, 6);
        Assert.Equal(2, o.Batches);
        var p = o.ToParams(8);
        Assert.Equal((o.Max - o.Min) / 255, p.Scale, 6);
    }

    [Fact]
    public void Bad_settings_and_stored_data_are_mixdq_errors()
    {
        void Expect(string code, Action act) => Assert.Equal(code, Assert.Throws<MixDQException>(act).Code);
        const string settings = ErrorCodes.QuantizationSettingsInvalid, stored = ErrorCodes.QuantizedWeightsInvalid;

        Expect(settings, () => WeightQuantizer.Quantize(new float[6], 2, 3, 3));
        Expect(settings, () => WeightQuantizer.Quantize(new float[5], 2, 3, 8));
        Expect(settings, () => WeightQuantizer.Quantize([1f, float.NaN], 1, 2, 8));
        Expect(settings, () => ActivationQuantParams.FromRange(0, 1, 2));
        Expect(settings, () => ActivationQuantParams.FromRange(float.NaN, 1, 8));
        Expect(settings, () => _ = new ActivationQuantParams(8, 0f, 3));
        Expect(settings, () => _ = new ActivationQuantParams(8, 1f, 256));
        Expect(settings, () => new RangeObserver().ToParams(8));
        Expect(settings, () => new RangeObserver().Observe([1f, float.PositiveInfinity]));
        Expect(settings, () => _ = new RangeObserver(1f));

        Expect(stored, () => _ = new QuantizedWeight(2, 5, 4, WeightScheme.Symmetric, new byte[5], [1f, 1f]));      // needs 6 bytes
        Expect(stored, () => _ = new QuantizedWeight(2, 4, 8, WeightScheme.Symmetric, new byte[8], [1f]));          // one scale
        Expect(stored, () => _ = new QuantizedWeight(1, 4, 8, WeightScheme.Symmetric, new byte[4], [float.NaN]));
        Expect(stored, () => _ = new QuantizedWeight(1, 4, 8, WeightScheme.Asymmetric, new byte[4], [1f]));         // no zero point
        Expect(stored, () => _ = new QuantizedWeight(1, 4, 2, WeightScheme.Asymmetric, new byte[1], [1f], [4]));    // zero point > 3
        Expect(stored, () => _ = new QuantizedWeight(1, 4, 8, WeightScheme.Symmetric, new byte[4], [1f], [7]));     // sym zero point
        var w = WeightQuantizer.Quantize(new float[8], 2, 4, 8);
        Expect(stored, () => _ = new QuantizedLayer(w, bosRow: [1f]));
        Expect(stored, () => _ = new QuantizedLayer(w, bosRow: [1f, float.NaN]));
        var layer = new QuantizedLayer(w, [new InputQuantSegment(3, ActivationQuantParams.FromRange(-1, 1, 8))]);
        Expect(stored, () => layer.CheckInputChannels(4));
    }
}
