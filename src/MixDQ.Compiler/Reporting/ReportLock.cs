using System.Globalization;
using System.Text.Json;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Reporting;

/// <summary>The score of every candidate width the analysis tried for one layer (from the lock file).</summary>
public sealed record CandidateScores(string Metric, IReadOnlyDictionary<int, double> Weights, IReadOnlyDictionary<int, double> Activations);

/// <summary>One allocation the lock file remembers: widths per layer and the layers whose activations were protected.</summary>
public sealed record LockAllocation(IReadOnlyDictionary<string, int> WeightBits, IReadOnlyDictionary<string, int> ActivationBits, IReadOnlySet<string> Protected);

/// <summary>
/// What the report reads from <c>{ClassName}.mixdq.lock.json</c>: the model's input hash, the candidate scores and the
/// allocations. Read-only and strict: the report never trusts a lock file it cannot fully read (MIXDQ078), unlike the
/// analysis, which ignores such a file and reruns.
/// </summary>
public sealed record ReportLock(string InputHash, IReadOnlyDictionary<string, CandidateScores> Scores, IReadOnlyList<LockAllocation> Allocations, string FileHash)
{
    public static ReportLock Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read lock file: {e.Message}", path);
        }
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("schema", out var schema) || schema.GetString() != "mixdq-lock")
                throw Invalid(path, "schema", "not a MixDQ lock file (schema must be 'mixdq-lock')");
            string inputHash = root.GetProperty("inputHash").GetString() ?? throw Invalid(path, "inputHash", "missing input hash");
            var scores = new SortedDictionary<string, CandidateScores>(StringComparer.Ordinal);
            if (root.TryGetProperty("sensitivity", out var sens) && sens.ValueKind == JsonValueKind.Object)
                foreach (var layer in sens.GetProperty("layers").EnumerateObject())
                {
                    string at = $"sensitivity.layers.{layer.Name}";
                    string metric = layer.Value.GetProperty("metric").GetString() ?? "";
                    if (metric is not ("ssim" or "sqnr")) throw Invalid(path, at + ".metric", $"metric '{metric}' must be ssim or sqnr");
                    scores[layer.Name] = new CandidateScores(metric, Widths(path, layer.Value.GetProperty("weights"), at + ".weights"),
                        Widths(path, layer.Value.GetProperty("activations"), at + ".activations"));
                }
            var allocations = new List<LockAllocation>();
            if (root.TryGetProperty("allocations", out var allocs))
                foreach (var a in allocs.EnumerateArray())
                    allocations.Add(new LockAllocation(Bits(a.GetProperty("weightBits")), Bits(a.GetProperty("activationBits")),
                        new HashSet<string>(a.GetProperty("protected").EnumerateArray().Select(p => p.GetString()!), StringComparer.Ordinal)));
            return new ReportLock(inputHash, scores, allocations, Plans.PlanDocument.HashOf(bytes));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new MixDQException(ErrorCodes.ReportLockInvalid, $"the lock file cannot be read: {e.Message}", path);
        }
    }

    /// <summary>The allocation that produced exactly the plan's widths, if the lock file still holds it.</summary>
    public LockAllocation? AllocationMatching(IReadOnlyDictionary<string, (int Weight, int Activation)> planBits) =>
        Allocations.FirstOrDefault(a => a.WeightBits.Count > 0 && a.WeightBits.All(kv => planBits.TryGetValue(kv.Key, out var b) && b.Weight == kv.Value)
            && a.ActivationBits.All(kv => planBits.TryGetValue(kv.Key, out var b) && b.Activation == kv.Value));

    private static SortedDictionary<int, double> Widths(string path, JsonElement obj, string at)
    {
        var result = new SortedDictionary<int, double>();
        foreach (var p in obj.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int bits) || !double.IsFinite(p.Value.GetDouble()))
                throw Invalid(path, $"{at}.{p.Name}", "candidate widths must be integers with finite scores");
            result[bits] = p.Value.GetDouble();
        }
        return result;
    }

    private static Dictionary<string, int> Bits(JsonElement obj) =>
        obj.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);

    private static MixDQException Invalid(string path, string at, string message) => new(ErrorCodes.ReportLockInvalid, "the lock file cannot be read: " + message, path, at);
}
