using System.Diagnostics;
using Microsoft.CodeAnalysis;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tests.Models;
using Xunit.Abstractions;

namespace MixDQ.Generators.Tests;

/// <summary>
/// A plan of SDXL-Turbo's real size (from its configs: 2.6 B parameters, no weights needed), with the traced
/// programs of both text encoders, the UNet and the VAE decoder: the generator must turn it into code that compiles.
/// </summary>
public sealed class RealScaleGenerationTests(ITestOutputHelper output)
{
    [Fact]
    public void SdxlTurboPlan_GeneratesStraightLineCodeThatCompiles()
    {
        var unet = UNet2DConditionConfig.Parse(ReferenceConfigs.SdxlTurboUnet, "unet/config.json");
        var te = ClipTextConfig.Parse(ReferenceConfigs.SdxlTurboTextEncoder, "text_encoder/config.json");
        var te2 = ClipTextConfig.Parse(ReferenceConfigs.SdxlTurboTextEncoder2, "text_encoder_2/config.json");
        var vae = AutoencoderKLConfig.Parse(ReferenceConfigs.SdxlTurboVae, "vae/config.json");
        var described = ClipTextModel.DescribeLayers(te, false, "text_encoder")
            .Concat(ClipTextModel.DescribeLayers(te2, true, "text_encoder_2"))
            .Concat(UNet2DConditionModel.DescribeLayers(unet))
            .Concat(AutoencoderKLDecoder.DescribeLayers(vae));
        var layers = described.Select(l => new PlanLayer(l.Component, l.Name, l.Kind, l.WeightShape, 16, 16, LayerGrouping.Classify(l.Component, l.Name))).ToList();
        ForwardProgram[] programs =
        [
            ForwardTracer.TraceTextEncoder(te, false, "text_encoder", 77, -2),
            ForwardTracer.TraceTextEncoder(te2, true, "text_encoder_2", 77, -2),
            ForwardTracer.TraceUnet(unet, 128, 128, 77, te2.ProjectionDim),
            ForwardTracer.TraceVaeDecoder(vae, 128, 128),
        ];
        var plan = new PlanDocument(1, "0.1.0", "SdxlTurbo", "sha256:" + new string('c', 64), "sdxl", "StableDiffusionXLPipeline",
            new PlanSettings(16, 16, 1, null), new PlanArtifact("SdxlTurbo.mixdq.safetensors", "F16"),
            [.. new[] { "text_encoder", "text_encoder_2", "unet", "vae" }.Select(c => new PlanComponent(c, c, null))],
            layers, PlanTotals.Of(layers)) { Programs = programs };
        string json = plan.ToJson();

        const string path = "/project/obj/mixdq/SdxlTurbo.mixdq.plan.json";
        var clock = Stopwatch.StartNew();
        var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(path, json)], GeneratorHarness.PlanOptions(path, "SdxlTurbo"));
        driver = driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("namespace Consumer.App { }"), out var compilation, out var diagnostics);
        long generateMs = clock.ElapsedMilliseconds;
        Assert.Empty(diagnostics);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        string source = driver.GetRunResult().GeneratedTrees.Single().ToString();
        int calls = source.Split('\n').Count(l => l.TrimStart().StartsWith('r') && l.Contains(" = be.", StringComparison.Ordinal));
        Assert.Equal(programs.Sum(p => p.Ops.Count), calls);
        output.WriteLine($"plan {json.Length / 1024} KiB, {programs.Sum(p => p.Ops.Count)} ops, generated {source.Length / 1024} KiB in {generateMs} ms, compiled in {clock.ElapsedMilliseconds - generateMs} ms");
    }
}
