using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MixDQ.Compiler;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Backends;
using MixDQ.Tests;

namespace MixDQ.Generators.Tests;

/// <summary>Compiles the tiny model once; every test reads its plan.</summary>
public sealed class TinyPlanFixture : IDisposable
{
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public TinyPlanFixture()
    {
        Result = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "TinyModel", _tmp.Path, new CompileSettings()));
        Json = File.ReadAllText(Result.PlanPath);
    }

    public CompileResult Result { get; }

    public string Json { get; }

    public void Dispose() => _tmp.Dispose();
}

public sealed class GeneratorTests(TinyPlanFixture tiny) : IClassFixture<TinyPlanFixture>
{
    private const string PlanPath = "/project/obj/mixdq/TinyModel.mixdq.plan.json";

    private static (GeneratorDriver Driver, Compilation Output, IReadOnlyList<Diagnostic> Diagnostics) Run(
        string json, string? className = "TinyModel", string? ns = null, string path = PlanPath)
    {
        var compilation = GeneratorHarness.Compilation("namespace Consumer.App { public static class Program { } }");
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(path, json)], GeneratorHarness.PlanOptions(path, className, ns));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver, output, diagnostics);
    }

    [Fact]
    public void ValidPlan_GeneratesAClassThatCompilesAgainstTheRuntime()
    {
        var (driver, output, diagnostics) = Run(tiny.Json);

        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var type = output.GetTypeByMetadataName("Consumer.App.TinyModel");
        Assert.NotNull(type);
        Assert.Contains(type.GetMembers("Load").OfType<IMethodSymbol>(), m => m.IsStatic && m.Parameters.Length == 1);
        Assert.Contains(type.GetMembers("Load").OfType<IMethodSymbol>(), m => m.IsStatic && m.Parameters.Length == 2 && m.Parameters[0].Type.SpecialType == SpecialType.System_String);
        Assert.Equal(2, type.GetMembers("Generate").Length);
        Assert.Contains(type.AllInterfaces, i => i.Name == "IDisposable");
        Assert.NotNull(output.GetTypeByMetadataName("Consumer.App.TinyModelPlan"));

        string source = driver.GetRunResult().Results[0].GeneratedSources.Single().SourceText.ToString();
        // One bound field and one precision entry per plan layer.
        Assert.Contains("private readonly global::MixDQ.Runtime.Backends.LayerInfo _unet_conv_in;", source, StringComparison.Ordinal);
        Assert.Contains("\"unet/conv_in\" => new global::MixDQ.Runtime.Backends.LayerPrecision(16, 16),", source, StringComparison.Ordinal);
        int fields = source.Split('\n').Count(l => l.TrimStart().StartsWith("private readonly global::MixDQ.Runtime.Backends.LayerInfo ", StringComparison.Ordinal));
        Assert.Equal(tiny.Result.Plan.Layers.Count, fields);
    }

    [Fact]
    public void GeneratedPlanData_MatchesThePlan_AndItsHashMatchesTheCompilers()
    {
        var (_, output, _) = Run(tiny.Json);
        using var ms = new MemoryStream();
        var emit = output.Emit(ms);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        var alc = new AssemblyLoadContext("gen", isCollectible: true);
        try
        {
            ms.Position = 0;
            var asm = alc.LoadFromStream(ms);
            var model = asm.GetType("Consumer.App.TinyModel")!;
            object plan = model.GetProperty("Plan", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            T Get<T>(string name) => (T)plan.GetType().GetProperty(name)!.GetValue(plan)!;

            var expected = tiny.Result.Plan;
            Assert.Equal(tiny.Result.PlanHash, Get<string>("Hash"));
            Assert.Equal(tiny.Result.PlanHash, (string)model.GetField("PlanHash")!.GetValue(null)!);
            Assert.Equal(expected.InputHash, Get<string>("InputHash"));
            Assert.Equal(expected.Totals.LayerCount, Get<int>("LayerCount"));
            Assert.Equal(expected.Totals.WeightBytes, Get<long>("WeightBytes"));
            Assert.Equal(expected.Totals.Fp32WeightBytes, Get<long>("Fp32WeightBytes"));
            var layers = Get<IReadOnlyList<MixDQ.Runtime.Compiled.CompiledLayer>>("Layers");
            Assert.Equal(expected.Layers.Select(l => l.QualifiedName), layers.Select(l => l.QualifiedName));
            Assert.Equal(expected.Layers.Select(l => l.WeightBytes), layers.Select(l => l.WeightBytes));
            Assert.Equal(expected.Layers.Select(l => l.Group), layers.Select(l => l.Group));

            var precisionOf = model.GetMethod("PrecisionOf")!;
            var first = expected.Layers[0];
            var info = new LayerInfo(first.Component, first.Name, first.Op, first.WeightShape, LayerPrecision.Fp32);
            Assert.Equal(new LayerPrecision(16, 16), (LayerPrecision)precisionOf.Invoke(null, [info])!);
            var unknown = new LayerInfo("unet", "not.a.layer", LayerKind.Linear, [1, 1], LayerPrecision.Fp32);
            var e = Assert.Throws<TargetInvocationException>(() => precisionOf.Invoke(null, [unknown]));
            Assert.Equal("MIXDQ068", Assert.IsType<MixDQ.Runtime.Diagnostics.MixDQException>(e.InnerException).Code);
        }
        finally
        {
            alc.Unload();
        }
    }

    [Fact]
    public void UnrelatedEdit_LeavesEveryTrackedStepCached()
    {
        var (driver, output, _) = Run(tiny.Json);
        var edited = output.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Consumer.App { internal static class Other { } }", GeneratorHarness.ParseOptions));
        driver = driver.RunGenerators(edited);

        var result = driver.GetRunResult().Results[0];
        foreach (string step in new[] { TrackingNames.Inputs, TrackingNames.Models })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void ChangedPlan_RegeneratesTheModelStep()
    {
        var original = new GeneratorHarness.Text(PlanPath, tiny.Json);
        var compilation = GeneratorHarness.Compilation("namespace Consumer.App { }");
        var driver = GeneratorHarness.Driver([original], GeneratorHarness.PlanOptions(PlanPath, "TinyModel")).RunGenerators(compilation);
        string changed = tiny.Json.Replace("\"steps\":1", "\"steps\":2", StringComparison.Ordinal);
        Assert.NotEqual(tiny.Json, changed);

        driver = driver.ReplaceAdditionalText(original, new GeneratorHarness.Text(PlanPath, changed)).RunGenerators(compilation);

        var result = driver.GetRunResult().Results[0];
        Assert.Contains(result.TrackedSteps[TrackingNames.Models].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public int Steps => 2;", result.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void NamespaceComesFromMetadata_ElseRootNamespace()
    {
        var (_, output, _) = Run(tiny.Json, ns: "My.Models");
        Assert.NotNull(output.GetTypeByMetadataName("My.Models.TinyModel"));
        Assert.Null(output.GetTypeByMetadataName("Consumer.App.TinyModel"));
    }

    [Fact]
    public void ClassNameFromMetadata_OverridesThePlans()
    {
        var (_, output, _) = Run(tiny.Json, className: "Renamed");
        Assert.NotNull(output.GetTypeByMetadataName("Consumer.App.Renamed"));
        Assert.NotNull(output.GetTypeByMetadataName("Consumer.App.RenamedPlan"));
    }

    [Fact]
    public void FilesWithoutThePlanMetadata_AreIgnored()
    {
        var compilation = GeneratorHarness.Compilation("class A { }");
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text("/p/other.json", tiny.Json)],
            new GeneratorHarness.Options([], []));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Fact]
    public void FutureSchema_Is061_AtTheVersionValue()
    {
        string json = tiny.Json.Replace("\"schemaVersion\": 1", "\"schemaVersion\": 7", StringComparison.Ordinal);
        var (driver, _, diagnostics) = Run(json);
        var d = Assert.Single(diagnostics);
        Assert.Equal("MIXDQ061", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        var span = d.Location.GetLineSpan();
        Assert.Equal(PlanPath, span.Path);
        Assert.Equal(2, span.StartLinePosition.Line); // 0-based: the third line holds "schemaVersion"
        Assert.Equal("7", json.Split('\n')[2][span.StartLinePosition.Character..span.EndLinePosition.Character]);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Fact]
    public void BrokenJson_Is060_WithPosition_AndNoException()
    {
        string json = tiny.Json[..(tiny.Json.Length / 2)];
        var (driver, _, diagnostics) = Run(json);
        var d = Assert.Single(diagnostics);
        Assert.Equal("MIXDQ060", d.Id);
        Assert.Contains("not valid JSON", d.GetMessage(), StringComparison.Ordinal);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
        Assert.Null(driver.GetRunResult().Results[0].Exception);
    }

    [Theory]
    [InlineData("\"op\":\"conv2d\"", "\"op\":\"conv9d\"", "\"conv9d\"")]
    [InlineData("\"weightBits\":16", "\"weightBits\":3", "3")]
    [InlineData("\"group\":\"quality\"", "\"group\":\"other\"", "\"other\"")]
    [InlineData("\"op\":\"timestep_embedding\"", "\"op\":\"timestep_embeding\"", "\"timestep_embeding\"")]
    [InlineData("\"activation\":\"Silu\"", "\"activation\":\"Swish\"", "\"Swish\"")]
    [InlineData("\"silu\":true", "\"silu\":1", "1")]
    [InlineData("\"ids\":\"input_ids\"", "\"ids\":\"token_ids\"", "\"token_ids\"")]
    [InlineData("\"layer\":\"conv_in\"", "\"layer\":\"conv_out_of_nowhere\"", "\"conv_out_of_nowhere\"")]
    public void InvalidLayerOrProgramField_Is060_PointingAtTheValue(string from, string to, string spanText)
    {
        int at = tiny.Json.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0);
        string json = tiny.Json[..at] + to + tiny.Json[(at + from.Length)..];
        var (_, _, diagnostics) = Run(json);
        var d = Assert.Single(diagnostics);
        Assert.Equal("MIXDQ060", d.Id);
        var span = d.Location.SourceSpan;
        Assert.Equal(spanText, json.Substring(span.Start, span.Length));
        Assert.Equal(json[..span.Start].Count(c => c == '\n'), d.Location.GetLineSpan().StartLinePosition.Line);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n")]
    public void EmptyPlan_NotCompiledYet_GivesNoClassAndNoError(string json)
    {
        var (driver, _, diagnostics) = Run(json);
        Assert.Empty(diagnostics);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Fact]
    public void Generate_DefaultsStepsToThePlans_AndPlanCountsDistinctShapes()
    {
        var (driver, _, _) = Run(tiny.Json);
        string source = driver.GetRunResult().Results[0].GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("return options.Steps is null ? options with { Steps = 1 } : options;", source, StringComparison.Ordinal);
        int distinct = tiny.Result.Plan.Layers.Select(l => (l.Op, string.Join(",", l.WeightShape), l.WeightBits, l.ActivationBits)).Distinct().Count();
        Assert.Contains($"public int DistinctLayerShapeCount => {distinct};", source, StringComparison.Ordinal);
        Assert.True(distinct < tiny.Result.Plan.Layers.Count);
    }

    [Fact]
    public void TaesdLayers_AreInThePrecisionTable_ButNotBoundAtLoad()
    {
        PlanLayer[] layers =
        [
            new("unet", "conv_in", LayerKind.Conv2d, [16, 4, 3, 3], 16, 16, MixDQ.Runtime.Compiled.LayerGroup.Quality),
            new("taesd", "decoder.layers.0", LayerKind.Conv2d, [8, 4, 3, 3], 16, 16, MixDQ.Runtime.Compiled.LayerGroup.Quality),
        ];
        var plan = new PlanDocument(1, "0.1.0", "WithTaesd", "sha256:" + new string('b', 64), "sd2", "StableDiffusionPipeline",
            new PlanSettings(16, 16, 1, null), new PlanArtifact("WithTaesd.mixdq.safetensors", "F16"),
            [new PlanComponent("unet", "UNet2DConditionModel", "unet/diffusion_pytorch_model.safetensors"),
             new PlanComponent("taesd", "AutoencoderTiny", "taesd/diffusion_pytorch_model.safetensors")],
            layers, PlanTotals.Of(layers));

        var (driver, output, diagnostics) = Run(plan.ToJson(), className: "WithTaesd");
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        string source = driver.GetRunResult().Results[0].GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("LayerInfo _unet_conv_in;", source, StringComparison.Ordinal);
        Assert.DoesNotContain("_taesd_", source, StringComparison.Ordinal);
        Assert.Contains("\"taesd/decoder.layers.0\" => new global::MixDQ.Runtime.Backends.LayerPrecision(16, 16),", source, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidClassName_Is064()
    {
        var (_, _, diagnostics) = Run(tiny.Json, className: "not-valid");
        Assert.Equal("MIXDQ064", Assert.Single(diagnostics).Id);
    }

    [Fact]
    public void CompilerPlanAndGeneratorAgreeOnTheHash() =>
        Assert.Equal(PlanDocument.HashOf(File.ReadAllBytes(tiny.Result.PlanPath)), PlanParser.Hash(tiny.Json));
}
