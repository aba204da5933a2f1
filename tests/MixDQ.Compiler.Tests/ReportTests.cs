using System.Xml;
using System.Xml.Linq;
using MixDQ.Cli;
using MixDQ.Compiler.Reporting;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Imaging;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Compiler.Tests;

/// <summary><c>mixdq report</c>: the page of the tiny model's W4A8 build (plan, lock file, images).</summary>
public sealed class ReportTests(TinyAnalysisFixture fixture, ITestOutputHelper output) : IClassFixture<TinyAnalysisFixture>
{
    private string PlanPath => fixture.PathOf(Path.Combine("a", "TinyQ.mixdq.plan.json"));

    private string LockPath => fixture.PathOf(Path.Combine("a", "TinyQ.mixdq.lock.json"));

    private ReportRequest Request(string outName, bool images = true) => new(PlanPath, fixture.PathOf(outName))
    {
        LockPath = LockPath,
        ModelDirectory = images ? TinyModel.Directory : null,
        PromptsPath = fixture.Prompts,
        PromptCount = 3,
        Command = "mixdq report --plan TinyQ.mixdq.plan.json",
    };

    private static XDocument Parse(string path)
    {
        using var reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        return XDocument.Load(reader);
    }

    private static IEnumerable<XElement> Named(XDocument doc, string localName) => doc.Descendants().Where(e => e.Name.LocalName == localName);

    [Fact]
    public void TwoRuns_AreByteIdentical_WellFormed_EveryLayerOnce_EveryImageDecodes()
    {
        ReportGenerator.Run(Request("r1.html"));
        ReportGenerator.Run(Request("r2.html"));
        byte[] first = File.ReadAllBytes(fixture.PathOf("r1.html")), second = File.ReadAllBytes(fixture.PathOf("r2.html"));
        output.WriteLine($"report: {first.Length} bytes");
        Assert.Equal(first, second);

        var doc = Parse(fixture.PathOf("r1.html"));
        var drawn = Named(doc, "g").Select(g => (string?)g.Attribute("data-layer")).Where(n => n is not null).ToList();
        var planLayers = fixture.Result.Plan.Layers.Select(l => l.QualifiedName).ToList();
        Assert.Equal(planLayers.Count, drawn.Count);
        Assert.Equal(planLayers.Order(StringComparer.Ordinal), drawn.Order(StringComparer.Ordinal));

        var images = Named(doc, "img").Select(i => (string)i.Attribute("src")!).ToList();
        Assert.Equal(2 * 3, images.Count);
        foreach (var (src, i) in images.Select((s, i) => (s, i)))
        {
            Assert.StartsWith("data:image/png;base64,", src, StringComparison.Ordinal);
            string file = fixture.PathOf($"decoded{i}.png");
            File.WriteAllBytes(file, Convert.FromBase64String(src["data:image/png;base64,".Length..]));
            var (rgb, w, h) = PngFile.Read(file);
            Assert.True(w > 0 && h > 0 && rgb.Length == w * h * 3);
        }
        Assert.DoesNotContain("<script", File.ReadAllText(fixture.PathOf("r1.html")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void SensitivityTables_MarkTheChosenWidth_OfEveryAnalysedLayer()
    {
        var report = ReportGenerator.Run(Request("s.html", images: false));
        var analysed = fixture.Result.Plan.Layers.Where(l => l.Sensitivity is not null).Select(l => l.QualifiedName).ToHashSet();
        Assert.NotEmpty(analysed);
        Assert.Equal(analysed.Order(), report.Sensitivity.SelectMany(t => t.Rows).Select(r => r.QualifiedName).Order());

        var doc = Parse(fixture.PathOf("s.html"));
        foreach (var row in Named(doc, "tr").Where(r => r.Elements().FirstOrDefault(e => (string?)e.Attribute("class") == "name") is { } n && analysed.Contains(n.Value)))
        {
            string chosen = row.Elements().ElementAt(1).Value; // e.g. W4A8
            int marked = row.Elements().Count(e => (string?)e.Attribute("class") == "chosen");
            Assert.True(marked is >= 1 and <= 2, $"{row.Elements().First().Value} ({chosen}) marks {marked} widths");
        }
        Assert.Contains("No images", File.ReadAllText(fixture.PathOf("s.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void Budget_AveragesWeightBitsByParameters_ActivationBitsByInputElements_AndMatchesPlanTotals()
    {
        var report = ReportGenerator.Run(Request("b.html", images: false));
        var all = report.Budget[^1];
        var plan = fixture.Result.Plan;
        Assert.Equal(plan.Totals.WeightBytes, all.WeightBytes);
        Assert.Equal(plan.Totals.Parameters, all.Parameters);
        double expected = plan.Layers.Sum(l => (double)l.Parameters * l.WeightBits) / plan.Totals.Parameters;
        Assert.Equal(expected, all.AverageWeightBits, 12);
        var inputs = ReportBuilder.InputElements(plan);
        Assert.All(plan.Layers, l => Assert.True(inputs.GetValueOrDefault(l.QualifiedName) > 0, $"{l.QualifiedName} has no traced input"));
        // A conv_in reads a 4-channel latent but holds few parameters: weighting by parameters would hide it.
        double expectedA = plan.Layers.Sum(l => (double)inputs[l.QualifiedName] * l.ActivationBits) / plan.Layers.Sum(l => (double)inputs[l.QualifiedName]);
        Assert.Equal(expectedA, all.AverageActivationBits, 12);
        var unet = report.Budget.Single(r => r.Label == "unet · all");
        output.WriteLine($"unet: W {unet.AverageWeightBits:F3} A {unet.AverageActivationBits:F3}, {unet.WeightBytes} B vs FP16 {unet.Fp16Bytes} B");
        Assert.InRange(unet.AverageWeightBits, 3.0, 5.0);
    }

    [Fact]
    public void FloatPlan_PageSaysSo_AndShowsMemoryOnly()
    {
        var fp = fixture.Compile(fixture.PathOf("fp"), lockFile: null, progress: null, fixture.Settings(16, 16));
        string html = fixture.PathOf("fp.html");
        ReportGenerator.Run(new ReportRequest(Path.Combine(fixture.PathOf("fp"), "TinyQ.mixdq.plan.json"), html) { Command = "mixdq report" });
        var doc = Parse(html);
        Assert.Contains("floating-point plan", File.ReadAllText(html), StringComparison.Ordinal);
        Assert.DoesNotContain(Named(doc, "g"), g => g.Attribute("data-layer") is not null);
        Assert.Contains(Named(doc, "h2"), h => h.Value == "Budget and memory");
        Assert.Equal(fp.Plan.Totals.WeightBytes, fp.Plan.Layers.Sum(l => l.WeightBytes));
    }

    [Fact]
    public void LockOfAnotherModel_IsMixdq079()
    {
        string other = fixture.PathOf("other.lock.json");
        File.WriteAllText(other, File.ReadAllText(LockPath).Replace(fixture.Result.Plan.InputHash, "sha256:" + new string('0', 64), StringComparison.Ordinal));
        var e = Assert.Throws<MixDQException>(() => ReportGenerator.Run(Request("x.html", images: false) with { LockPath = other }));
        Assert.Equal(ErrorCodes.ReportInputsMismatch, e.Code);
        Assert.False(File.Exists(fixture.PathOf("x.html")));
    }

    [Fact]
    public void ModelFolderOfAnotherModel_IsMixdq079()
    {
        string shapes = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");
        var e = Assert.Throws<MixDQException>(() => ReportGenerator.Run(Request("y.html") with { ModelDirectory = shapes }));
        Assert.Equal(ErrorCodes.ReportInputsMismatch, e.Code);
    }

    [Fact]
    public void PlanWithoutItsArtifact_WithModel_IsAnErrorNamingTheArtifact_AndWritesNoPage()
    {
        string dir = fixture.PathOf("lonely");
        Directory.CreateDirectory(dir);
        string plan = Path.Combine(dir, "TinyQ.mixdq.plan.json");
        File.Copy(PlanPath, plan);
        var e = Assert.Throws<MixDQException>(() => ReportGenerator.Run(Request("lonely.html") with { PlanPath = plan }));
        output.WriteLine(e.ToDiagnosticLine());
        Assert.Contains("TinyQ.mixdq.safetensors", e.ToDiagnosticLine(), StringComparison.Ordinal);
        Assert.False(File.Exists(fixture.PathOf("lonely.html")));
    }

    [Fact]
    public void TruncatedLock_IsMixdq078_FromTheCli()
    {
        string broken = fixture.PathOf("broken.lock.json");
        string text = File.ReadAllText(LockPath);
        File.WriteAllText(broken, text[..(text.Length / 2)]);
        var o = new StringWriter();
        var err = new StringWriter();
        int code = CliApp.Run(["report", "--plan", PlanPath, "--lock", broken, "--out", fixture.PathOf("z.html")], o, err);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.StartsWith($"error {ErrorCodes.ReportLockInvalid}", err.ToString(), StringComparison.Ordinal);
        Assert.Contains("broken.lock.json", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void BadPlan_IsMixdq060_FromTheCli()
    {
        string plan = fixture.PathOf("bad.plan.json");
        File.WriteAllText(plan, File.ReadAllText(PlanPath).Replace("\"weightBits\":4", "\"weightBits\":5", StringComparison.Ordinal));
        var err = new StringWriter();
        int code = CliApp.Run(["report", "--plan", plan, "--out", fixture.PathOf("w.html")], new StringWriter(), err);
        Assert.Equal(CliApp.ExitBadInput, code);
        Assert.StartsWith($"error {ErrorCodes.PlanInvalid}", err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void CompileWithReportTrue_WritesThePageBesideThePlan_OffByDefault()
    {
        string[] Args(string dir) =>
        [
            "--model", TinyModel.Directory, "--class", "TinyQ", "--out", dir, "--weight-bits", "4", "--activation-bits", "8",
            "--calibration-prompts", fixture.Prompts, "--calibration-count", "2", "--sensitivity-prompts", "1", "--lock", Path.Combine(dir, "TinyQ.mixdq.lock.json"),
        ];
        foreach (string dir in new[] { fixture.PathOf("on"), fixture.PathOf("off") })
        {
            Directory.CreateDirectory(dir);
            File.Copy(LockPath, Path.Combine(dir, "TinyQ.mixdq.lock.json")); // the analysis is read back, not rerun
        }
        var err = new StringWriter();
        Assert.Equal(CommandLine.CompileCommandLine.ExitOk, CommandLine.CompileCommandLine.Run([.. Args(fixture.PathOf("on")), "--report", "true"], new StringWriter(), err));
        Assert.Equal(CommandLine.CompileCommandLine.ExitOk, CommandLine.CompileCommandLine.Run(Args(fixture.PathOf("off")), new StringWriter(), err));
        string page = Path.Combine(fixture.PathOf("on"), "TinyQ.mixdq.report.html");
        Assert.True(File.Exists(page), err.ToString());
        Assert.False(File.Exists(Path.Combine(fixture.PathOf("off"), "TinyQ.mixdq.report.html")));
        Assert.Equal(fixture.Result.Plan.Layers.Count, Named(Parse(page), "g").Count(g => g.Attribute("data-layer") is not null));
        Assert.Contains("mixdq report --plan TinyQ.mixdq.plan.json --lock TinyQ.mixdq.lock.json", File.ReadAllText(page), StringComparison.Ordinal);

        var bad = new StringWriter();
        Assert.Equal(CommandLine.CompileCommandLine.ExitBadInput, CommandLine.CompileCommandLine.Run([.. Args(fixture.PathOf("off")), "--report", "yes"], new StringWriter(), bad));
        Assert.StartsWith($"error {ErrorCodes.MetadataInvalid}", bad.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", "down_blocks.1", "attentions.0", "transformer_blocks.0.attn2.to_k")]
    [InlineData("mid_block.resnets.1.conv2", "mid_block", "resnets.1", "conv2")]
    [InlineData("conv_in", "conv_in", "", "conv_in")]
    [InlineData("time_embedding.linear_1", "time_embedding", "", "linear_1")]
    [InlineData("up_blocks.0.upsamplers.0.conv", "up_blocks.0", "upsamplers.0", "conv")]
    [InlineData("text_model.encoder.layers.3.self_attn.q_proj", "text_model.encoder.layers.3", "self_attn", "q_proj")]
    [InlineData("decoder.mid_block.attentions.0.to_q", "decoder.mid_block", "attentions.0", "to_q")]
    public void BlockLayout_FollowsTheModulePath(string path, string block, string module, string local) =>
        Assert.Equal((block, module, local), BlockLayout.Split(path));
}
