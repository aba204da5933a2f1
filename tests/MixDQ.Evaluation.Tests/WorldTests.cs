using System.Text.Json;
using MixDQ.Evaluation.TinyShapes;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Tests;

namespace MixDQ.Evaluation.Tests;

public class WorldTests
{
    private static string SamplesPath => Path.Combine(RepoPaths.Root, "tests", "golden", "tiny-shapes-world-samples.safetensors");

    [Fact]
    public void Csharp_renderer_matches_python_world_pixel_exact()
    {
        var golden = new GoldenFile(SamplesPath);
        var captions = JsonSerializer.Deserialize<string[]>(golden.Metadata["captions"])!;
        Assert.True(captions.Length >= 40);
        Assert.Contains(captions, c => c.Contains(" and a ", StringComparison.Ordinal));
        for (int i = 0; i < captions.Length; i++)
        {
            Assert.Equal([64, 64, 3], golden.Shape(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var expected = golden.U8(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var actual = TinyShapesRenderer.Render(TinyShapesGrammar.Parse(captions[i]));
            int mismatches = expected.Zip(actual).Count(p => p.First != p.Second);
            Assert.True(mismatches == 0, $"caption {i} '{captions[i]}': {mismatches} bytes differ");
        }
    }

    [Theory]
    [InlineData("a small red circle at the top left on a blue background")]
    [InlineData("a large green triangle at the center and a small yellow square at the bottom right on a white background")]
    [InlineData("a green triangle and a yellow square on a white background")]
    [InlineData("a purple circle at the right on a black background")]
    public void Captions_round_trip(string caption)
    {
        Assert.Equal(caption, TinyShapesGrammar.Parse(caption).Caption());
    }

    [Fact]
    public void Parser_reads_every_attribute()
    {
        var scene = TinyShapesGrammar.Parse("a large orange triangle at the bottom and a small white circle at the top right on a green background");
        Assert.Equal(ShapeColour.Green, scene.Background);
        Assert.Equal(new ShapeSpec(ShapeKind.Triangle, ShapeColour.Orange, ShapeSize.Large, GridPosition.Bottom), scene.Objects[0]);
        Assert.Equal(new ShapeSpec(ShapeKind.Circle, ShapeColour.White, ShapeSize.Small, GridPosition.TopRight), scene.Objects[1]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a red circle")]
    [InlineData("a red circle on a red background")]
    [InlineData("a pink circle on a blue background")]
    [InlineData("a red hexagon on a blue background")]
    [InlineData("a red circle at the middle on a blue background")]
    [InlineData("a red circle  on a blue background")]
    [InlineData("A red circle on a blue background")]
    [InlineData("a red circle and a red square on a blue background")]
    [InlineData("a red circle at the top and a green square at the top on a blue background")]
    [InlineData("a red circle and a green square and a white circle on a blue background")]
    [InlineData("a corgi wearing a hat")]
    public void Parser_rejects_prompts_outside_the_grammar(string prompt)
    {
        var ex = Assert.Throws<MixDQException>(() => TinyShapesGrammar.Parse(prompt));
        Assert.Equal(ErrorCodes.JudgePromptGrammar, ex.Code);
        Assert.False(TinyShapesGrammar.TryParse(prompt, out _));
    }

    [Fact]
    public void Rendering_an_underspecified_scene_is_an_error()
    {
        var ex = Assert.Throws<MixDQException>(() => TinyShapesRenderer.Render(TinyShapesGrammar.Parse("a red circle on a blue background")));
        Assert.Equal(ErrorCodes.JudgePromptGrammar, ex.Code);
    }

    [Fact]
    public void Shapes_cover_the_documented_pixel_counts()
    {
        int Count(ShapeKind k, ShapeSize s)
        {
            int n = 0;
            for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) if (TinyShapesRenderer.Covers(k, s, GridPosition.Center, x, y)) n++;
            return n;
        }
        // Same counts as world.py's shape_mask (checked there): 112/316, 144/400, 72/200.
        Assert.Equal(112, Count(ShapeKind.Circle, ShapeSize.Small));
        Assert.Equal(316, Count(ShapeKind.Circle, ShapeSize.Large));
        Assert.Equal(144, Count(ShapeKind.Square, ShapeSize.Small));
        Assert.Equal(400, Count(ShapeKind.Square, ShapeSize.Large));
        Assert.Equal(72, Count(ShapeKind.Triangle, ShapeSize.Small));
        Assert.Equal(200, Count(ShapeKind.Triangle, ShapeSize.Large));
    }
}
