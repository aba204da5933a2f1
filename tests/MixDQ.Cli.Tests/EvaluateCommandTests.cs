using MixDQ.Tests;

namespace MixDQ.Cli.Tests;

public class EvaluateCommandTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    private static readonly string TinyShapes = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");

    [Fact]
    public void Evaluate_scores_the_shipped_model_and_writes_json()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, o, err) = CliHarness.Run("evaluate", "--model", TinyShapes, "--limit", "3", "--json", tmp.File("eval.json"));
        Assert.True(exit == 0, err);
        Assert.Matches(@"overall\s+[0-9.]+", o);
        Assert.Matches(@"images\s+3", o);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File("eval.json")));
        Assert.Equal(3, doc.RootElement.GetProperty("images").GetInt32());
        double overall = doc.RootElement.GetProperty("overall").GetDouble();
        Assert.InRange(overall, 0, 1);
    }

    [Fact]
    public void A_prompt_outside_the_grammar_is_MIXDQ081_before_any_generation()
    {
        using var tmp = RepoPaths.NewTempDir();
        File.WriteAllLines(tmp.File("p.txt"), ["a red circle at the top left on a blue background", "a corgi wearing a hat"]);
        var (exit, _, err) = CliHarness.Run("evaluate", "--model", TinyShapes, "--prompts", tmp.File("p.txt"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ081", err.Trim());
    }

    [Fact]
    public void A_model_with_the_wrong_image_size_is_MIXDQ080()
    {
        using var tmp = RepoPaths.NewTempDir();
        File.WriteAllLines(tmp.File("p.txt"), ["a red circle at the top left on a blue background"]);
        var (exit, _, err) = CliHarness.Run("evaluate", "--model", models.Sd, "--prompts", tmp.File("p.txt"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ080", err.Trim());
    }
}
