using System.Runtime.InteropServices;
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
/// Float layer weights stored as panels (<see cref="WeightPanels"/>, FP32 artifacts of format 2): the CPU backend uses
/// matching, aligned panels in place from the mapping, copies unaligned ones as they are, and reads the rows back out
/// for other panel widths, always giving exactly the panels of the row-major weight; other readers see the row-major weight.
/// </summary>
public sealed class StoredPanelsTests(ITestOutputHelper output)
{
    private static void Graph(ModuleBuilder b)
    {
        b.Linear("big", 1000, 300);
        b.Linear("small", 67, 45, bias: false);
        b.Conv("conv", 19, 4, 3);
        b.Conv("pointwise", 40, 24, 1);
    }

    private static readonly (string Name, LayerKind Kind, int[] Shape)[] Layers =
    [
        ("big", LayerKind.Linear, [1000, 300]), ("small", LayerKind.Linear, [67, 45]),
        ("conv", LayerKind.Conv2d, [19, 4, 3, 3]), ("pointwise", LayerKind.Conv2d, [40, 24, 1, 1]),
    ];

    [Theory]
    [InlineData(nameof(CpuIsa.Portable), 1)]
    [InlineData(nameof(CpuIsa.Avx2), 2)]
    [InlineData(nameof(CpuIsa.Avx512), 1)]
    [InlineData(nameof(CpuIsa.Avx512), 2)]
    public void Panel_stored_weights_prepare_the_same_panels_as_row_major_weights_on_every_isa(string isaName, int threads)
    {
        var isa = Enum.Parse<CpuIsa>(isaName);
        if (!CpuIsaDetector.IsSupported(isa))
        {
            output.WriteLine($"{isa} is not supported by this processor; the other instruction sets ran");
            return;
        }
        using var dir = RepoPaths.NewTempDir();
        var tensors = RandomWeights();
        using var rowMajorFile = WriteRowMajor(dir.File("rows.safetensors"), tensors);
        using var panelFile = WritePanels(dir.File("panels.safetensors"), tensors, misalign: false);
        var expected = ModuleBuilder.Describe("t", Graph).Expected;
        var rows = WeightBinder.Bind(expected, rowMajorFile);
        var panels = WeightBinder.Bind(expected, panelFile);
        var backend = new CpuBackend(threads, isa);
        int inPlace = 0;
        foreach (var (name, kind, shape) in Layers)
        {
            var info = new LayerInfo("t", name, kind, shape, LayerPrecision.Fp32);
            // Every other reader (the reference backend, integer preparation) sees the row-major weight, exactly.
            Assert.Equal(rows.Read(name + ".weight").Data, panels.Read(name + ".weight").Data);
            using var fromRows = rows.Open(name + ".weight");
            using var fromPanels = panels.Open(name + ".weight");
            var (a, b) = kind == LayerKind.Linear
                ? (((CpuPreparedLinear)backend.PrepareLinear(info, fromRows, null)).Weights, ((CpuPreparedLinear)backend.PrepareLinear(info, fromPanels, null)).Weights)
                : (((CpuPreparedConv2d)backend.PrepareConv2d(info, fromRows, null, 1, shape[2] / 2)).Weights,
                   ((CpuPreparedConv2d)backend.PrepareConv2d(info, fromPanels, null, 1, shape[2] / 2)).Weights);
            AssertSamePanels(a, b, name);
            Assert.False(a.InPlace);
            if (b.InPlace) inPlace++;
            // Used in place exactly when the stored width is the kernel's (every panel tensor here is 64-byte aligned).
            Assert.Equal(b.Width == WeightPanels.WidthOf(kind), b.InPlace);
        }
        output.WriteLine($"{backend.InstructionSet}: {inPlace} of {Layers.Length} layers used their mapped panels in place");
        if (isa == CpuIsa.Avx512) Assert.Equal(Layers.Length, inPlace);
    }

    [Fact]
    public void Unaligned_panels_of_the_kernels_width_are_copied_as_they_are()
    {
        if (!CpuIsaDetector.IsSupported(CpuIsa.Avx512)) { output.WriteLine("needs the AVX-512 widths"); return; }
        using var dir = RepoPaths.NewTempDir();
        var tensors = RandomWeights();
        using var rowMajorFile = WriteRowMajor(dir.File("rows.safetensors"), tensors);
        using var panelFile = WritePanels(dir.File("panels.safetensors"), tensors, misalign: true);
        var expected = ModuleBuilder.Describe("t", Graph).Expected;
        var backend = new CpuBackend(2, CpuIsa.Avx512);
        var info = new LayerInfo("t", "big", LayerKind.Linear, [1000, 300], LayerPrecision.Fp32);
        using var fromRows = WeightBinder.Bind(expected, rowMajorFile).Open("big.weight");
        using var fromPanels = WeightBinder.Bind(expected, panelFile, new WeightBindingRules { IsKnownExtra = n => n == "a.odd" }).Open("big.weight");
        var a = ((CpuPreparedLinear)backend.PrepareLinear(info, fromRows, null)).Weights;
        var b = ((CpuPreparedLinear)backend.PrepareLinear(info, fromPanels, null)).Weights;
        Assert.False(b.InPlace);
        AssertSamePanels(a, b, "big");
    }

    [Fact]
    public void Panels_used_in_place_stay_mapped_after_the_file_is_disposed()
    {
        if (!CpuIsaDetector.IsSupported(CpuIsa.Avx512)) { output.WriteLine("needs the AVX-512 widths"); return; }
        using var dir = RepoPaths.NewTempDir();
        var tensors = RandomWeights();
        var expected = ModuleBuilder.Describe("t", Graph).Expected;
        var backend = new CpuBackend(1, CpuIsa.Avx512);
        var info = new LayerInfo("t", "small", LayerKind.Linear, [67, 45], LayerPrecision.Fp32);
        var x = new Tensor(Enumerable.Range(0, 3 * 45).Select(i => MathF.Sin(i)).ToArray(), [3, 45]);
        var reference = backend.Linear(backend.PrepareLinear(info, tensors["small.weight"], null), x).Data.ToArray();
        IPreparedLinear prepared;
        using (var panelFile = WritePanels(dir.File("panels.safetensors"), tensors, misalign: false))
        {
            using var weight = WeightBinder.Bind(expected, panelFile).Open("small.weight");
            prepared = backend.PrepareLinear(info, weight, null);
            Assert.True(((CpuPreparedLinear)prepared).Weights.InPlace);
        }
        Assert.Equal(reference, backend.Linear(prepared, x).Data);
    }

    [Fact]
    public void Panels_of_the_wrong_shape_are_024_naming_the_tensor()
    {
        using var dir = RepoPaths.NewTempDir();
        var tensors = RandomWeights();
        var entries = tensors.Where(kv => kv.Key != "small.weight")
            .Select(kv => SafetensorsEntry.FromTensor(kv.Key, kv.Value)).ToList();
        entries.Add(new SafetensorsEntry("small" + WeightPanels.Suffix, DType.F32, [2, 45, 32], new byte[2 * 45 * 32 * 4])); // 67 rows need 3 panels of 32
        string path = dir.File("bad.safetensors");
        SafetensorsWriter.Write(path, entries);
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<MixDQException>(() => WeightBinder.Bind(ModuleBuilder.Describe("t", Graph).Expected, file));
        Assert.Equal(ErrorCodes.WeightsMismatch, e.Code);
        Assert.Contains("small.weight.panels", e.Message, StringComparison.Ordinal);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void Pack_then_read_rows_round_trips_with_zero_padding_rows()
    {
        var w = Enumerable.Range(0, 19 * 7).Select(i => (float)i).ToArray();
        var panels = new float[3 * 7 * 8];
        WeightPanels.Pack(w, 19, 7, 8, panels);
        Assert.Equal(WeightPanels.StoredShape(19, 7, 8), new[] { 3, 7, 8 });
        Assert.Equal(w[5 * 7 + 4], panels[0 * 56 + 4 * 8 + 5]);   // (5, 4) in panel 0
        Assert.Equal(w[17 * 7 + 2], panels[2 * 56 + 2 * 8 + 1]);  // (17, 2) in panel 2
        Assert.All(Enumerable.Range(0, 7), k => Assert.Equal(0f, panels[2 * 56 + k * 8 + 7])); // row 23 pads
        var back = new float[w.Length - 10];
        WeightPanels.ReadRows(panels, 7, 8, 10, back);
        Assert.Equal(w[10..], back);
    }

    private static Dictionary<string, Tensor> RandomWeights()
    {
        var rng = new Random(5);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in ModuleBuilder.Describe("t", Graph).Expected)
        {
            var t = Tensor.Zeros(e.Shape.ToArray());
            for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
            tensors[e.Name] = t;
        }
        return tensors;
    }

    private static SafetensorsFile WriteRowMajor(string path, Dictionary<string, Tensor> tensors)
    {
        SafetensorsWriter.WriteTensors(path, tensors);
        return SafetensorsFile.Open(path);
    }

    /// <summary>Layer weights as panels, the rest as F32, 64-byte aligned as the compiler writes them (or with an odd tensor first).</summary>
    private static SafetensorsFile WritePanels(string path, Dictionary<string, Tensor> tensors, bool misalign)
    {
        var entries = new List<SafetensorsStreamEntry>();
        foreach (var (name, t) in tensors)
        {
            string layer = name[..name.LastIndexOf('.')];
            var spec = Layers.FirstOrDefault(l => l.Name == layer);
            if (name.EndsWith(".weight", StringComparison.Ordinal) && spec.Name is not null)
            {
                int rows = spec.Shape[0], cols = t.Length / rows, width = WeightPanels.WidthOf(spec.Kind);
                var shape = WeightPanels.StoredShape(rows, cols, width);
                var panels = new float[shape[0] * cols * width];
                WeightPanels.Pack(t.Data, rows, cols, width, panels);
                entries.Add(new SafetensorsStreamEntry(layer + WeightPanels.Suffix, DType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(panels.AsSpan()))));
            }
            else
            {
                var bytes = MemoryMarshal.AsBytes(t.Data.AsSpan()).ToArray();
                entries.Add(new SafetensorsStreamEntry(name, DType.F32, t.ShapeArray(), s => s.Write(bytes)));
            }
        }
        // "a" sorts first: 12 bytes shift every later tensor off the 64-byte grid.
        if (misalign) entries.Add(new SafetensorsStreamEntry("a.odd", DType.F32, [3], s => s.Write(new byte[12])));
        SafetensorsWriter.WriteStreamed(path, entries, dataAlignment: misalign ? 8 : 64);
        return SafetensorsFile.Open(path);
    }

    private static void AssertSamePanels(PackedPanels expected, PackedPanels actual, string name) =>
        StoredWeightLoadingTests.AssertSamePanels(expected, actual, name);
}
