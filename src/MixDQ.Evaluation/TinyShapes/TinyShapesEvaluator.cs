using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.TinyShapes;

/// <summary>Accuracy of a generator over a prompt set, per attribute and overall (fractions in [0,1]).</summary>
/// <param name="Prompts">Number of prompts scored.</param>
/// <param name="Overall">Fraction of images with every stated attribute, the background and the shape count right.</param>
/// <param name="Background">Fraction of images with the right background colour.</param>
/// <param name="Count">Fraction of images with exactly the prompt's number of shapes.</param>
/// <param name="Shape">Fraction of prompt shapes (over all prompts) found with the right class.</param>
/// <param name="Colour">Fraction of prompt shapes found with the right colour.</param>
/// <param name="Size">Fraction of prompt shapes that state a size and have it right (NaN when none states one).</param>
/// <param name="Position">Fraction of prompt shapes that state a position and have it right (NaN when none states one).</param>
/// <param name="Results">The judge's verdict per prompt, in prompt order.</param>
public sealed record TinyShapesEvaluation(
    int Prompts,
    double Overall,
    double Background,
    double Count,
    double Shape,
    double Colour,
    double Size,
    double Position,
    IReadOnlyList<JudgeResult> Results)
{
    /// <summary>Aggregates per-image verdicts.</summary>
    public static TinyShapesEvaluation FromResults(IReadOnlyList<JudgeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0) throw new MixDQException(ErrorCodes.MetricInputInvalid, "No results to aggregate.");
        var objects = results.SelectMany(r => r.Objects).ToList();
        static double Fraction(IEnumerable<bool> xs)
        {
            var list = xs.ToList();
            return list.Count == 0 ? double.NaN : list.Count(x => x) / (double)list.Count;
        }
        return new TinyShapesEvaluation(
            results.Count,
            Fraction(results.Select(r => r.Correct)),
            Fraction(results.Select(r => r.BackgroundCorrect)),
            Fraction(results.Select(r => r.CountCorrect)),
            Fraction(objects.Select(o => o.ShapeCorrect)),
            Fraction(objects.Select(o => o.ColourCorrect)),
            Fraction(objects.Where(o => o.SizeCorrect is not null).Select(o => o.SizeCorrect!.Value)),
            Fraction(objects.Where(o => o.PositionCorrect is not null).Select(o => o.PositionCorrect!.Value)),
            results);
    }

    /// <summary>The same numbers for the prompts of each form present, in <see cref="PromptForm"/> order.</summary>
    public IReadOnlyList<(PromptForm Form, TinyShapesEvaluation Evaluation)> ByForm() =>
        Results.GroupBy(r => r.Form).OrderBy(g => g.Key).Select(g => (g.Key, FromResults(g.ToList()))).ToList();
}

/// <summary>Runs a text-to-image generator over Tiny Shapes prompts and scores every image with <see cref="TinyShapesJudge"/>.</summary>
public static class TinyShapesEvaluator
{
    /// <summary>
    /// Generates one image per prompt with seed <c>firstSeed + index</c> and scores it.
    /// The generator must return a 64x64 RGB HWC image (64*64*3 bytes).
    /// </summary>
    /// <exception cref="MixDQException">MIXDQ081 when a prompt is outside the grammar (checked before generating anything);
    /// MIXDQ080 when the generator returns an image of the wrong size.</exception>
    public static TinyShapesEvaluation Evaluate(
        Func<string, int, byte[]> generator,
        IReadOnlyList<string> prompts,
        int firstSeed = 0,
        IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new MixDQException(ErrorCodes.InvalidArgument, "The prompt list is empty.");
        foreach (var p in prompts) TinyShapesGrammar.Parse(p); // fail before spending generation time
        var results = new List<JudgeResult>(prompts.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var image = generator(prompts[i], firstSeed + i) ?? throw new MixDQException(ErrorCodes.JudgeImageSize, "The generator returned no image.", item: prompts[i]);
            results.Add(TinyShapesJudge.Score(image, TinyShapesWorld.ImageSize, TinyShapesWorld.ImageSize, prompts[i]));
            progress?.Report(i + 1);
        }
        return TinyShapesEvaluation.FromResults(results);
    }

    /// <summary>Reads a prompt file: one prompt per line, blank lines and lines starting with '#' skipped.</summary>
    public static IReadOnlyList<string> LoadPrompts(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new MixDQException(ErrorCodes.FileUnreadable, "Prompt file not found.", file: path);
        return File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
    }
}
