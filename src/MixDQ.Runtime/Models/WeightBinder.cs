using System.Numerics;
using System.Text;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>What a module tolerates in a weights file beyond its exact expected list.</summary>
public sealed record WeightBindingRules
{
    /// <summary>Exact names, shapes and nothing else.</summary>
    public static WeightBindingRules Strict { get; } = new();

    /// <summary>
    /// Names the file may hold that this module does not use and that are known to be harmless
    /// (CLIP's <c>position_ids</c> buffer, the VAE's <c>encoder.*</c> when only decoding).
    /// </summary>
    public Func<string, bool>? IsKnownExtra { get; init; }

    /// <summary>Maps a legacy name found in the file to the expected name it stands for (or null).</summary>
    public Func<string, string?>? LegacyName { get; init; }

    /// <summary>Accept a linear weight stored as a 1×1 conv, <c>[out, in, 1, 1]</c>, for an expected <c>[out, in]</c>.</summary>
    public bool AcceptConvShapedLinearWeights { get; init; }
}

/// <summary>
/// Checks a weights file against a module's expected tensor list, all at once: every expected tensor
/// present with its shape and a float type, and every tensor of the file used (or a known extra).
/// Anything else is one <see cref="ErrorCodes.WeightsMismatch"/> error listing all problems.
/// </summary>
public static class WeightBinder
{
    public static BoundWeights Bind(IReadOnlyList<TensorInfo> expected, ITensorSource source,
        WeightBindingRules? rules = null, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(source);
        rules ??= WeightBindingRules.Strict;

        var expectedByName = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var e in expected) expectedByName.Add(e.Name, e);

        // Map each expected name to the file name that provides it: itself first, else a legacy alias.
        var fileInfos = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var info in source.Tensors) fileInfos[info.Name] = info;
        var fileNameOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in fileInfos.Keys)
            if (expectedByName.ContainsKey(name)) fileNameOf[name] = name;
        var integerLayers = IntegerLayers(expected, fileInfos);
        var panelLayers = PanelLayers(expected, fileInfos);
        foreach (var (weight, panels) in panelLayers) fileNameOf[weight] = panels;
        var unexpected = new List<TensorInfo>();
        foreach (var (name, info) in fileInfos)
        {
            if (expectedByName.ContainsKey(name) || IsIntegerCompanion(name, integerLayers)) continue;
            if (name.EndsWith(WeightPanels.Suffix, StringComparison.Ordinal) && panelLayers.ContainsKey(name[..^WeightPanels.Suffix.Length] + ".weight")) continue;
            string? target = rules.LegacyName?.Invoke(name);
            if (target is not null && expectedByName.ContainsKey(target) && fileNameOf.TryAdd(target, name)) continue;
            if (rules.IsKnownExtra?.Invoke(name) == true) continue;
            unexpected.Add(info);
        }

        var missing = new List<TensorInfo>();
        var wrong = new List<(TensorInfo Expected, TensorInfo Actual)>();
        foreach (var e in expected)
        {
            if (integerLayers.Contains(e.Name)) continue;
            if (!fileNameOf.TryGetValue(e.Name, out var fileName)) { missing.Add(e); continue; }
            var actual = fileInfos[fileName];
            bool accepted = panelLayers.ContainsKey(e.Name)
                ? PanelsAccepted(e.Shape, actual)
                : IsFloat(actual.DType) && ShapeAccepted(e.Shape, actual.Shape, rules);
            if (!accepted) wrong.Add((e, actual));
        }

        if (missing.Count + unexpected.Count + wrong.Count > 0)
            throw Mismatch(source.Origin, missing, unexpected, wrong);
        var panelWidths = panelLayers.Keys.ToDictionary(w => w, w => fileInfos[fileNameOf[w]].Shape[^1], StringComparer.Ordinal);
        return new BoundWeights(source, expectedByName, fileNameOf, panelWidths, warnings);
    }

    /// <summary>
    /// Expected layer weights that the file stores as FP32 panels instead (<c>P.weight.panels</c>, <see cref="WeightPanels"/>),
    /// by expected name, with the file's name for them.
    /// </summary>
    private static Dictionary<string, string> PanelLayers(IReadOnlyList<TensorInfo> expected, Dictionary<string, TensorInfo> fileInfos)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in expected)
        {
            if (!e.Name.EndsWith(".weight", StringComparison.Ordinal) || e.Shape.Length is not (2 or 4) || fileInfos.ContainsKey(e.Name)) continue;
            string panels = e.Name[..^".weight".Length] + WeightPanels.Suffix;
            if (fileInfos.ContainsKey(panels)) map.Add(e.Name, panels);
        }
        return map;
    }

    /// <summary>F32 <c>[ceil(rows / width), cols, width]</c> for the expected <c>[rows, ...]</c> weight, width ≥ 1.</summary>
    private static bool PanelsAccepted(int[] expected, TensorInfo actual)
    {
        if (actual.DType != DType.F32 || actual.Shape.Length != 3 || actual.Shape[2] < 1) return false;
        long cols = 1;
        for (int i = 1; i < expected.Length; i++) cols *= expected[i];
        return actual.Shape.AsSpan().SequenceEqual(WeightPanels.StoredShape(expected[0], (int)cols, actual.Shape[2]));
    }

    /// <summary>
    /// Expected layer weights (<c>P.weight</c>, [out, in] or [out, in, k, k]) that the file stores as an integer layer
    /// instead (<c>P.weight.packed</c> and its companions, PLAN-FORMAT.md "Integer layers"): the layer's builder reads
    /// and checks those (<see cref="QuantizedLayerReader"/>).
    /// </summary>
    private static HashSet<string> IntegerLayers(IReadOnlyList<TensorInfo> expected, Dictionary<string, TensorInfo> fileInfos)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in expected)
            if (e.Name.EndsWith(".weight", StringComparison.Ordinal) && e.Shape.Length is 2 or 4 && !fileInfos.ContainsKey(e.Name)
                && fileInfos.ContainsKey(e.Name[..^".weight".Length] + QuantizedLayerReader.PackedSuffix))
                set.Add(e.Name);
        return set;
    }

    private static bool IsIntegerCompanion(string name, HashSet<string> integerLayers)
    {
        foreach (string suffix in QuantizedLayerReader.CompanionSuffixes)
            if (name.EndsWith(suffix, StringComparison.Ordinal) && integerLayers.Contains(name[..^suffix.Length] + ".weight")) return true;
        return false;
    }

    private static bool IsFloat(DType t) => t is DType.F32 or DType.F16 or DType.BF16 or DType.F64;

    private static bool ShapeAccepted(int[] expected, int[] actual, WeightBindingRules rules)
    {
        if (expected.AsSpan().SequenceEqual(actual)) return true;
        return rules.AcceptConvShapedLinearWeights && expected.Length == 2 && actual.Length == 4
               && actual[0] == expected[0] && actual[1] == expected[1] && actual[2] == 1 && actual[3] == 1;
    }

    private static MixDQException Mismatch(string origin, List<TensorInfo> missing, List<TensorInfo> unexpected,
        List<(TensorInfo Expected, TensorInfo Actual)> wrong)
    {
        var sb = new StringBuilder();
        sb.Append($"weights do not match the model: {missing.Count} missing, {unexpected.Count} unexpected, {wrong.Count} with the wrong shape or type");
        foreach (var m in missing)
            sb.Append($"\n  missing: {m.Name} {Tensor.FormatShape(m.Shape)}");
        foreach (var u in unexpected)
            sb.Append($"\n  unexpected: {u.Name} {Tensor.FormatShape(u.Shape)} {u.DType}");
        foreach (var (e, a) in wrong)
            sb.Append(a.Name.EndsWith(WeightPanels.Suffix, StringComparison.Ordinal)
                ? $"\n  wrong shape: {a.Name} stands for {e.Name} {Tensor.FormatShape(e.Shape)} and must be F32 [ceil({e.Shape[0]} / width), {e.Shape.Skip(1).Aggregate(1L, (x, y) => x * y)}, width], found {Tensor.FormatShape(a.Shape)} {a.DType}"
                : $"\n  wrong shape: {e.Name} expected {Tensor.FormatShape(e.Shape)} (a float type), found {Tensor.FormatShape(a.Shape)} {a.DType}");
        string first = missing.Select(m => m.Name).Concat(unexpected.Select(u => u.Name)).Concat(wrong.Select(w => w.Expected.Name)).First();
        return new MixDQException(ErrorCodes.WeightsMismatch, sb.ToString(), origin, first);
    }
}

/// <summary>
/// A weights file checked against a module: reads expected tensors by their expected names, whole
/// (<see cref="Read"/>, for the parameters a module keeps as they are) or in pieces (<see cref="Open"/>, for layer
/// weights that a backend re-lays out: no FP32 copy of the whole weight is ever made, so loading leaves no dead
/// copies for the GC to collect and never needs to induce a collection to keep its peak memory low).
/// </summary>
public sealed class BoundWeights
{
    private readonly IReadOnlyDictionary<string, TensorInfo> _expected;
    private readonly IReadOnlyDictionary<string, string> _fileNameOf;
    private readonly IReadOnlyDictionary<string, int> _panelWidthOf;
    private readonly IProgress<MixDQWarning>? _warnings;

    internal BoundWeights(ITensorSource source, IReadOnlyDictionary<string, TensorInfo> expected,
        IReadOnlyDictionary<string, string> fileNameOf, IReadOnlyDictionary<string, int> panelWidthOf, IProgress<MixDQWarning>? warnings)
    {
        Source = source;
        _expected = expected;
        _fileNameOf = fileNameOf;
        _panelWidthOf = panelWidthOf;
        _warnings = warnings;
    }

    public ITensorSource Source { get; }

    /// <summary>
    /// The tensor of expected name <paramref name="name"/> in FP32 and in its expected shape. A tensor
    /// holding NaN or ±Inf is returned as it is, with a <see cref="ErrorCodes.NonFiniteWeights"/> warning.
    /// </summary>
    public Tensor Read(string name)
    {
        var info = ExpectedInfo(name);
        var t = _panelWidthOf.TryGetValue(name, out int width) ? ReadFromPanels(name, width) : Source.ReadFloat32(_fileNameOf[name]);
        if (!t.Shape.SequenceEqual(info.Shape)) t = t.Reshape(info.Shape);
        int bad = NonFinite.Count(t.Data, out int firstIndex);
        ReportNonFinite(name, bad, firstIndex);
        return t;
    }

    /// <summary>
    /// The tensor of expected name <paramref name="name"/> left where it is stored, for a backend to read in pieces
    /// (<see cref="IStoredWeight"/>). Disposing it reports NaN/±Inf among the elements read, as <see cref="Read"/> does.
    /// </summary>
    public BoundWeight Open(string name) =>
        new(this, name, ExpectedInfo(name).Shape, _fileNameOf[name], _panelWidthOf.GetValueOrDefault(name));

    /// <summary>A weight stored as panels, read back into its row-major form (no NaN/±Inf report).</summary>
    internal Tensor ReadFromPanels(string name, int width)
    {
        var info = ExpectedInfo(name);
        var panels = Source.ReadFloat32(_fileNameOf[info.Name]);
        int cols = (int)(info.ElementCount / info.Shape[0]);
        var data = GC.AllocateUninitializedArray<float>(checked((int)info.ElementCount));
        WeightPanels.ReadRows(panels.Data, cols, width, 0, data);
        return new Tensor(data, info.Shape);
    }

    private TensorInfo ExpectedInfo(string name) => _expected.TryGetValue(name, out var info)
        ? info
        : throw new ArgumentException($"'{name}' is not an expected tensor of this module", nameof(name));

    internal void ReportNonFinite(string name, long count, long firstIndex)
    {
        if (count > 0)
            _warnings?.Report(new MixDQWarning(ErrorCodes.NonFiniteWeights,
                $"tensor '{name}' holds {count} NaN/Inf value(s) (first at flat index {firstIndex})", Source.Origin, name));
    }
}

/// <summary>
/// One expected weight of a <see cref="BoundWeights"/>, read in pieces: a file's ranges are converted straight into the
/// caller's buffer; any other source (in-memory weights) is read whole once and sliced.
/// </summary>
public sealed class BoundWeight : IStoredWeight, IStoredWeightPanels, IDisposable
{
    private readonly BoundWeights _owner;
    private readonly string _name;
    private readonly string _fileName;
    private readonly int[] _shape;
    private readonly int _panelWidth;
    private readonly Lock _gate = new();
    private Tensor? _whole;
    private long _nonFinite;
    private long _firstNonFinite = long.MaxValue;
    private bool _disposed;

    internal BoundWeight(BoundWeights owner, string name, int[] shape, string fileName, int panelWidth)
    {
        _owner = owner;
        _name = name;
        _shape = shape;
        _fileName = fileName;
        _panelWidth = panelWidth;
    }

    /// <summary>Rows per panel when the file stores this weight as panels (<see cref="WeightPanels"/>), else 0.</summary>
    public int PanelWidth => _panelWidth;

    MappedTensor? IStoredWeightPanels.TryMapPanels()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _panelWidth > 0 && _owner.Source is IMappedTensorSource mapped ? mapped.TryMap(_fileName) : null;
    }

    void IStoredWeightPanels.ReadPanels(long start, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_panelWidth == 0 || _owner.Source is not ITensorFile file) throw new InvalidOperationException($"'{_name}' is not stored as panels in a file");
        file.ReadFloat32(_fileName, start, destination);
    }

    /// <summary>The expected name.</summary>
    public string Name => _name;

    public ReadOnlySpan<int> Shape => _shape;

    public void ReadFloat32(long start, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_panelWidth > 0 && _owner.Source is ITensorFile panelFile)
        {
            ReadFromPanels(panelFile, start, destination);
        }
        else if (_owner.Source is ITensorFile file)
        {
            file.ReadFloat32(_fileName, start, destination);
        }
        else
        {
            var whole = Whole();
            TensorRanges.Check(_name, whole.Length, start, destination.Length);
            whole.Data.AsSpan((int)start, destination.Length).CopyTo(destination);
        }
        int bad = NonFinite.Count(destination, out int first);
        if (bad == 0) return;
        lock (_gate)
        {
            _nonFinite += bad;
            _firstNonFinite = Math.Min(_firstNonFinite, start + first);
        }
    }

    /// <summary>The whole weight through <see cref="BoundWeights.Read"/> (which reports NaN/±Inf itself).</summary>
    public Tensor ReadAll() => _owner.Read(_name);

    /// <summary>The weight in its row-major form (read from the panels when stored so).</summary>
    private Tensor Whole()
    {
        lock (_gate) return _whole ??= _panelWidth > 0 ? _owner.ReadFromPanels(_name, _panelWidth) : _owner.Source.ReadFloat32(_fileName);
    }

    /// <summary>
    /// Rows of a weight stored as panels: positional reads of just the panels that hold them (through a pooled buffer, not
    /// the mapping, whose touched pages would stay resident), then each element picked out of its panel.
    /// </summary>
    private void ReadFromPanels(ITensorFile file, long start, Span<float> destination)
    {
        long elements = 1;
        foreach (int d in _shape) elements *= d;
        TensorRanges.Check(_name, elements, start, destination.Length);
        if (destination.IsEmpty) return;
        int cols = (int)(elements / _shape[0]);
        long firstRow = start / cols, endRow = (start + destination.Length - 1) / cols + 1;
        long firstPanel = firstRow / _panelWidth, endPanel = (endRow - 1) / _panelWidth + 1;
        long panelFloats = (long)cols * _panelWidth;
        int count = checked((int)((endPanel - firstPanel) * panelFloats));
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(count);
        try
        {
            var panels = buffer.AsSpan(0, count);
            file.ReadFloat32(_fileName, firstPanel * panelFloats, panels);
            WeightPanels.ReadRows(panels, cols, _panelWidth, start - firstPanel * panelFloats, destination);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>Reports the NaN/±Inf values among the elements read so far (a <see cref="ErrorCodes.NonFiniteWeights"/> warning).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _whole = null;
        _owner.ReportNonFinite(_name, _nonFinite, _firstNonFinite);
    }
}

internal static class NonFinite
{
    /// <summary>How many elements are NaN or ±Inf, and the index of the first one (−1 when none).</summary>
    public static int Count(ReadOnlySpan<float> data, out int firstIndex)
    {
        firstIndex = -1;
        int count = 0, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // x − x is 0 for finite x and NaN for NaN/±Inf: one compare per vector on the fast path.
            for (; i + Vector<float>.Count <= data.Length; i += Vector<float>.Count)
            {
                var v = new Vector<float>(data.Slice(i, Vector<float>.Count));
                if (Vector.EqualsAll(v - v, Vector<float>.Zero)) continue;
                for (int j = i; j < i + Vector<float>.Count; j++)
                    if (!float.IsFinite(data[j])) { count++; if (firstIndex < 0) firstIndex = j; }
            }
        }
        for (; i < data.Length; i++)
            if (!float.IsFinite(data[i])) { count++; if (firstIndex < 0) firstIndex = i; }
        return count;
    }
}
