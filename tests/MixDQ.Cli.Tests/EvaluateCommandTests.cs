using MixDQ.Compiler;
using MixDQ.Tests;

namespace MixDQ.Cli.Tests;

public class EvaluateCommandTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    private static readonly string TinyShapes = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");

    [Fact]
    public void Evaluate_scores_the_shipped_model_on_its_prompt_files_and_writes_json()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, o, err) = CliHarness.Run("evaluate", "--model", TinyShapes, "--limit", "3", "--json", tmp.File("eval.json"));
        Assert.True(exit == 0, err);
        Assert.Matches(@"images\s+9", o); // 3 of each of the 3 default files
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File("eval.json")));
        Assert.Equal(9, doc.RootElement.GetProperty("images").GetInt32());
        var files = doc.RootElement.GetProperty("sets").EnumerateArray()
            .Where(s => s.GetProperty("form").GetString() == "all")
            .Select(s => Path.GetFileName(s.GetProperty("prompts_file").GetString())).ToList();
        Assert.Equal(["heldout_prompts.txt", "heldout_forms_prompts.txt", "indist_forms_prompts.txt"], files);
        Assert.All(doc.RootElement.GetProperty("sets").EnumerateArray(), s => Assert.InRange(s.GetProperty("overall").GetDouble(), 0, 1));
    }

    [Fact]
    public void Under_specified_prompts_are_scored_per_prompt_form_with_image_metrics_on_the_fully_specified_ones()
    {
        using var tmp = RepoPaths.NewTempDir();
        File.WriteAllLines(tmp.File("p.txt"), [
            "a large red circle at the top left on a blue background",
            "a small yellow square on a black background",
            "a green triangle at the right on a white background",
            "a blue circle on a yellow background",
            "a red square and a large white circle at the left on a green background",
        ]);
        var (exit, o, err) = CliHarness.Run("evaluate", "--model", TinyShapes, "--prompts", tmp.File("p.txt"), "--json", tmp.File("eval.json"));
        Assert.True(exit == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File("eval.json")));
        var rows = doc.RootElement.GetProperty("sets").EnumerateArray().ToDictionary(s => s.GetProperty("form").GetString()!);
        Assert.Equal(["all", "full", "size-only", "position-only", "bare", "mixed"], rows.Keys);
        Assert.All(rows.Values.Skip(1), r => Assert.Equal(1, r.GetProperty("images").GetInt32()));
        Assert.Equal(1, rows["all"].GetProperty("fully_specified_images").GetInt32());
        Assert.InRange(rows["all"].GetProperty("ssim_vs_render").GetDouble(), 0, 1);
        // A form that states no size has no size accuracy.
        Assert.Equal(System.Text.Json.JsonValueKind.Null, rows["bare"].GetProperty("size").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, rows["position-only"].GetProperty("size").ValueKind);
        Assert.Matches(@"bare\s+1\s", o);
    }

    [Fact]
    public void A_compiled_plan_is_scored_like_its_folder()
    {
        using var tmp = RepoPaths.NewTempDir();
        var compiled = ModelCompiler.Compile(new CompileRequest(TinyShapes, "TinyShapes", tmp.File("out"), new CompileSettings()));
        File.WriteAllLines(tmp.File("p.txt"), ["a large red circle at the top left on a blue background", "a blue square on a yellow background"]);
        var (exit, o, err) = CliHarness.Run("evaluate", "--plan", compiled.PlanPath, "--prompts", tmp.File("p.txt"), "--json", tmp.File("plan.json"));
        Assert.True(exit == 0, err);
        Assert.Matches(@"images\s+2", o);
        (exit, _, err) = CliHarness.Run("evaluate", "--model", TinyShapes, "--prompts", tmp.File("p.txt"), "--json", tmp.File("folder.json"));
        Assert.True(exit == 0, err);
        // FP16 weights against FP32: the same verdicts on these easy prompts, the same number of fully specified images.
        using var a = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File("plan.json")));
        using var b = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tmp.File("folder.json")));
        var rowA = a.RootElement.GetProperty("sets")[0];
        var rowB = b.RootElement.GetProperty("sets")[0];
        Assert.Equal(rowB.GetProperty("overall").GetDouble(), rowA.GetProperty("overall").GetDouble());
        Assert.Equal(rowB.GetProperty("shape").GetDouble(), rowA.GetProperty("shape").GetDouble());
    }

    [Fact]
    public void Simulation_needs_model_and_plan_and_a_plan_needs_prompts()
    {
        var (exit, _, err) = CliHarness.Run("evaluate", "--plan", "x.mixdq.plan.json", "--simulate", "--prompts", "p.txt");
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ050", err.Trim());
        (exit, _, err) = CliHarness.Run("evaluate");
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ050", err.Trim());
        (exit, _, err) = CliHarness.Run("evaluate", "--plan", "x.mixdq.plan.json");
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ050", err.Trim());
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
