using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Tests.ComputeBackends;
using Xunit.Abstractions;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>
/// Every case of the runtime's op table (<see cref="BackendOpCases"/>) on the ILGPU kernels, run on ILGPU's CPU
/// accelerator, against the double-precision reference backend with the table's tolerance; the error against the CPU
/// backend is printed beside it.
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class OpCaseTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Cases() => BackendOpCases.All.Select(c => new object[] { c.Id });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Op_matches_reference_on_cpu_accelerator(string opCase)
    {
        var c = BackendOpCases.Get(opCase);
        var backend = SharedCpuAccelerator.Backend;
        if (c.SpecOf is not null)
        {
            // Integer cases (the precision axis): every precision of the plan format has a kernel here, so Supports must
            // say yes and the layer must run; compared with the reference's exact simulation and with the CPU backend's
            // integer kernels.
            Assert.True(backend.Supports(c.SpecOf(OpCaseSeed.For(c))), $"{c.Id}: Supports said no");
            var result = c.Setup(OpCaseSeed.For(c))(backend);
            var reference = c.Setup(OpCaseSeed.For(c))(new ReferenceBackend());
            var onCpu = c.Setup(OpCaseSeed.For(c))(new CpuBackend(threads: 1));
            double qError = OpCaseSeed.NormalizedError(reference.Data, result.Data), cpuError = OpCaseSeed.NormalizedError(onCpu.Data, result.Data);
            output.WriteLine($"{c.Id}: error vs reference {qError:G3}, vs cpu backend {cpuError:G3}");
            Assert.True(qError <= c.Tolerance, $"{c.Id}: normalised error {qError:G3} exceeds {c.Tolerance:G3}");
            Assert.True(cpuError <= c.Tolerance, $"{c.Id}: normalised error vs the cpu backend {cpuError:G3} exceeds {c.Tolerance:G3}");
            return;
        }
        var expected = c.Setup(OpCaseSeed.For(c))(new ReferenceBackend());
        var cpu = c.Setup(OpCaseSeed.For(c))(new CpuBackend(threads: 1));
        var actual = c.Setup(OpCaseSeed.For(c))(backend);

        Assert.True(expected.SameShape(actual), $"{c.Id}: shape {Tensor.FormatShape(actual.Shape)}, reference {Tensor.FormatShape(expected.Shape)}");
        double error = OpCaseSeed.NormalizedError(expected.Data, actual.Data);
        output.WriteLine($"{c.Id}: error vs reference {error:G3}, vs cpu backend {OpCaseSeed.NormalizedError(cpu.Data, actual.Data):G3}");
        Assert.True(error <= c.Tolerance, $"{c.Id}: normalised error {error:G3} exceeds {c.Tolerance:G3}");
    }
}

/// <summary>The harness's seeding (the same inputs for every backend) and error measure.</summary>
public static class OpCaseSeed
{
    public static Random For(BackendOpCase c)
    {
        int seed = 17;
        foreach (char ch in c.Id) seed = unchecked(seed * 31 + ch);
        return new Random(seed);
    }

    /// <summary>max|a − b| / max(1, max|expected|); NaN or infinity anywhere is an infinite error.</summary>
    public static double NormalizedError(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double maxAbs = 0, scale = 1;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            double diff = Math.Abs((double)expected[i] - actual[i]);
            maxAbs = Math.Max(maxAbs, double.IsFinite(diff) ? diff : double.PositiveInfinity);
        }
        return maxAbs / scale;
    }
}
