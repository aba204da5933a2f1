using System.Globalization;
using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Analysis.Allocation;

/// <summary>The widths the allocation chose: per layer weight bits and activation bits (16 = FP), and the protected layers.</summary>
public sealed record BitAllocation(IReadOnlyDictionary<string, int> WeightBits, IReadOnlyDictionary<string, int> ActivationBits, IReadOnlyList<string> ProtectedActivations)
{
    public int WeightBitsOf(string layer) => WeightBits.GetValueOrDefault(layer, 16);

    public int ActivationBitsOf(string layer) => ActivationBits.GetValueOrDefault(layer, 16);
}

/// <summary>
/// MixDQ's bit allocation. Weights first (activations FP), then activations with the chosen weights fixed. Per kind, the
/// four programs ({weights, activations} × {content, quality}) are solved over the budget split sweep — target
/// B ∈ linspace(T − 0.3, T, 10) and ratio k (content/quality average) over the paper's grid, B_quality = B·(1+r)/(k·r+1),
/// B_content = k·B_quality, r = size ratio content/quality — and the distinct candidates are ranked by pixel MSE of the
/// generated images against FP (float MSE, unlike the reference code's uint8 arithmetic; <see cref="CandidatePick"/>
/// screens them on latents first). Before the activation programs, the most sensitive activation layers (a share of each
/// group) are kept FP16. sqnr-only solves one program over all layers (no groups, no split sweep).
/// </summary>
public static class AllocationPass
{
    public const double Tolerance = 0.02;
    private const int BudgetSteps = 10;
    private static readonly double[] WeightRatios = BitProgram.Linspace(0.46, 1.36, 10);
    private static readonly double[] ActivationRatios = BitProgram.Linspace(0.94, 1.09, 20);

    public static BitAllocation Run(AnalysisSession session, CalibrationResult? calibration, SensitivityResult? sensitivity,
        IProgress<AnalysisProgress>? progress, ICollection<MixDQWarning> warnings, Action<string>? log, CancellationToken cancellationToken,
        AllocationCache? cache = null)
    {
        var s = session.Settings;
        var layers = session.Layers;
        if (s.Method == QuantizationMethod.Naive)
        {
            return new BitAllocation(
                s.QuantizesWeights ? layers.ToDictionary(l => l.QualifiedName, _ => (int)s.WeightBits) : new Dictionary<string, int>(),
                s.QuantizesActivations ? layers.ToDictionary(l => l.QualifiedName, _ => (int)s.ActivationBits) : new Dictionary<string, int>(),
                []);
        }
        var reference = new Lazy<PickReference>(() => PickReference.Of(session, cancellationToken));
        var noActivations = new Dictionary<string, int>();

        // The weight pick runs with FP activations, so it depends on the weight target alone: a change of the activation
        // target only reuses it from the lock.
        var weightBits = new Dictionary<string, int>(StringComparer.Ordinal);
        if (s.QuantizesWeights && cache?.Get(cache.WeightPickKey) is [var cachedPick])
        {
            weightBits = cachedPick;
            log?.Invoke("weights: the pick for this weight target from the lock file");
        }
        else if (s.QuantizesWeights)
        {
            var candidates = Candidates(session, sensitivity!, weights: true, s.WeightBits, layers, warnings);
            log?.Invoke($"weights: {candidates.Count} distinct allocations from the budget sweep");
            weightBits = CandidatePick.Run(session, reference.Value, s.PickShortlist, candidates, c => Simulation(session, calibration, c, noActivations),
                "weights", progress, log, cancellationToken);
            cache?.Set(cache.WeightPickKey, [weightBits]);
        }

        var activationBits = new Dictionary<string, int>(StringComparer.Ordinal);
        var protectedLayers = new List<string>();
        if (s.QuantizesActivations)
        {
            protectedLayers = Protected(session, sensitivity!);
            var open = layers.Where(l => !protectedLayers.Contains(l.QualifiedName)).ToList();
            // The activation candidates do not depend on the weights: a change of the weight target only reuses them.
            var candidates = cache?.Get(cache.ActivationCandidatesKey);
            string source = candidates is null ? "the budget sweep" : "the budget sweep (from the lock file)";
            if (candidates is null)
            {
                candidates = Candidates(session, sensitivity!, weights: false, s.ActivationBits, open, warnings);
                foreach (var c in candidates)
                    foreach (var p in protectedLayers) c[p] = 16;
                cache?.Set(cache.ActivationCandidatesKey, candidates);
            }
            log?.Invoke($"activations: {protectedLayers.Count} protected (FP16), {candidates.Count} distinct allocations from {source}");
            var w = weightBits;
            activationBits = CandidatePick.Run(session, reference.Value, s.PickShortlist, candidates, c => Simulation(session, calibration, w, c),
                "activations", progress, log, cancellationToken);
        }
        session.Backend.ClearLayers();
        return new BitAllocation(weightBits, activationBits, protectedLayers);
    }

    /// <summary>The simulation table of one allocation.</summary>
    public static IEnumerable<KeyValuePair<string, LayerSimulation>> Simulation(AnalysisSession session, CalibrationResult? calibration,
        IReadOnlyDictionary<string, int> weightBits, IReadOnlyDictionary<string, int> activationBits)
    {
        var s = session.Settings;
        foreach (var l in session.Layers)
        {
            int w = weightBits.GetValueOrDefault(l.QualifiedName, 16), a = activationBits.GetValueOrDefault(l.QualifiedName, 16);
            if (w >= 16 && a >= 16) continue;
            yield return KeyValuePair.Create(l.QualifiedName, new LayerSimulation
            {
                WeightBits = w < 16 ? w : null,
                WeightScheme = s.WeightScheme,
                WeightClipping = s.WeightClipping,
                Input = a < 16 ? calibration!.Segments(l.QualifiedName, a) : null,
                Bos = session.BosAware && l.BosAware ? BosHandling.FloatingPoint : BosHandling.None,
            });
        }
    }

    /// <summary>The distinct feasible allocations of the budget sweep, in sweep order.</summary>
    private static List<Dictionary<string, int>> Candidates(AnalysisSession session, SensitivityResult sensitivity, bool weights, double target,
        IReadOnlyList<AnalysisLayer> layers, ICollection<MixDQWarning> warnings)
    {
        var s = session.Settings;
        var choicesByGroup = s.Method == QuantizationMethod.SqnrOnly
            ? new List<List<BitChoice>> { layers.Select(l => Choice(session, sensitivity, l, weights)).ToList() }
            : new List<List<BitChoice>>
            {
                layers.Where(l => l.Group == LayerGroup.Content).Select(l => Choice(session, sensitivity, l, weights)).ToList(),
                layers.Where(l => l.Group == LayerGroup.Quality).Select(l => Choice(session, sensitivity, l, weights)).ToList(),
            };
        choicesByGroup.RemoveAll(g => g.Count == 0);
        CheckReachable(choicesByGroup, target, weights);

        // The sweep's programs are independent: solved in parallel (one CP-SAT worker each, so every answer is the same as
        // sequentially), merged in sweep order, so the candidate list and the plan stay deterministic.
        var splits = BitProgram.Linspace(target - 0.3, target, BudgetSteps).Reverse()
            .SelectMany(b => Splits(choicesByGroup, b, weights ? WeightRatios : ActivationRatios)).ToList();
        var answers = new BitProgramResult[splits.Count][];
        Parallel.For(0, splits.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, k =>
        {
            answers[k] = new BitProgramResult[choicesByGroup.Count];
            for (int g = 0; g < choicesByGroup.Count; g++)
            {
                answers[k][g] = BitProgram.Solve(choicesByGroup[g], splits[k][g], Tolerance);
                if (!answers[k][g].Feasible) break;
            }
        });

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<Dictionary<string, int>>();
        foreach (var answer in answers)
        {
            if (answer.Any(r => r is null || !r.Feasible)) continue;
            var assignment = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int g = 0; g < choicesByGroup.Count; g++)
                for (int i = 0; i < choicesByGroup[g].Count; i++) assignment[choicesByGroup[g][i].Layer] = answer[g].Widths![i];
            string key = string.Join(",", assignment.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value));
            if (seen.Add(key)) result.Add(assignment);
        }
        if (answers.SelectMany(a => a).FirstOrDefault(r => r is { Feasible: true, Status: not "OPTIMAL" }) is { } unproven)
            warnings.Add(new MixDQWarning(ErrorCodes.AllocationNotProven,
                $"the bit-allocation solver returned {unproven.Status} (not proven optimal) for a {(weights ? "weight" : "activation")} program; the allocation is feasible"));
        if (result.Count == 0)
            throw new MixDQException(ErrorCodes.BitBudgetUnreachable,
                string.Create(CultureInfo.InvariantCulture,
                    $"no {(weights ? "weight" : "activation")} allocation averages {target:0.###} bits (± {Tolerance}) over the budget sweep; the candidate widths reach {Reach(choicesByGroup).Min:0.###}–{Reach(choicesByGroup).Max:0.###} on this model, but its few layers may not hit every average: try another target or more candidate widths"),
                item: weights ? "WeightBits" : "ActivationBits");
        return result;
    }

    /// <summary>The per-group targets of one budget B: the ratio sweep for two groups, B itself for one.</summary>
    private static IEnumerable<double[]> Splits(List<List<BitChoice>> groups, double b, double[] ratios)
    {
        if (groups.Count == 1)
        {
            yield return [b];
            yield break;
        }
        double content = groups[0].Sum(c => (double)c.Size), quality = groups[1].Sum(c => (double)c.Size);
        double r = content / quality;
        var (cMin, cMax) = (groups[0].Min(c => c.Widths.Min()), groups[0].Max(c => c.Widths.Max()));
        var (qMin, qMax) = (groups[1].Min(c => c.Widths.Min()), groups[1].Max(c => c.Widths.Max()));
        foreach (double k in ratios)
        {
            double bq = b * (1 + r) / (k * r + 1), bc = k * bq;
            if (bq < qMin - Tolerance || bq > qMax + Tolerance || bc < cMin - Tolerance || bc > cMax + Tolerance) continue;
            yield return [bc, bq];
        }
        // The uniform split (both groups at B) is always tried too, so a target every group can reach is never lost to the grid.
        yield return [b, b];
    }

    private static (double Min, double Max) Reach(List<List<BitChoice>> groups)
    {
        double size = groups.Sum(g => g.Sum(c => (double)c.Size));
        return (groups.Sum(g => g.Sum(c => (double)c.Size * c.Widths.Min())) / size, groups.Sum(g => g.Sum(c => (double)c.Size * c.Widths.Max())) / size);
    }

    private static void CheckReachable(List<List<BitChoice>> groups, double target, bool weights)
    {
        var (min, max) = Reach(groups);
        if (target < min - Tolerance || target > max + Tolerance)
            throw new MixDQException(ErrorCodes.BitBudgetUnreachable,
                string.Create(CultureInfo.InvariantCulture,
                    $"target {target:0.###} {(weights ? "weight" : "activation")} bits is outside what the candidate widths reach on this model ({min:0.###}–{max:0.###})"),
                item: weights ? "WeightBits" : "ActivationBits");
    }

    private static BitChoice Choice(AnalysisSession session, SensitivityResult sensitivity, AnalysisLayer layer, bool weights)
    {
        var scores = weights ? sensitivity.Layers[layer.QualifiedName].Weights : sensitivity.Layers[layer.QualifiedName].Activations;
        var widths = (weights ? SensitivityPass.WeightCandidates(session.Settings, layer.Group) : session.Settings.ActivationCandidates).ToList();
        long size = weights ? layer.Parameters : sensitivity.InputElements.GetValueOrDefault(layer.QualifiedName, 1);
        return new BitChoice(layer.QualifiedName, Math.Max(1, size), widths, widths.Select(b => scores[b]).ToList());
    }

    /// <summary>The most sensitive activation layers of each group (lowest score at the narrowest width), a share of the group's count, rounded up.</summary>
    private static List<string> Protected(AnalysisSession session, SensitivityResult sensitivity)
    {
        var s = session.Settings;
        if (s.ProtectedShare <= 0) return [];
        int narrowest = s.ActivationCandidates.Min();
        var groups = s.Method == QuantizationMethod.SqnrOnly
            ? [session.Layers.ToList()]
            : session.Layers.GroupBy(l => l.Group).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        var result = new List<string>();
        foreach (var g in groups)
        {
            int n = (int)Math.Ceiling(s.ProtectedShare * g.Count);
            result.AddRange(g.OrderBy(l => sensitivity.Layers[l.QualifiedName].Activations[narrowest]).ThenBy(l => l.QualifiedName, StringComparer.Ordinal)
                .Take(n).Select(l => l.QualifiedName));
        }
        return result;
    }
}
