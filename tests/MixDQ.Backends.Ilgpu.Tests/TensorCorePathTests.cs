using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Tests.ComputeBackends;
using Xunit.Abstractions;

namespace MixDQ.Backends.Ilgpu.Tests;

/// <summary>
/// The integer GEMM's tensor-core path (warp tiles of four m16n8k32 fragments, fragment loads from the shared tiles, the
/// output mapping, per-row sums) on a CPU accelerator with 32-lane warps, where each m16n8k32 product is computed by warp
/// shuffles from the fragments mma.sync would receive. Integer-activation cases of the op table must equal the CPU
/// backend. (A representative subset of the integer cases: each one takes seconds with 32 OS threads per shuffled warp.)
/// What this cannot check is the instruction itself: that the PTX ISA's fragment layout is the one assumed
/// (tools/gpu-check compares the real mma.sync path with the CPU backend on a GPU).
/// </summary>
[Collection(CpuAcceleratorCollection.Name)]
public class TensorCorePathTests(ITestOutputHelper output)
{
    private static readonly Lazy<IlgpuBackend> Instance = new(IlgpuBackend.CreateCpuAcceleratorWithTensorCorePath);

    /// <summary>Every weight width; several tiles in M and N, several K steps, split runs, BOS rows, stride 2.</summary>
    public static IEnumerable<object[]> Cases() => new[]
    {
        "QLinear/W8A8 M97 K64 N129",
        "QLinear/W4A8 split 19+26 [11,45]->50",
        "QLinear/W2A8 BOS [2,7,24]->40",
        "QConv2d/W8A8 B1 40->33 12x12 k3 s1 p1",
        "QConv2d/W4A8 split 5+7 B2 12->18 9x7 k3 s1 p1",
        "QConv2d/W2A8 B1 6->10 13x9 k3 s2 p1",
    }.Select(id => new object[] { id });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tensor_core_tiling_equals_the_cpu_backend(string opCase)
    {
        var backend = Instance.Value;
        Assert.True(backend.UsesTensorCores);
        var c = BackendOpCases.Get(opCase);
        var result = c.Setup(OpCaseSeed.For(c))(backend);
        var expected = c.Setup(OpCaseSeed.For(c))(new CpuBackend(threads: 1));
        double error = OpCaseSeed.NormalizedError(expected.Data, result.Data);
        output.WriteLine($"{c.Id} (tensor-core path, shuffled fragments): error vs cpu backend {error:G3}");
        Assert.True(error <= c.Tolerance, $"{c.Id}: normalised error {error:G3} exceeds {c.Tolerance:G3}");
    }
}
