using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Backends.Reference;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.ComputeBackends;

/// <summary>IComputeBackend.Release: the CPU backend recycles released outputs and refuses what it did not hand out.</summary>
public class OutputReleaseTests
{
    private static Tensor Ones(params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        Array.Fill(t.Data, 1f);
        return t;
    }

    [Fact]
    public void Cpu_reuses_a_released_output_of_the_same_length_and_overwrites_all_of_it()
    {
        var be = new CpuBackend(1);
        var a = Ones(2, 3);
        var first = be.Add(a, a);
        var storage = first.Data;
        be.Release(first);
        var second = be.Affine(a, 3f, 1f); // another op, same length: the same storage
        Assert.Same(storage, second.Data);
        Assert.Equal(1, be.ReusedOutputs);
        Assert.All(second.Data, v => Assert.Equal(4f, v));
        var other = be.Add(Ones(3, 3), Ones(3, 3)); // another length: fresh storage
        Assert.NotSame(storage, other.Data);
    }

    [Fact]
    public void Cpu_release_of_a_view_hands_back_the_shared_storage()
    {
        var be = new CpuBackend(1);
        var y = be.Add(Ones(4), Ones(4));
        var view = be.Reshape(y, 2, 2);
        be.Release(view);
        Assert.Same(y.Data, be.Add(Ones(2, 2), Ones(2, 2)).Data);
    }

    [Fact]
    public void Cpu_refuses_a_second_release_and_a_tensor_it_did_not_make()
    {
        var be = new CpuBackend(1);
        var y = be.Add(Ones(2), Ones(2));
        be.Release(y);
        var twice = Assert.Throws<MixDQException>(() => be.Release(y));
        Assert.Equal(ErrorCodes.InvalidArgument, twice.Code);
        Assert.Contains("released twice", twice.Message, StringComparison.Ordinal);
        var foreign = Assert.Throws<MixDQException>(() => be.Release(Ones(2)));
        Assert.Equal(ErrorCodes.InvalidArgument, foreign.Code);
        // The refused calls handed nothing back: y's storage serves one output, the next is fresh.
        Assert.Same(y.Data, be.Add(Ones(2), Ones(2)).Data);
        Assert.NotSame(y.Data, be.Add(Ones(2), Ones(2)).Data);
        Assert.Equal(1, be.ReusedOutputs);
    }

    [Fact]
    public void Timestep_embedding_writes_every_element_of_recycled_storage_odd_width_included()
    {
        var be = new CpuBackend(1);
        var garbage = be.Add(Ones(5), Ones(5));
        Array.Fill(garbage.Data, float.NaN);
        be.Release(garbage);
        var emb = be.TimestepEmbedding(new Tensor([3f], 1), 5, true, 0);
        Assert.Same(garbage.Data, emb.Data);
        Assert.Equal(Runtime.Models.Unet.TimestepSinusoid.Embed([3f], 5, true, 0), emb.Data); // its zero column too
    }

    [Fact]
    public void Timestep_embedding_output_comes_from_the_pool_too()
    {
        var be = new CpuBackend(1);
        var t = be.TimestepEmbedding(new Tensor([999f], 1), 8, true, 0);
        be.Release(t);
        Assert.Same(t.Data, be.TimestepEmbedding(new Tensor([1f], 1), 8, true, 0).Data);
    }

    [Fact]
    public void Released_storage_is_held_weakly()
    {
        var be = new CpuBackend(1);
        var weak = ReleaseUnreferenced(be);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.TryGetTarget(out _)); // the pool did not keep it alive
        Assert.Equal(1000, be.Add(Ones(1000), Ones(1000)).Length); // and a collected entry is skipped
        Assert.Equal(0, be.ReusedOutputs);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference<float[]> ReleaseUnreferenced(CpuBackend be)
    {
        var y = be.Add(Ones(1000), Ones(1000));
        be.Release(y);
        return new WeakReference<float[]>(y.Data);
    }

    [Fact]
    public void Reference_ignores_releases()
    {
        IComputeBackend be = new ReferenceBackend(); // the interface's default: a no-op
        var y = be.Add(Ones(2), Ones(2));
        be.Release(y);
        be.Release(y);
        Assert.All(y.Data, v => Assert.Equal(2f, v));
    }
}
