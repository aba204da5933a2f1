using System.Runtime.CompilerServices;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>Reading weights frees the copies already consumed once a budget of bytes has been read.</summary>
public sealed class BoundWeightsMemoryTests
{
    private const int Elements = 256 * 1024; // 1 MiB of FP32: a large-object-heap array, freed only by a full collection

    /// <summary>Gives a fresh array on every read, as a file does.</summary>
    private sealed class FreshArraySource(int count) : ITensorSource
    {
        public string Origin => "<fresh>";

        public IEnumerable<TensorInfo> Tensors => Enumerable.Range(0, count).Select(i => new TensorInfo($"t{i}", DType.F32, [Elements]));

        public bool TryGetInfo(string name, out TensorInfo info)
        {
            info = Tensors.FirstOrDefault(t => t.Name == name)!;
            return info is not null;
        }

        public Tensor ReadFloat32(string name) => Tensor.Zeros(Elements);
    }

    [Fact]
    public void A_read_past_the_budget_frees_the_tensors_read_before_it()
    {
        var source = new FreshArraySource(3);
        var bound = WeightBinder.Bind([.. source.Tensors], source);
        Assert.Equal(BoundWeights.MinCollectionBudgetBytes, bound.CollectionBudgetBytes);
        bound.CollectionBudgetBytes = Elements * sizeof(float) * 3 / 2;

        var consumed = ReadAndDrop(bound, "t0");
        var kept = bound.Read("t1"); // 2 MiB read in all: past the 1.5 MiB budget, so this read collected first
        Assert.False(consumed.IsAlive, "the tensor read before the budget was exceeded is still alive");
        GC.KeepAlive(kept);
    }

    [Fact]
    public void The_budget_is_a_tenth_of_a_large_module()
    {
        var source = new FreshArraySource(700); // 700 MiB described, never read
        var bound = WeightBinder.Bind([.. source.Tensors], source);
        Assert.Equal(700L * Elements * sizeof(float) / 10, bound.CollectionBudgetBytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference ReadAndDrop(BoundWeights bound, string name) => new(bound.Read(name).Data);
}
