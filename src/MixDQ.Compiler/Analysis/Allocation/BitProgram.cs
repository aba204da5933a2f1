using System.Globalization;
using Google.OrTools.Sat;

namespace MixDQ.Compiler.Analysis.Allocation;

/// <summary>One layer of a bit-allocation program: its size (the budget weight), candidate widths and the score of each.</summary>
public sealed record BitChoice(string Layer, long Size, IReadOnlyList<int> Widths, IReadOnlyList<double> Scores);

/// <summary>The answer of one program: the solver status, one width per layer (null unless feasible) and the solve time.</summary>
public sealed record BitProgramResult(string Status, IReadOnlyList<int>? Widths, double Objective, double WallSeconds)
{
    public bool Feasible => Widths is not null;
}

/// <summary>
/// One of MixDQ's integer programs, solved with OR-Tools CP-SAT: a 0/1 variable per (layer, width), exactly one width per
/// layer, the size-weighted average width within target ± tolerance, maximising the summed scores (SSIM or SQNR at the
/// chosen widths). CP-SAT takes integer coefficients only, so sizes keep their exact integer value, the budget is scaled by
/// 1000 and scores by 10⁴. One worker and a fixed seed make it deterministic (the same inputs give the same plan);
/// <c>linearization_level:2</c> lets a single worker prove optimality quickly.
/// </summary>
public static class BitProgram
{
    public const double ScoreScale = 1e4;
    private const long BudgetScale = 1000;

    public static BitProgramResult Solve(IReadOnlyList<BitChoice> layers, double targetAverage, double tolerance, double timeLimitSeconds = 10)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) return new BitProgramResult("OPTIMAL", [], 0, 0);
        var model = new CpModel();
        var vars = new List<BoolVar>();
        var budget = new List<long>();
        var objective = new List<long>();
        var perLayer = new BoolVar[layers.Count][];
        long total = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            perLayer[i] = new BoolVar[l.Widths.Count];
            for (int j = 0; j < l.Widths.Count; j++)
            {
                var x = model.NewBoolVar(string.Create(CultureInfo.InvariantCulture, $"x_{i}_{l.Widths[j]}"));
                perLayer[i][j] = x;
                vars.Add(x);
                budget.Add(checked(l.Size * l.Widths[j] * BudgetScale));
                objective.Add((long)Math.Round(l.Scores[j] * ScoreScale));
            }
            model.AddExactlyOne(perLayer[i]);
            total = checked(total + l.Size);
        }
        long low = (long)Math.Ceiling((targetAverage - tolerance) * BudgetScale * total);
        long high = (long)Math.Floor((targetAverage + tolerance) * BudgetScale * total);
        var sum = LinearExpr.WeightedSum(vars, budget);
        model.Add(sum >= low);
        model.Add(sum <= high);
        model.Maximize(LinearExpr.WeightedSum(vars, objective));

        var solver = new CpSolver
        {
            StringParameters = string.Create(CultureInfo.InvariantCulture,
                $"num_workers:1 linearization_level:2 random_seed:0 max_time_in_seconds:{timeLimitSeconds}"),
        };
        var status = solver.Solve(model);
        if (status is not (CpSolverStatus.Optimal or CpSolverStatus.Feasible))
            return new BitProgramResult(status.ToString().ToUpperInvariant(), null, 0, solver.WallTime());
        var widths = new int[layers.Count];
        for (int i = 0; i < layers.Count; i++)
            for (int j = 0; j < perLayer[i].Length; j++)
                if (solver.BooleanValue(perLayer[i][j])) widths[i] = layers[i].Widths[j];
        return new BitProgramResult(status.ToString().ToUpperInvariant(), widths, solver.ObjectiveValue / ScoreScale, solver.WallTime());
    }

    /// <summary>The size-weighted average width of an assignment.</summary>
    public static double Average(IReadOnlyList<BitChoice> layers, IReadOnlyList<int> widths)
    {
        double bits = 0, size = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            bits += (double)layers[i].Size * widths[i];
            size += layers[i].Size;
        }
        return size > 0 ? bits / size : 0;
    }

    /// <summary>n evenly spaced values from <paramref name="start"/> to <paramref name="stop"/> inclusive (numpy's linspace).</summary>
    public static double[] Linspace(double start, double stop, int n) =>
        n <= 1 ? [stop] : Enumerable.Range(0, n).Select(i => start + (stop - start) * i / (n - 1)).ToArray();
}
