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

    public static TheoryData<string> FormSets => new() { "heldout_forms_prompts.txt", "indist_forms_prompts.txt" };

    [Theory]
    [MemberData(nameof(FormSets))]
    public void Prompt_form_sets_are_in_the_grammar_distinct_and_mix_every_form_with_one_and_two_shapes(string file)
    {
        var prompts = TinyShapesEvaluator.LoadPrompts(Path.Combine(RepoPaths.Root, "tools", "tiny-shapes", file));
        Assert.Equal(prompts.Count, prompts.Distinct().Count());
        var scenes = prompts.Select(TinyShapesGrammar.Parse).ToList();
        foreach (var form in new[] { PromptForm.Full, PromptForm.SizeOnly, PromptForm.PositionOnly, PromptForm.Bare })
            foreach (int shapes in new[] { 1, 2 })
                Assert.True(scenes.Count(s => s.Form == form && s.Objects.Count == shapes) >= 20, $"{file}: {form} with {shapes} shape(s)");
        Assert.DoesNotContain(scenes, s => s.Form == PromptForm.Mixed);
        // The model folder carries the same files (mixdq evaluate's defaults).
        Assert.Equal(prompts, TinyShapesEvaluator.LoadPrompts(Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes", file)));
    }

    [Fact]
    public void Evaluation_splits_by_prompt_form_and_does_not_score_unstated_attributes()
    {
        string[] prompts =
        [
            "a large red circle at the top left on a blue background",
            "a small yellow square on a black background",
            "a green triangle at the right on a white background",
            "a blue circle on a yellow background",
            "a purple square on a green background",
        ];
        // Draws every unstated attribute as small at the bottom right: right for what the prompts state.
        var result = TinyShapesEvaluator.Evaluate((p, _) =>
        {
            var scene = TinyShapesGrammar.Parse(p);
            return TinyShapesRenderer.Render(scene with
            {
                Objects = scene.Objects.Select(o => o with { Size = o.Size ?? ShapeSize.Small, Position = o.Position ?? GridPosition.BottomRight }).ToList(),
            });
        }, prompts);
        Assert.Equal(1.0, result.Overall);
        var forms = result.ByForm();
        Assert.Equal([PromptForm.Full, PromptForm.SizeOnly, PromptForm.PositionOnly, PromptForm.Bare], forms.Select(f => f.Form));
        Assert.Equal([1, 1, 1, 2], forms.Select(f => f.Evaluation.Prompts));
        var bare = forms.Single(f => f.Form == PromptForm.Bare).Evaluation;
        Assert.True(double.IsNaN(bare.Size) && double.IsNaN(bare.Position));
        Assert.Equal(1.0, forms.Single(f => f.Form == PromptForm.SizeOnly).Evaluation.Size);
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
