using MixDQ.Runtime.Models.Unet;

namespace MixDQ.Runtime.Tests.Models;

public sealed class TimestepSinusoidTests
{
    [Theory]
    [InlineData(999f)]
    [InlineData(499f)]
    [InlineData(0f)]
    public void FlippedSinusoidIsCosineFirst(float t)
    {
        // §2.1: half = 160, freq_i = 10000^(−i/160), [cos(t·freq), sin(t·freq)].
        var e = TimestepSinusoid.Embed([t], 320, flipSinToCos: true, freqShift: 0);
        Assert.Equal(320, e.Length);
        for (int i = 0; i < 160; i++)
        {
            double a = t * Math.Pow(10000, -i / 160.0);
            // The argument is a float32 product as in PyTorch, so allow its rounding (≤ 1 ulp of ~1000).
            Assert.Equal(Math.Cos(a), e[i], 2e-4);
            Assert.Equal(Math.Sin(a), e[160 + i], 2e-4);
        }
        if (t == 0)
        {
            Assert.All(e.Take(160), v => Assert.Equal(1f, v));
            Assert.All(e.Skip(160), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void UnflippedShiftedAndOddWidths()
    {
        // freq_shift 1: freq_i = exp(−ln(10000)·i/(half − 1)); not flipped: sin first; odd width: zero padded.
        var e = TimestepSinusoid.Embed([3f, 512f], 9, flipSinToCos: false, freqShift: 1);
        Assert.Equal(18, e.Length);
        for (int row = 0; row < 2; row++)
        {
            double t = row == 0 ? 3 : 512;
            for (int i = 0; i < 4; i++)
            {
                double a = t * Math.Exp(-Math.Log(10000) * i / 3);
                Assert.Equal(Math.Sin(a), e[row * 9 + i], 1e-5);
                Assert.Equal(Math.Cos(a), e[row * 9 + 4 + i], 1e-5);
            }
            Assert.Equal(0f, e[row * 9 + 8]);
        }
    }

    [Fact]
    public void SdxlTimeIdSinusoidHasTheDocumentedFrequencies()
    {
        // §2.2: dim 256, half 128, freq_i = 10000^(−i/128), cos first, applied to each id.
        var e = TimestepSinusoid.Embed([512f, 0f], 256, flipSinToCos: true, freqShift: 0);
        Assert.Equal(Math.Cos(512 * Math.Pow(10000, -5 / 128.0)), e[5], 1e-4);
        Assert.Equal(Math.Sin(512 * Math.Pow(10000, -127 / 128.0)), e[255], 1e-5);
        Assert.Equal(1f, e[256]);
        Assert.Equal(0f, e[256 + 128]);
    }
}
