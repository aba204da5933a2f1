using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;

namespace MixDQ.Compiler.Analysis;

/// <summary>
/// <c>{ClassName}.mixdq.lock.json</c>: the expensive results of the analysis (calibration ranges, sensitivities, chosen
/// allocations), each stored under a key hashed from the model's input hash and every setting that affects it, so that
/// an unchanged build reads everything back, a change of target bits only re-solves, and a file of another model or a
/// corrupt one is ignored with warning MIXDQ071 and recomputed (never trusted). Meant to be committed, like a package lock.
/// </summary>
public sealed class AnalysisLock
{
    public const string FileSuffix = ".mixdq.lock.json";
    private const string SchemaName = "mixdq-lock";
    private const int MaxAllocations = 16;
    private const int MaxCandidateLists = 8;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly string _path;
    private LockData _data;

    private AnalysisLock(string path, LockData data)
    {
        _path = path;
        _data = data;
    }

    public string Path => _path;

    /// <summary>Reads the lock file of <paramref name="inputHash"/>'s model, or starts an empty one.</summary>
    public static AnalysisLock Open(string path, string inputHash, ICollection<MixDQWarning> warnings)
    {
        var empty = new LockData { Schema = SchemaName, Version = 1, InputHash = inputHash };
        if (!File.Exists(path)) return new AnalysisLock(path, empty);
        LockData? data = null;
        string? problem = null;
        try
        {
            data = JsonSerializer.Deserialize<LockData>(File.ReadAllBytes(path), Json);
            if (data is null || data.Schema != SchemaName || data.Version != 1) problem = "it is not a version-1 MixDQ lock file";
            else if (data.InputHash != inputHash) problem = $"it was made for another model (input hash {data.InputHash})";
            else if (!data.IsWellFormed()) problem = "it holds missing or non-finite values";
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            problem = "it is not valid JSON";
        }
        if (problem is null) return new AnalysisLock(path, data!);
        warnings.Add(new MixDQWarning(ErrorCodes.LockFileIgnored, $"the analysis lock file is ignored because {problem}; the analysis runs again and rewrites it", path));
        return new AnalysisLock(path, empty);
    }

    /// <summary>A stable key: SHA-256 over the parts, in order.</summary>
    public static string Key(params object?[] parts)
    {
        var text = string.Join("\n", parts.Select(p => Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture) ?? "null"));
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public CalibrationResult? Calibration(string key) =>
        _data.Calibration is { } c && c.Key == key
            ? new CalibrationResult(c.Ranges.ToDictionary(kv => kv.Key, kv => kv.Value.Select(r => new SegmentRange((int)r[0], (float)r[1], (float)r[2])).ToArray(), StringComparer.Ordinal))
            : null;

    public void SetCalibration(string key, CalibrationResult result)
    {
        _data.Calibration = new CalibrationEntry
        {
            Key = key,
            Ranges = new SortedDictionary<string, double[][]>(result.Ranges.ToDictionary(kv => kv.Key, kv => kv.Value.Select(r => new double[] { r.Channels, r.Min, r.Max }).ToArray()), StringComparer.Ordinal),
        };
        Save();
    }

    public SensitivityResult? Sensitivity(string key) =>
        _data.Sensitivity is { } s && s.Key == key
            ? new SensitivityResult(
                s.Layers.ToDictionary(kv => kv.Key, kv => new LayerSensitivity(Enum.Parse<SensitivityMetric>(kv.Value.Metric, ignoreCase: true),
                    kv.Value.Weights.ToDictionary(w => int.Parse(w.Key, System.Globalization.CultureInfo.InvariantCulture), w => w.Value),
                    kv.Value.Activations.ToDictionary(a => int.Parse(a.Key, System.Globalization.CultureInfo.InvariantCulture), a => a.Value)), StringComparer.Ordinal),
                new Dictionary<string, long>(s.InputElements, StringComparer.Ordinal))
            : null;

    public void SetSensitivity(string key, SensitivityResult result)
    {
        _data.Sensitivity = new SensitivityEntry
        {
            Key = key,
            Layers = new SortedDictionary<string, LayerSensitivityEntry>(result.Layers.ToDictionary(kv => kv.Key, kv => new LayerSensitivityEntry
            {
                Metric = kv.Value.Metric.ToString().ToLowerInvariant(),
                Weights = new SortedDictionary<string, double>(kv.Value.Weights.ToDictionary(w => w.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), w => w.Value), StringComparer.Ordinal),
                Activations = new SortedDictionary<string, double>(kv.Value.Activations.ToDictionary(a => a.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), a => a.Value), StringComparer.Ordinal),
            }), StringComparer.Ordinal),
            InputElements = new SortedDictionary<string, long>(result.InputElements.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
        };
        Save();
    }

    public Allocation.BitAllocation? Allocation(string key) =>
        _data.Allocations.FirstOrDefault(a => a.Key == key) is { } a
            ? new Allocation.BitAllocation(new Dictionary<string, int>(a.WeightBits, StringComparer.Ordinal), new Dictionary<string, int>(a.ActivationBits, StringComparer.Ordinal), a.Protected)
            : null;

    public void SetAllocation(string key, Allocation.BitAllocation allocation)
    {
        _data.Allocations.RemoveAll(a => a.Key == key);
        _data.Allocations.Insert(0, new AllocationEntry
        {
            Key = key,
            WeightBits = new SortedDictionary<string, int>(allocation.WeightBits.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
            ActivationBits = new SortedDictionary<string, int>(allocation.ActivationBits.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
            Protected = [.. allocation.ProtectedActivations],
        });
        if (_data.Allocations.Count > MaxAllocations) _data.Allocations.RemoveRange(MaxAllocations, _data.Allocations.Count - MaxAllocations);
        Save();
    }

    /// <summary>A list of allocations stored under <paramref name="key"/> (see <see cref="Allocation.AllocationCache"/>), or null.</summary>
    public List<Dictionary<string, int>>? Candidates(string key) =>
        _data.CandidateLists.FirstOrDefault(c => c.Key == key) is { } c
            ? c.Widths.Select(row => c.Layers.Zip(row.Split(','), (l, w) => (l, w: int.Parse(w, System.Globalization.CultureInfo.InvariantCulture)))
                .ToDictionary(p => p.l, p => p.w, StringComparer.Ordinal)).ToList()
            : null;

    /// <summary>Stores allocations compactly: the layer names once, then one comma-separated row of widths per allocation.</summary>
    public void SetCandidates(string key, IReadOnlyList<IReadOnlyDictionary<string, int>> allocations)
    {
        var layers = allocations.SelectMany(a => a.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (allocations.Any(a => a.Count != layers.Count)) throw new ArgumentException("every allocation of a list names the same layers", nameof(allocations));
        _data.CandidateLists.RemoveAll(c => c.Key == key);
        _data.CandidateLists.Insert(0, new CandidateListEntry
        {
            Key = key,
            Layers = layers,
            Widths = allocations.Select(a => string.Join(",", layers.Select(l => a[l].ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToList(),
        });
        if (_data.CandidateLists.Count > MaxCandidateLists) _data.CandidateLists.RemoveRange(MaxCandidateLists, _data.CandidateLists.Count - MaxCandidateLists);
        Save();
    }

    private void Save()
    {
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(_data, Json);
        AtomicFile.WriteAllBytes(_path, [.. bytes, (byte)'\n']);
    }

    private sealed class LockData
    {
        public string Schema { get; set; } = "";
        public int Version { get; set; }
        public string InputHash { get; set; } = "";
        public CalibrationEntry? Calibration { get; set; }
        public SensitivityEntry? Sensitivity { get; set; }
        public List<AllocationEntry> Allocations { get; set; } = [];
        public List<CandidateListEntry> CandidateLists { get; set; } = [];

        public bool IsWellFormed() =>
            (Calibration is null || (Calibration.Key is not null && Calibration.Ranges is not null
                && Calibration.Ranges.Values.All(r => r is not null && r.All(s => s is { Length: 3 } && s.All(double.IsFinite) && s[0] >= 1 && s[1] <= s[2]))))
            && (Sensitivity is null || (Sensitivity.Key is not null && Sensitivity.Layers is not null && Sensitivity.InputElements is not null
                && Sensitivity.Layers.Values.All(l => l is not null && l.Metric is "ssim" or "sqnr" && l.Weights is not null && l.Activations is not null
                    && l.Weights.Concat(l.Activations).All(kv => int.TryParse(kv.Key, out _) && double.IsFinite(kv.Value)))))
            && Allocations is not null && Allocations.All(a => a is not null && a.Key is not null && a.WeightBits is not null && a.ActivationBits is not null && a.Protected is not null)
            && CandidateLists is not null && CandidateLists.All(c => c is not null && c.Key is not null && c.Layers is not null && c.Widths is not null
                && c.Widths.All(row => row is not null && row.Split(',') is var w && w.Length == c.Layers.Count && w.All(x => int.TryParse(x, out int b) && b is > 0 and <= 32)));
    }

    private sealed class CalibrationEntry
    {
        public string Key { get; set; } = "";
        public SortedDictionary<string, double[][]> Ranges { get; set; } = new(StringComparer.Ordinal);
    }

    private sealed class SensitivityEntry
    {
        public string Key { get; set; } = "";
        public SortedDictionary<string, LayerSensitivityEntry> Layers { get; set; } = new(StringComparer.Ordinal);
        public SortedDictionary<string, long> InputElements { get; set; } = new(StringComparer.Ordinal);
    }

    private sealed class LayerSensitivityEntry
    {
        public string Metric { get; set; } = "";
        public SortedDictionary<string, double> Weights { get; set; } = new(StringComparer.Ordinal);
        public SortedDictionary<string, double> Activations { get; set; } = new(StringComparer.Ordinal);
    }

    private sealed class CandidateListEntry
    {
        public string Key { get; set; } = "";
        public List<string> Layers { get; set; } = [];
        public List<string> Widths { get; set; } = [];
    }

    private sealed class AllocationEntry
    {
        public string Key { get; set; } = "";
        public SortedDictionary<string, int> WeightBits { get; set; } = new(StringComparer.Ordinal);
        public SortedDictionary<string, int> ActivationBits { get; set; } = new(StringComparer.Ordinal);
        public List<string> Protected { get; set; } = [];
    }
}
