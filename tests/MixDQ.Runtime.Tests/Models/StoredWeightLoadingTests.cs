using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>
/// Layers load from where their weights are stored: the CPU backend converts and packs each weight in one pass, in
/// parallel, into exactly the panels the whole-tensor path gives, without an FP32 copy of the weight.
/// </summary>
public sealed class StoredWeightLoadingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(nameof(CpuIsa.Portable), 1)]
    [InlineData(nameof(CpuIsa.Portable), 2)]
    [InlineData(nameof(CpuIsa.Avx2), 1)]
    [InlineData(nameof(CpuIsa.Avx2), 2)]
    [InlineData(nameof(CpuIsa.Avx512), 1)]
    [InlineData(nameof(CpuIsa.Avx512), 2)]
    public void Packing_a_stored_F16_weight_gives_the_panels_of_the_weight_read_whole_bit_for_bit(string isaName, int threads)
    {
        var isa = Enum.Parse<CpuIsa>(isaName);
        if (!CpuIsaDetector.IsSupported(isa))
        {
            output.WriteLine($"{isa} is not supported by this processor; the other instruction sets ran");
            return;
        }
        using var dir = RepoPaths.NewTempDir();
        // Rows not a multiple of any panel width; the big linear spans several tasks of several panels each.
        var (bound, _) = Bind(dir, b =>
        {
            b.Linear("big", 1000, 300);
            b.Linear("small", 67, 45, bias: false);
            b.Conv("conv", 19, 5, 3);
            b.Conv("pointwise", 40, 24, 1);
        });
        var backend = new CpuBackend(threads, isa);
        foreach (var (name, outF, inF) in new[] { ("big", 1000, 300), ("small", 67, 45) })
        {
            var info = new LayerInfo("t", name, LayerKind.Linear, [outF, inF], LayerPrecision.Fp32);
            var bias = bound.Source.TryGetInfo(name + ".bias", out _) ? bound.Read(name + ".bias") : null;
            using var stored = bound.Open(name + ".weight");
            var fromStored = (CpuPreparedLinear)backend.PrepareLinear(info, stored, bias);
            var fromWhole = (CpuPreparedLinear)backend.PrepareLinear(info, bound.Read(name + ".weight"), bias);
            AssertSamePanels(fromWhole.Weights, fromStored.Weights, name);
            Assert.Equal(fromWhole.Bias, fromStored.Bias);
        }
        foreach (var (name, outC, inC, k) in new[] { ("conv", 19, 5, 3), ("pointwise", 40, 24, 1) })
        {
            var info = new LayerInfo("t", name, LayerKind.Conv2d, [outC, inC, k, k], LayerPrecision.Fp32);
            var bias = bound.Read(name + ".bias");
            using var stored = bound.Open(name + ".weight");
            var fromStored = (CpuPreparedConv2d)backend.PrepareConv2d(info, stored, bias, 1, k / 2);
            var fromWhole = (CpuPreparedConv2d)backend.PrepareConv2d(info, bound.Read(name + ".weight"), bias, 1, k / 2);
            AssertSamePanels(fromWhole.Weights, fromStored.Weights, name);
        }
    }

    [Fact]
    public void Loading_a_layer_allocates_its_packed_panels_and_no_FP32_copy_of_the_weight()
    {
        using var dir = RepoPaths.NewTempDir();
        const int outF = 1024, inF = 2048;
        var (bound, _) = Bind(dir, b => b.Linear("l", outF, inF, bias: false));
        // One thread: every allocation of the load happens on this thread, where it is counted.
        var backend = new CpuBackend(1);
        _ = ModuleBuilder.Build("t", backend, bound, null).Linear("l", outF, inF, bias: false); // JIT, scratch, pooled buffers

        long before = GC.GetAllocatedBytesForCurrentThread();
        var layer = ModuleBuilder.Build("t", backend, bound, null).Linear("l", outF, inF, bias: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(layer);

        long packed = (long)outF * inF * sizeof(float);
        output.WriteLine($"allocated {allocated} bytes loading a layer of {packed} FP32 bytes ({allocated / (double)packed:F3}x)");
        Assert.True(allocated >= packed, $"allocated {allocated} bytes: the packed panels ({packed}) were not counted");
        // Reading the weight whole first would allocate another {packed} bytes.
        Assert.True(allocated < packed * 1.05, $"allocated {allocated} bytes for {packed} bytes of packed weights");
    }

    [Fact]
    public void NaN_and_Inf_read_in_parallel_pieces_give_one_warning_with_the_first_index()
    {
        using var dir = RepoPaths.NewTempDir();
        var (bound, warnings) = Bind(dir, b => b.Linear("l", 1000, 300), w =>
        {
            w[250_000] = float.NaN;
            w[70_001] = float.PositiveInfinity;
            w[299_999] = float.NaN;
        });
        _ = ModuleBuilder.Build("t", new CpuBackend(2), bound, null).Linear("l", 1000, 300);
        var w = Assert.Single(warnings.Items);
        Assert.Equal(ErrorCodes.NonFiniteWeights, w.Code);
        Assert.Equal("l.weight", w.Item);
        Assert.Contains("3 NaN/Inf", w.Message);
        Assert.Contains("first at flat index 70001", w.Message);
    }

    /// <summary>Writes an F16 file with random weights for the module <paramref name="graph"/> describes and binds it.</summary>
    private static (BoundWeights Bound, Collect Warnings) Bind(TempDir dir, Action<ModuleBuilder> graph, Action<float[]>? editWeight = null)
    {
        var expected = ModuleBuilder.Describe("t", graph).Expected;
        var rng = new Random(11);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in expected)
        {
            var t = Tensor.Zeros(e.Shape.ToArray());
            for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
            if (e.Name == "l.weight") editWeight?.Invoke(t.Data);
            tensors[e.Name] = t;
        }
        string path = dir.File("w.safetensors");
        SafetensorsWriter.WriteTensors(path, tensors, DType.F16);
        var file = SafetensorsFile.Open(path);
        var warnings = new Collect();
        return (WeightBinder.Bind(expected, file, warnings: warnings), warnings);
    }

    /// <summary>Equal panel geometry and bit-identical floats (also used by <see cref="StoredPanelsTests"/>).</summary>
    internal static unsafe void AssertSamePanels(PackedPanels expected, PackedPanels actual, string name)
    {
        Assert.Equal((expected.Rows, expected.Cols, expected.Width, expected.PanelCount), (actual.Rows, actual.Cols, actual.Width, actual.PanelCount));
        long count = expected.PanelCount * expected.PanelStride;
        var e = new ReadOnlySpan<int>(expected.Panel(0), (int)count);
        var a = new ReadOnlySpan<int>(actual.Panel(0), (int)count);
        int mismatch = e.CommonPrefixLength(a);
        Assert.True(mismatch == count, $"{name}: packed panels differ first at float {mismatch} of {count}");
    }
}
