using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using MixDQ.Compiler;
using MixDQ.Tests;

namespace MixDQ.Generators.Tests;

/// <summary>A W4A8 MixDQ plan of the tiny model (small analysis settings), compiled once.</summary>
public sealed class QuantizedPlanFixture : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public QuantizedPlanFixture()
    {
        string prompts = _tmp.File("prompts.txt");
        File.WriteAllLines(prompts, ["a red circle", "a blue square"]);
        var settings = new CompileSettings
        {
            WeightBits = 4, ActivationBits = 8, CalibrationPromptsFile = prompts, CalibrationPromptCount = 2, SensitivityPromptCount = 1,
        };
        Json = File.ReadAllText(ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "TinyQ", _tmp.Path, settings)).PlanPath);
    }

    public string Json { get; }

    public void Dispose() => _tmp.Dispose();
}

public sealed class QuantizedPlanTests(QuantizedPlanFixture plan) : IClassFixture<QuantizedPlanFixture>
{
    private const string PlanPath = "/project/obj/mixdq/TinyQ.mixdq.plan.json";

    private static (string Source, Compilation Output, IReadOnlyList<Diagnostic> Diagnostics) Run(string json)
    {
        var compilation = GeneratorHarness.Compilation("namespace Consumer.App { public static class Program { } }");
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(PlanPath, json)], GeneratorHarness.PlanOptions(PlanPath, "TinyQ", null));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var trees = driver.GetRunResult().GeneratedTrees;
        return (trees.Length == 0 ? "" : trees[0].ToString(), output, diagnostics);
    }

    [Fact]
    public void TypedPlan_ExposesEachLayersBitsGroupSensitivityAndBytes()
    {
        var (source, output, diagnostics) = Run(plan.Json);
        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Contains("public double RequestedWeightBits => 4d;", source, StringComparison.Ordinal);
        Assert.Contains("public string? Method => \"mixdq\";", source, StringComparison.Ordinal);
        // Every UNet layer line carries its scheme and the sensitivity that decided it; text-encoder lines stay plain.
        var unetLines = source.Split('\n').Where(l => l.Contains("new(\"unet\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(unetLines);
        Assert.All(unetLines, l => Assert.Matches("WeightScheme = \"sym\", InputQuantizers = [0-2], BosRow = (true|false), Sensitivity = new global::MixDQ.Runtime.Compiled.LayerSensitivity\\(\"(ssim|sqnr)\"", l));
        Assert.Contains(unetLines, l => l.Contains("BosRow = true", StringComparison.Ordinal) && l.Contains("attn2.to_k", StringComparison.Ordinal));
        Assert.DoesNotContain(source.Split('\n'), l => l.Contains("new(\"text_encoder\"", StringComparison.Ordinal) && l.Contains("WeightScheme", StringComparison.Ordinal));
    }

    [Fact]
    public void IntegerLayerWithWrongWeightBytes_Is060()
    {
        var m = Regex.Match(plan.Json, "\"weightBits\":4,\"activationBits\":8,\"group\":\"[a-z]+\",\"weightBytes\":(\\d+)");
        Assert.True(m.Success);
        string json = plan.Json[..m.Groups[1].Index] + (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1) + plan.Json[(m.Groups[1].Index + m.Groups[1].Length)..];
        var (_, _, diagnostics) = Run(json);
        var d = Assert.Single(diagnostics);
        Assert.Equal("MIXDQ060", d.Id);
        Assert.Contains("weightBytes", d.GetMessage(), StringComparison.Ordinal);
    }
}
