using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;

namespace MixDQ.Evaluation.Tests;

public class JudgeTests
{
    [Fact]
    public void Judge_scores_the_worlds_own_renders_as_correct()
    {
        var rng = new Random(2024);
        int correct = 0, total = 600, twoShape = 0;
        var failures = new List<string>();
        for (int i = 0; i < total; i++)
        {
            var scene = TinyShapesScene.Random(rng, i % 2 + 1);
            twoShape += scene.Objects.Count == 2 ? 1 : 0;
            var result = TinyShapesJudge.Score(TinyShapesRenderer.Render(scene), 64, 64, scene.Caption());
            if (result.Correct) correct++;
            else if (failures.Count < 5) failures.Add(scene.Caption());
        }
        Assert.Equal(300, twoShape);
        Assert.True(correct >= 0.99 * total, $"{correct}/{total} correct; e.g. {string.Join(" | ", failures)}");
    }

    [Fact]
    public void Judge_reports_each_wrong_attribute()
    {
        var image = TinyShapesRenderer.Render(TinyShapesGrammar.Parse("a large red square at the top left on a blue background"));
        var r = TinyShapesJudge.Score(image, 64, 64, "a small red circle at the bottom right on a blue background");
        Assert.True(r.BackgroundCorrect);
        Assert.True(r.CountCorrect);
        var o = Assert.Single(r.Objects);
        Assert.True(o.ColourCorrect);
        Assert.False(o.ShapeCorrect);
        Assert.Equal(ShapeKind.Square, o.DetectedShape);
        Assert.False(o.SizeCorrect);
        Assert.False(o.PositionCorrect);
        Assert.Equal(GridPosition.TopLeft, o.DetectedPosition);
        Assert.False(r.Correct);
    }

    [Fact]
    public void Judge_catches_wrong_background_colour_and_count()
    {
        var image = TinyShapesRenderer.Render(TinyShapesGrammar.Parse("a small green triangle at the center on a white background"));
        var r = TinyShapesJudge.Score(image, 64, 64, "a small yellow triangle at the center and a large red circle at the left on a black background");
        Assert.False(r.BackgroundCorrect);
        Assert.Equal(ShapeColour.White, r.DetectedBackground);
        Assert.False(r.CountCorrect);
        Assert.Equal(1, r.DetectedObjectCount);
        Assert.False(r.Objects[0].ColourCorrect);
        Assert.True(r.Objects[0].ShapeCorrect); // the only shape is matched to the first prompt shape
        Assert.False(r.Objects[1].Found);
        Assert.False(r.Correct);
    }

    [Fact]
    public void Unstated_attributes_are_not_checked()
    {
        var image = TinyShapesRenderer.Render(TinyShapesGrammar.Parse("a large purple circle at the bottom left on a yellow background"));
        var r = TinyShapesJudge.Score(image, 64, 64, "a purple circle on a yellow background");
        Assert.Null(r.Objects[0].SizeCorrect);
        Assert.Null(r.Objects[0].PositionCorrect);
        Assert.True(r.Correct);
    }

    [Fact]
    public void Judge_tolerates_noise_and_blurred_edges()
    {
        var rng = new Random(5);
        int correct = 0, total = 100;
        var failures = new List<string>();
        for (int i = 0; i < total; i++)
        {
            var scene = TinyShapesScene.Random(rng, i % 2 + 1);
            var image = Blur(TinyShapesRenderer.Render(scene));
            for (int p = 0; p < image.Length; p++) image[p] = (byte)Math.Clamp(image[p] + rng.Next(-12, 13), 0, 255);
            var r = TinyShapesJudge.Score(image, 64, 64, scene.Caption());
            if (r.Correct) correct++;
            else if (failures.Count < 6) failures.Add(Describe(r));
        }
        // 92 with the non-shape checks: a 3x3 box blur rounds a 12 px square's corners more than the model's own
        // generations do (their small squares match the square template >= 0.88), and a few are rejected.
        Assert.True(correct >= 90, $"{correct}/{total}: {string.Join(" | ", failures)}");
    }

    [Fact]
    public void Wrong_image_size_is_an_error()
    {
        var ex = Assert.Throws<MixDQException>(() => TinyShapesJudge.Score(new byte[32 * 32 * 3], 32, 32, "a red circle on a blue background"));
        Assert.Equal(ErrorCodes.JudgeImageSize, ex.Code);
        ex = Assert.Throws<MixDQException>(() => TinyShapesJudge.Score(new byte[100], 64, 64, "a red circle on a blue background"));
        Assert.Equal(ErrorCodes.JudgeImageSize, ex.Code);
    }

    [Fact]
    public void Prompt_outside_the_grammar_is_an_error()
    {
        var ex = Assert.Throws<MixDQException>(() => TinyShapesJudge.Score(new byte[64 * 64 * 3], 64, 64, "an astronaut riding a horse"));
        Assert.Equal(ErrorCodes.JudgePromptGrammar, ex.Code);
    }

    private static string Describe(JudgeResult r) =>
        $"{r.Prompt}: bg {r.DetectedBackground} count {r.DetectedObjectCount} " +
        string.Join("; ", r.Objects.Select(o => $"{o.DetectedShape}/{o.DetectedColour}/{o.DetectedSize}/{o.DetectedPosition}"));

    /// <summary>3x3 box blur (clamped edges): turns hard edges into blended rims, as a generator produces.</summary>
    private static byte[] Blur(byte[] src)
    {
        var dst = new byte[src.Length];
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                for (int c = 0; c < 3; c++)
                {
                    int s = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            s += src[(Math.Clamp(y + dy, 0, 63) * 64 + Math.Clamp(x + dx, 0, 63)) * 3 + c];
                    dst[(y * 64 + x) * 3 + c] = (byte)((s + 4) / 9);
                }
        return dst;
    }
}
