using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>
/// The integer micro-kernels against an exact integer reference: every INT32 accumulator of every tile equal bit for
/// bit, on every ISA path this machine runs, at every weight width, on depths off the vector width and split into runs.
/// </summary>
public unsafe class IntegerKernelTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Paths() =>
        from isa in IntegerIsaDetector.Available
        from bits in new[] { 8, 4, 2 }
        select new object[] { isa, bits };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Tile_accumulators_equal_the_integer_reference(IntegerIsa isa, int bits)
    {
        var r = new Random(bits * 31 + (int)isa);
        foreach (var runLengths in new[] { new[] { 1 }, new[] { 7 }, new[] { 45 }, new[] { 300 }, new[] { 19, 26 }, new[] { 9, 1, 33 } })
        {
            int depth = runLengths.Sum(), rows = 21;
            var codes = RandomCodes(r, rows * depth, IntegerFormat.MaxCode(bits));
            var a = RandomCodes(r, 8 * depth, 255);
            CheckTiles(isa, bits, rows, depth, runLengths, codes, a, $"runs {string.Join('+', runLengths)}");
        }
        output.WriteLine($"{IntegerIsaDetector.Describe(isa)} W{bits}: every accumulator of the 4x16 and 8x16 tiles exact");
    }

    /// <summary>
    /// The largest products every path can meet: activations 255 against the largest and the smallest weight code.
    /// vpmaddubsw saturates a 16-bit pair sum above 32767; these sums are exact only if no lane ever saturates.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Extreme_codes_do_not_saturate(IntegerIsa isa, int bits)
    {
        int depth = 520, rows = 16, max = IntegerFormat.MaxCode(bits);
        foreach (int weightCode in new[] { max, 0, 128 & max })
        {
            var codes = Enumerable.Repeat((byte)weightCode, rows * depth).ToArray();
            var a = Enumerable.Repeat((byte)255, 8 * depth).ToArray();
            CheckTiles(isa, bits, rows, depth, [depth], codes, a, $"a=255 w={weightCode}");
        }
    }

    /// <summary>
    /// The vector and scalar activation quantizers give the reference's code for every input, the ones that take
    /// special handling included: NaN (the zero point), large values (the end codes), exact .5 ties. (±∞ and values
    /// past int range are left out: the reference's int conversion saturates and adding the zero point wraps there.)
    /// </summary>
    [Theory]
    [InlineData(8, 0.05f, 128)]
    [InlineData(8, 0.013f, 3)]
    [InlineData(4, 0.2f, 8)]
    public void Activation_codes_agree_with_the_reference_on_special_values(int bits, float scale, int zeroPoint)
    {
        var q = new ActivationQuantParams(bits, scale, zeroPoint);
        var r = new Random(bits);
        var x = new float[77];
        float[] special = [float.NaN, 1e6f, -1e6f, 0f, -0f, 0.5f * scale, -0.5f * scale, 1.5f * scale, 2.5f * scale];
        for (int i = 0; i < x.Length; i++) x[i] = i % 3 == 0 ? special[i / 3 % special.Length] : (float)(r.NextDouble() * 40 - 20) * scale;
        var expected = x.Select(q.Quantize).ToArray();
        foreach (bool simd in new[] { true, false })
        {
            var codes = new byte[x.Length];
            int sum;
            fixed (float* px = x)
            fixed (byte* pc = codes)
                sum = ActivationCodes.Quantize(px, pc, x.Length, q, simd);
            for (int i = 0; i < x.Length; i++)
                Assert.True(expected[i] == codes[i], $"{(simd ? "vector" : "scalar")} path, x = {x[i]:R}: code {codes[i]}, reference {expected[i]}");
            Assert.Equal(expected.Sum(c => c), sum);
        }
        Assert.Equal((byte)zeroPoint, q.Quantize(float.NaN));
    }

    private static byte[] RandomCodes(Random r, int count, int max)
    {
        var c = new byte[count];
        for (int i = 0; i < count; i++) c[i] = (byte)r.Next(max + 1);
        return c;
    }

    private static void CheckTiles(IntegerIsa isa, int bits, int rows, int depth, int[] runLengths, byte[] codes, byte[] a, string what)
    {
        var packed = new byte[rows * IntegerFormat.RowBytes(depth, bits)];
        int rowBytes = IntegerFormat.RowBytes(depth, bits);
        for (int n = 0; n < rows; n++) BitPacking.PackRow(codes.AsSpan(n * depth, depth), bits, packed.AsSpan(n * rowBytes, rowBytes));
        var weight = new QuantizedWeight(rows, depth, bits, WeightScheme.Symmetric, packed, Enumerable.Repeat(1f, rows).ToArray());
        var runs = new DepthRuns(runLengths);
        var tile = IntegerTileKernel.For(isa, bits);
        var panels = IntegerPanels.Pack(weight, runs, tile.Offset);
        Assert.Equal(isa, tile.Isa);

        // Two activation panels of 4 rows each in the kernel layout (step t: 4 bytes per row), padding codes 0: the
        // 4×16 tile runs on the first, the 8×16 tile (where this machine has one) on both.
        int aBytes = runs.TotalSteps * 16;
        var aPanels = new byte[2 * aBytes];
        for (int s = 0; s < runs.Count; s++)
            for (int r = 0; r < 8; r++)
                for (int kk = 0; kk < runs.Lengths[s]; kk++)
                    aPanels[r / 4 * aBytes + (runs.StepStarts[s] + kk / 4) * 16 + r % 4 * 4 + kk % 4] = a[r * depth + runs.Starts[s] + kk];

        var acc = new int[128];
        fixed (byte* ap = aPanels)
        fixed (int* pacc = acc)
        {
            foreach (int tileRows in new[] { 4, 8 })
                for (int p = 0; p < panels.PanelCount; p++)
                    for (int s = 0; s < runs.Count; s++)
                    {
                        byte* at = ap + runs.StepStarts[s] * 16, wt = panels.Panel(p) + runs.StepStarts[s] * panels.StepBytes;
                        if (tileRows == 4) tile.Run(at, wt, runs.Steps[s] / 2, pacc);
                        else tile.Run8(at, aBytes, wt, runs.Steps[s] / 2, pacc);
                        for (int r = 0; r < tileRows; r++)
                            for (int c = 0; c < 16 && p * 16 + c < rows; c++)
                            {
                                int n = p * 16 + c;
                                long expected = 0;
                                for (int kk = 0; kk < runs.Lengths[s]; kk++)
                                    expected += a[r * depth + runs.Starts[s] + kk] * (long)(codes[n * depth + runs.Starts[s] + kk] - tile.Offset);
                                Assert.True(expected == acc[r * 16 + c],
                                    $"{isa} W{bits} {what} {tileRows}x16 tile: run {s} row {r} channel {n}: INT32 sum {acc[r * 16 + c]}, exact {expected}");
                            }
                    }
        }
        // The precomputed centered sums are the exact Σ (code − z_w) per run.
        for (int s = 0; s < runs.Count; s++)
            for (int n = 0; n < rows; n++)
            {
                long expected = 0;
                for (int kk = 0; kk < runs.Lengths[s]; kk++) expected += codes[n * depth + runs.Starts[s] + kk] - weight.ZeroPoints[n];
                Assert.Equal(expected, panels.CenteredSums[s][n]);
            }
    }

    [Theory]
    [InlineData(8, 8)]
    [InlineData(4, 8)]
    [InlineData(2, 8)]
    [InlineData(4, 16)]
    [InlineData(2, 16)]
    public void Resident_weight_bytes_are_about_the_packed_bytes(int weightBits, int activationBits)
    {
        int cout = 320, cin = 320, k = 3;
        var r = new Random(5);
        var w = BackendOpCases.Rand(r, cout, cin, k, k);
        var qw = WeightQuantizer.Quantize(w.Data, cout, cin * k * k, weightBits);
        var input = activationBits < 16 ? new[] { new InputQuantSegment(cin, ActivationQuantParams.FromRange(-1, 1, activationBits)) } : null;
        var info = new LayerInfo("test", "conv", LayerKind.Conv2d, [cout, cin, k, k], new LayerPrecision(weightBits, activationBits));
        var backend = new CpuBackend(1);
        var prepared = backend.PrepareQuantizedConv2d(info, new QuantizedLayer(qw, input), null, 1, 1);
        var fp = backend.PrepareConv2d(info with { Precision = LayerPrecision.Fp32 }, w, null, 1, 1);
        long resident = CpuBackend.ResidentWeightBytes(prepared), stored = qw.StoredBytes, fp32 = CpuBackend.ResidentWeightBytes(fp);
        double ratio = (double)resident / stored;
        output.WriteLine($"W{weightBits}A{activationBits} conv 320x320x3x3: resident {resident} B, stored {stored} B (×{ratio:F3}), FP32 panels {fp32} B (×{(double)resident / fp32:F3})");
        // Panels pad K to whole step pairs and keep per-channel sums: a few percent over the stored bytes.
        Assert.InRange(ratio, 1.0, 1.05);
    }
}
