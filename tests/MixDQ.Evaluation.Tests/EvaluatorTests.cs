using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Tests;

namespace MixDQ.Evaluation.Tests;

public class EvaluatorTests
{
    private static IReadOnlyList<string> HeldOut =>
        TinyShapesEvaluator.LoadPrompts(Path.Combine(RepoPaths.Root, "tools", "tiny-shapes", "heldout_prompts.txt"));

    [Fact]
    public void Heldout_prompts_are_in_the_grammar_and_fully_specified()
    {
        var prompts = HeldOut;
        Assert.True(prompts.Count >= 200);
        Assert.All(prompts, p => Assert.True(TinyShapesGrammar.Parse(p).IsFullySpecified));
        Assert.Equal(prompts.Count, prompts.Distinct().Count());
    }

    [Fact]
    public void A_perfect_generator_scores_one_everywhere()
    {
        var prompts = HeldOut;
        int calls = 0;
        var progress = new Progress<int>(_ => { });
        var result = TinyShapesEvaluator.Evaluate((p, seed) =>
        {
            Assert.Equal(100 + calls++, seed);
            return TinyShapesRenderer.Render(TinyShapesGrammar.Parse(p));
        }, prompts, firstSeed: 100, progress);
        Assert.Equal(prompts.Count, result.Prompts);
        Assert.Equal(1.0, result.Overall);
        Assert.Equal(1.0, result.Position);
        Assert.Equal(1.0, result.Size);
    }

    [Fact]
    public void A_generator_that_ignores_the_prompt_scores_low()
    {
        var fixedImage = TinyShapesRenderer.Render(TinyShapesGrammar.Parse("a small green square at the center on a black background"));
        var result = TinyShapesEvaluator.Evaluate((_, _) => fixedImage, HeldOut);
        Assert.True(result.Overall < 0.05, $"overall {result.Overall}");
        Assert.True(result.Background < 0.3, $"background {result.Background}");
        Assert.True(result.Results.All(r => r.DetectedBackground == ShapeColour.Black));
    }

    [Fact]
    public void Bad_prompts_and_bad_images_are_errors()
    {
        var ex = Assert.Throws<MixDQException>(() => TinyShapesEvaluator.Evaluate((_, _) => new byte[64 * 64 * 3], ["a red circle on a blue background", "a cat"]));
        Assert.Equal(ErrorCodes.JudgePromptGrammar, ex.Code);
        ex = Assert.Throws<MixDQException>(() => TinyShapesEvaluator.Evaluate((_, _) => new byte[10], ["a red circle on a blue background"]));
        Assert.Equal(ErrorCodes.JudgeImageSize, ex.Code);
    }
}
