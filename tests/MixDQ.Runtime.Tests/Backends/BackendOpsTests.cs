using System.Collections.Concurrent;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Tensors;
using Xunit.Abstractions;

// Not MixDQ.Runtime.Tests.Backends: that would shadow MixDQ.Runtime.Backends for code in MixDQ.Runtime.Tests.*
// that names it relatively (Backends.LayerKind); "Backends" stays in the name for --filter FullyQualifiedName~Backends.
namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>A backend to check against the reference: a name for test output and how to make one.</summary>
public sealed record BackendUnderTest(string Name, Func<IComputeBackend> Create);

/// <summary>
/// Runs every case of <see cref="BackendOpCases"/> on every backend of <see cref="Backends"/> and
/// compares with <see cref="ReferenceBackend"/>. A new backend is one more line in <see cref="Backends"/>.
/// </summary>
public class BackendOpsTests(ITestOutputHelper output)
{
    public static readonly IReadOnlyList<BackendUnderTest> Backends = BuildBackends();

    private static readonly ConcurrentDictionary<string, Tensor> Expected = new();

    private static List<BackendUnderTest> BuildBackends()
    {
        var list = new List<BackendUnderTest>
        {
            new("cpu", () => new CpuBackend(threads: 2)),
            // The portable Vector<T> path, on one thread: what runs on ARM or an x86 without AVX2.
            new("cpu-portable-1t", () => new CpuBackend(1, CpuIsa.Portable)),
        };
        // The AVX2 kernel too when the best one is wider, so each kernel this machine can run is tested.
        if (CpuIsaDetector.Best == CpuIsa.Avx512 && CpuIsaDetector.IsSupported(CpuIsa.Avx2))
            list.Add(new("cpu-avx2", () => new CpuBackend(3, CpuIsa.Avx2)));
        // Every integer kernel path this machine runs (the default backends above use the best one, or the portable one).
        foreach (var isa in IntegerIsaDetector.Available.Where(i => i != IntegerIsaDetector.Best && i != IntegerIsa.Portable))
            list.Add(new($"cpu-int-{isa.ToString().ToLowerInvariant()}", () => new CpuBackend(2, CpuIsaDetector.Best, isa)));
        // A backend with no integer kernels, for the "not supported" outcome.
        list.Add(new("fp-only", () => new FloatOnlyBackend(new ReferenceBackend())));
        return list;
    }

    public static IEnumerable<object[]> Matrix() =>
        from backend in Backends
        from c in BackendOpCases.All
        select new object[] { backend.Name, c.Id };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Op_matches_reference(string backend, string opCase)
    {
        var c = BackendOpCases.Get(opCase);
        var under = Backends.Single(b => b.Name == backend).Create();
        output.WriteLine($"{backend}: {Describe(under)}");
        if (c.SpecOf is not null && !under.Supports(c.SpecOf(Seeded(c))))
        {
            // "Not supported" is an answer, and the backend must refuse rather than run another precision.
            var error = Assert.Throws<Diagnostics.MixDQException>(() => c.Setup(Seeded(c))(under));
            Assert.Equal(Diagnostics.ErrorCodes.PrecisionNotSupported, error.Code);
            output.WriteLine($"{backend} {c.Id}: not supported ({error.Message})");
            return;
        }
        var expected = Expected.GetOrAdd(c.Id, _ => c.Setup(Seeded(c))(new ReferenceBackend()));
        var actual = c.Setup(Seeded(c))(under);

        Assert.True(expected.SameShape(actual),
            $"{backend} {c.Id}: shape {Tensor.FormatShape(actual.Shape)}, reference {Tensor.FormatShape(expected.Shape)}");
        var cmp = Compare(expected.Data, actual.Data);
        output.WriteLine($"{backend} {c.Id}: {cmp}");
        Assert.True(cmp.Error <= c.Tolerance, $"{backend} {c.Id}: {cmp} exceeds tolerance {c.Tolerance:G3}");
    }

    /// <summary>Which kernel paths a backend runs, for the test log.</summary>
    private static string Describe(IComputeBackend backend) => backend is CpuBackend cpu
        ? $"FP {cpu.InstructionSet}, integer {cpu.IntegerInstructionSet}"
        : backend.Name;

    /// <summary>The same inputs for every backend: the seed comes from the case id.</summary>
    private static Random Seeded(BackendOpCase c)
    {
        int seed = 17;
        foreach (char ch in c.Id) seed = unchecked(seed * 31 + ch);
        return new Random(seed);
    }

    public readonly record struct Comparison(double Error, double MaxAbs, int Index, float Expected, float Actual)
    {
        public override string ToString() =>
            $"normalised error {Error:G3} (max |Δ| {MaxAbs:G3} at [{Index}]: ref {Expected:G9}, got {Actual:G9})";
    }

    /// <summary>max|a − b| / max(1, max|ref|); NaN anywhere counts as infinite error.</summary>
    public static Comparison Compare(float[] expected, float[] actual)
    {
        double maxAbs = 0, scale = 1;
        int worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            double diff = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(diff) || double.IsInfinity(diff)) diff = double.PositiveInfinity;
            if (diff > maxAbs)
            {
                maxAbs = diff;
                worst = i;
            }
        }
        return expected.Length == 0
            ? new Comparison(0, 0, 0, 0, 0)
            : new Comparison(maxAbs / scale, maxAbs, worst, expected[worst], actual[worst]);
    }
}
