using MixDQ.Compiler.Analysis;
using MixDQ.Compiler.Analysis.Allocation;
using MixDQ.Runtime.Compiled;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Compiler.Tests;

/// <summary>The final pick among the budget sweep's candidates, and what the ablation methods share with MixDQ.</summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    private static readonly string[] Prompts = ["a red circle", "a blue square on a green background", "two small yellow triangles"];

    private static CompileSettings Settings(QuantizationMethod method = QuantizationMethod.MixDQ) =>
        new() { WeightBits = 4, ActivationBits = 8, SensitivityPromptCount = 2, Method = method };

    [Theory]
    [InlineData(QuantizationMethod.SqnrOnly)]
    [InlineData(QuantizationMethod.NoBos)]
    public void AblationMethods_OfferEachLayerTheWidthsMixDQOffers(QuantizationMethod method)
    {
        var mixdq = Settings();
        var ablation = Settings(method);
        foreach (var group in new[] { LayerGroup.Content, LayerGroup.Quality })
            Assert.Equal(SensitivityPass.WeightCandidates(mixdq, group), SensitivityPass.WeightCandidates(ablation, group));
        Assert.Equal([4, 8], SensitivityPass.WeightCandidates(ablation, LayerGroup.Quality));
        // What sqnr-only changes is the metric of the content layers.
        Assert.Equal(method == QuantizationMethod.SqnrOnly ? SensitivityMetric.Sqnr : SensitivityMetric.Ssim,
            SensitivityPass.MetricOf(method, LayerGroup.Content));
    }

    [Fact]
    public void SqnrOnlyPlan_KeepsQualityLayersAtFourBitsOrMore()
    {
        using var dir = RepoPaths.NewTempDir();
        string prompts = dir.File("prompts.txt");
        File.WriteAllLines(prompts, Prompts);
        var settings = Settings(QuantizationMethod.SqnrOnly) with { CalibrationPromptsFile = prompts, CalibrationPromptCount = 2, SensitivityPromptCount = 1 };
        var plan = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "SqnrOnly", dir.Path, settings)).Plan;
        var unet = plan.Layers.Where(l => l.Component == "unet").ToList();
        output.WriteLine(string.Join(" ", unet.GroupBy(l => (l.Group, l.WeightBits)).Select(g => $"{g.Key.Group}:W{g.Key.WeightBits}x{g.Count()}")));
        Assert.Equal("sqnr-only", plan.Settings.Method);
        Assert.All(unet.Where(l => l.Group == LayerGroup.Quality), l => Assert.True(l.WeightBits >= 4, $"{l.Name} has {l.WeightBits}-bit weights"));
        Assert.All(unet, l => Assert.Equal(MixDQ.Plans.PlanSchema.Sqnr, l.Sensitivity!.Metric));
    }

    [Fact]
    public void Pick_ScreensOnLatents_ThenDecidesByPixelMseAmongTheShortlist()
    {
        using var session = AnalysisSession.Open(TinyModel.Directory, Settings(), Prompts);
        var candidates = new[] { 8, 4, 2 }
            .SelectMany(content => new[] { 8, 4 }.Select(quality => session.Layers.ToDictionary(
                l => l.QualifiedName, l => l.Group == LayerGroup.Content ? content : quality, StringComparer.Ordinal)))
            .ToList();
        IEnumerable<KeyValuePair<string, Analysis.Simulation.LayerSimulation>> Table(Dictionary<string, int> w) =>
            AllocationPass.Simulation(session, calibration: null, w, new Dictionary<string, int>());
        var reference = PickReference.Of(session, CancellationToken.None);

        // What the pick is meant to compute, measured here independently.
        var latentSqnr = new List<double>();
        var pixelMse = new List<double>();
        foreach (var c in candidates)
        {
            session.Backend.SetLayers(Table(c));
            latentSqnr.Add(SensitivityPass.Sqnr(reference.Latents, session.Latents(session.SensitivityPrompts, 0)));
            pixelMse.Add(SensitivityPass.PixelMse(reference.Images, session.RunSensitivitySet(CancellationToken.None)));
        }
        session.Backend.ClearLayers();
        output.WriteLine("latent SQNR " + string.Join(" ", latentSqnr.Select(v => v.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))));
        output.WriteLine("pixel MSE   " + string.Join(" ", pixelMse.Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.True(pixelMse.Distinct().Count() > 1, "the candidates must differ for the test to mean anything");

        int Pick(int shortlist) => candidates.IndexOf(CandidatePick.Run(session, reference, shortlist, candidates, Table, "weights", null, null, CancellationToken.None));
        var byScreen = Enumerable.Range(0, candidates.Count).OrderByDescending(i => latentSqnr[i]).ThenBy(i => i).ToList();
        int ArgMinMse(IEnumerable<int> among) => among.OrderBy(i => pixelMse[i]).ThenBy(i => i).First();

        Assert.Equal(ArgMinMse(Enumerable.Range(0, candidates.Count)), Pick(0));
        Assert.Equal(byScreen[0], Pick(1));
        Assert.Equal(ArgMinMse(byScreen.Take(3)), Pick(3));
        Assert.Equal(Pick(0), Pick(candidates.Count));
        // The pick leaves every layer FP again.
        Assert.Equal(reference.Latents, session.Latents(session.SensitivityPrompts, 0));
    }
}
