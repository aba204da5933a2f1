using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Compiler.Reporting;

/// <summary>What the report is made from: the plan (its bytes, for the hash), an optional lock file, the images section.</summary>
public sealed record ReportInputs(string PlanPath, byte[] PlanBytes, PlanDocument Plan, ReportLock? Lock, ImageSection Images, string Command)
{
    /// <summary>Reads the plan and the lock file and checks that both describe the same model (MIXDQ079).</summary>
    public static (string PlanPath, byte[] PlanBytes, PlanDocument Plan, ReportLock? Lock) Read(string planPath, string? lockPath)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(planPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read plan: {e.Message}", planPath);
        }
        var plan = PlanDocument.Parse(System.Text.Encoding.UTF8.GetString(bytes), planPath);
        var lockFile = lockPath is null ? null : ReportLock.Read(lockPath);
        if (lockFile is not null && lockFile.InputHash != plan.InputHash)
            throw new MixDQException(ErrorCodes.ReportInputsMismatch,
                $"the lock file is of another model (input hash {lockFile.InputHash}) than the plan ({plan.InputHash})", lockPath, "inputHash");
        return (planPath, bytes, plan, lockFile);
    }
}

/// <summary>Turns a plan (and its lock file, and images) into the <see cref="ReportModel"/> the page prints.</summary>
public static class ReportBuilder
{
    public static ReportModel Build(ReportInputs inputs, string toolVersion)
    {
        var plan = inputs.Plan;
        var planBits = plan.Layers.ToDictionary(l => l.QualifiedName, l => (l.WeightBits, l.ActivationBits), StringComparer.Ordinal);
        var allocation = inputs.Lock?.AllocationMatching(planBits);
        bool analysed = plan.Layers.Any(l => l.Sensitivity is not null || MixDQ.Plans.PlanSchema.IsIntegerWeight(l.WeightBits));

        var cells = plan.Layers.Select(l => new LayerCell(l, BlockLayout.Split(l.Name).Local,
            allocation?.Protected.Contains(l.QualifiedName) == true,
            inputs.Lock?.Scores.GetValueOrDefault(l.QualifiedName))).ToList();

        var header = new ReportHeader(plan.ClassName, plan.ModelFamily, plan.PipelineClass, plan.CompilerVersion, toolVersion,
            PlanDocument.HashOf(inputs.PlanBytes), plan.InputHash, inputs.Lock?.FileHash, plan.Settings, inputs.Command);
        return new ReportModel(header, analysed, Drawings(cells), analysed ? SensitivityTables(cells) : [], Budget(plan.Layers, InputElements(plan)), inputs.Images);
    }

    private static List<ComponentDrawing> Drawings(List<LayerCell> cells)
    {
        var result = new List<ComponentDrawing>();
        foreach (var component in cells.GroupBy(c => c.Layer.Component))
        {
            var split = component.Select(c => (Cell: c, Parts: BlockLayout.Split(c.Layer.Name))).ToList();
            int downBlocks = split.Select(s => s.Parts.Block).Distinct().Count(b => b.StartsWith("down_blocks.", StringComparison.Ordinal));
            var blocks = split.GroupBy(s => s.Parts.Block).Select(b => new BlockDrawing(b.Key,
                component.Key == "unet" ? BlockLayout.Depth(b.Key, downBlocks) : 0,
                b.GroupBy(s => s.Parts.Module).Select(m => new ModuleDrawing(m.Key, m.Select(s => s.Cell).ToList())).ToList())).ToList();
            result.Add(new ComponentDrawing(component.Key, blocks));
        }
        return result;
    }

    /// <summary>Per group, the measured layers sorted by their score at the smallest weight width (most sensitive first).</summary>
    private static List<SensitivityTable> SensitivityTables(List<LayerCell> cells)
    {
        var tables = new List<SensitivityTable>();
        foreach (var group in new[] { LayerGroup.Content, LayerGroup.Quality })
        {
            var rows = cells.Where(c => c.Layer.Group == group && (c.Candidates is not null || c.Layer.Sensitivity is not null)).ToList();
            if (rows.Count == 0) continue;
            string metric = rows.Select(r => r.Candidates?.Metric ?? r.Layer.Sensitivity!.Metric).GroupBy(m => m).OrderByDescending(g => g.Count()).First().Key;
            var sorted = rows.OrderBy(SortKey).ThenBy(r => r.QualifiedName, StringComparer.Ordinal).ToList();
            tables.Add(new SensitivityTable(group, metric, sorted,
                [.. rows.SelectMany(r => r.Candidates?.Weights.Keys ?? []).Distinct().Order()],
                [.. rows.SelectMany(r => r.Candidates?.Activations.Keys ?? []).Distinct().Order()]));
        }
        return tables;
    }

    private static double SortKey(LayerCell c) =>
        c.Candidates is { Weights.Count: > 0 } k ? k.Weights.First().Value
        : c.Layer.Sensitivity?.Weight ?? c.Layer.Sensitivity?.Activation ?? double.PositiveInfinity;

    private static List<BudgetRow> Budget(IReadOnlyList<PlanLayer> layers, IReadOnlyDictionary<string, long> inputElements)
    {
        var rows = new List<BudgetRow>();
        foreach (var component in layers.GroupBy(l => l.Component))
        {
            foreach (var group in component.GroupBy(l => l.Group).OrderBy(g => g.Key))
                rows.Add(Row($"{component.Key} · {group.Key.ToString().ToLowerInvariant()}", [.. group], inputElements));
            rows.Add(Row($"{component.Key} · all", [.. component], inputElements));
        }
        rows.Add(Row("all layers", layers, inputElements));
        return rows;
    }

    /// <summary>
    /// Weight bits averaged by parameter count, activation bits by the input activation elements a layer reads in one
    /// traced forward pass (what an activation width costs), as MixDQ sizes its two budgets; a layer the plan's
    /// programs do not reach (no programs: an old plan) counts its parameters instead.
    /// </summary>
    private static BudgetRow Row(string label, IReadOnlyList<PlanLayer> layers, IReadOnlyDictionary<string, long> inputElements)
    {
        long parameters = layers.Sum(l => l.Parameters);
        double w = layers.Sum(l => (double)l.Parameters * l.WeightBits) / parameters;
        double ActivationWeight(PlanLayer l) => inputElements.TryGetValue(l.QualifiedName, out long n) ? n : l.Parameters;
        double a = layers.Sum(l => ActivationWeight(l) * l.ActivationBits) / layers.Sum(ActivationWeight);
        return new BudgetRow(label, layers.Count, parameters, w, a, layers.Sum(l => l.WeightBytes));
    }

    /// <summary>Input elements per layer (<c>component/name</c>) summed over its calls in the plan's traced forward passes.</summary>
    internal static IReadOnlyDictionary<string, long> InputElements(PlanDocument plan)
    {
        var elements = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var program in plan.Programs)
        {
            var shapes = new Dictionary<int, int[]>();
            foreach (var t in program.Inputs.Concat(program.Parameters)) shapes[t.Value] = t.Shape;
            foreach (var op in program.Ops)
            {
                if (op.Layer is not null && op.Args.Length > 0 && shapes.TryGetValue(op.Args[0], out var input))
                {
                    string key = program.Component + "/" + op.Layer;
                    elements[key] = elements.GetValueOrDefault(key) + Runtime.Tensors.Tensor.ElementCount(input);
                }
                shapes[op.Result] = op.Shape;
            }
        }
        return elements;
    }
}
