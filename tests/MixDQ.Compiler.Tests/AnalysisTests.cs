using MixDQ.Compiler.Analysis;
using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Compiler.Plans;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Quantization;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Compiler.Tests;

/// <summary>One W4A8 MixDQ compile of the tiny random model, shared by the tests that read its plan and artifact.</summary>
public sealed class TinyAnalysisFixture : IDisposable
{
    public TinyAnalysisFixture()
    {
        Prompts = PathOf("prompts.txt");
        File.WriteAllLines(Prompts, ["a red circle", "a blue square on a green background", "a photo of a cat", "two small yellow triangles"]);
        Progress = [];
        Result = Compile(PathOf("a"), lockFile: null, Progress);
    }

    private readonly TempDir _dir = RepoPaths.NewTempDir();

    public string PathOf(string name) => _dir.File(name);

    public string Prompts { get; }

    public List<string> Progress { get; }

    public CompileResult Result { get; }

    public CompileSettings Settings(double w = 4, double a = 8) => new()
    {
        WeightBits = w,
        ActivationBits = a,
        CalibrationPromptsFile = Prompts,
        CalibrationPromptCount = 2,
        SensitivityPromptCount = 1,
    };

    public CompileResult Compile(string outDir, string? lockFile, List<string>? progress, CompileSettings? settings = null) =>
        ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "TinyQ", outDir, (settings ?? Settings()) with { LockFile = lockFile }),
            progress: progress is null ? null : new SyncProgress(progress));

    public void Dispose() => _dir.Dispose();

    private sealed class SyncProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}

public sealed class AnalysisTests(TinyAnalysisFixture fixture, ITestOutputHelper output) : IClassFixture<TinyAnalysisFixture>
{
    private PlanDocument Plan => fixture.Result.Plan;

    [Fact]
    public void W4A8_PlanHasIntegerUnetLayers_AveragingTheTarget_AndFpElsewhere()
    {
        var unet = Plan.Layers.Where(l => l.Component == "unet").ToList();
        Assert.All(unet, l => Assert.Contains(l.WeightBits, new[] { 2, 4, 8 }));
        Assert.All(Plan.Layers.Where(l => l.Component != "unet"), l => Assert.Equal((16, 16), (l.WeightBits, l.ActivationBits)));
        double average = unet.Sum(l => (double)l.Parameters * l.WeightBits) / unet.Sum(l => (double)l.Parameters);
        output.WriteLine($"weight average {average:0.000}; layers {string.Join(" ", unet.GroupBy(l => (l.WeightBits, l.ActivationBits)).Select(g => $"W{g.Key.WeightBits}A{g.Key.ActivationBits}x{g.Count()}"))}");
        // The budget sweep spans [target − 0.3, target] ± 0.02.
        Assert.InRange(average, 3.68, 4.02);
        Assert.All(unet.Where(l => l.Group == Runtime.Compiled.LayerGroup.Quality), l => Assert.True(l.WeightBits >= 4, l.Name));
        Assert.Equal("mixdq", Plan.Settings.Method);
        Assert.All(unet, l => Assert.NotNull(l.Sensitivity));
        Assert.Equal(Plan.Totals.WeightBytes, Plan.Layers.Sum(l => l.WeightBytes));
    }

    [Fact]
    public void Artifact_HoldsEachIntegerLayerInThePlanFormat_AndReadsBackToWhatThePlanSays()
    {
        using var artifact = SafetensorsFile.Open(fixture.Result.ArtifactPath);
        foreach (var l in Plan.Layers.Where(l => l.Quantization is not null))
        {
            string p = l.QualifiedName;
            Assert.False(artifact.Contains(p + ".weight"), p);
            Assert.True(artifact.TryGetInfo(p + ".weight.packed", out var packed));
            long k = l.Parameters / l.WeightShape[0];
            Assert.Equal(new[] { l.WeightShape[0], (int)((k * l.WeightBits + 7) / 8) }, packed.Shape.ToArray());
            Assert.Equal(DType.U8, packed.DType);
            Assert.True(artifact.TryGetInfo(p + ".weight.scale", out var scale));
            Assert.Equal(DType.F32, scale.DType);
            Assert.False(artifact.Contains(p + ".weight.zero_point"), "symmetric weights store no zero point");
            Assert.Equal(l.Quantization!.Bos, artifact.Contains(p + ".bos"));
            Assert.Equal(l.Quantization.Input.Count > 0, artifact.Contains(p + ".input_quant"));
            Assert.Equal(l.WeightShape[0] * ((k * l.WeightBits + 7) / 8) + 4L * l.WeightShape[0], l.WeightBytes);
        }
        var layers = PlanSimulation.ReadIntegerLayers(fixture.Result.PlanPath);
        Assert.Equal(Plan.Layers.Count(l => l.Quantization is not null), layers.Count);
        var split = Plan.Layers.Where(l => l.Quantization?.Input.Count == 2).ToList();
        Assert.NotEmpty(split);
        Assert.All(split, l => Assert.Matches(@"^up_blocks\.\d+\.resnets\.\d+\.(conv1|conv_shortcut)$", l.Name));
    }

    [Fact]
    public void BosRows_EqualTheFpProjectionOfTheBosHiddenState_ForAnyPrompt()
    {
        var layers = PlanSimulation.ReadIntegerLayers(fixture.Result.PlanPath);
        var bosLayers = layers.Where(kv => kv.Value.BosRow is not null).ToList();
        Assert.NotEmpty(bosLayers);
        Assert.All(bosLayers, kv => Assert.Matches(@"attn2\.to_[kv]$", kv.Key));
        using var session = AnalysisSession.Open(TinyModel.Directory, fixture.Settings(), ["x"]);
        double worst = 0;
        foreach (string prompt in new[] { "a red circle", "something completely different, longer and with more words" })
        {
            var context = session.EncodePrompt(prompt);
            var h0 = context.Data.AsSpan(0, context.Dim(2)).ToArray();
            foreach (var (name, q) in bosLayers)
            {
                var sim = session.Backend.Layers[name];
                var expected = QuantizationPass.FloatRow(sim.Weight.Data, sim.Bias?.Data, h0);
                for (int i = 0; i < expected.Length; i++)
                    worst = Math.Max(worst, Math.Abs(expected[i] - q.BosRow![i]));
            }
        }
        output.WriteLine($"max |stored BOS row − FP projection| = {worst:E2}");
        Assert.True(worst < 1e-5, $"BOS rows differ by {worst}");
    }

    [Fact]
    public void SameInputs_GiveTheSamePlanAndArtifact_ByteForByte_AndTheLockIsReused()
    {
        var fresh = fixture.Compile(fixture.PathOf("b"), lockFile: null, progress: null);
        Assert.Equal(File.ReadAllBytes(fixture.Result.PlanPath), File.ReadAllBytes(fresh.PlanPath));
        Assert.Equal(File.ReadAllBytes(fixture.Result.ArtifactPath), File.ReadAllBytes(fresh.ArtifactPath));

        var lines = new List<string>();
        var reused = fixture.Compile(fixture.PathOf("c"), fixture.PathOf("a/TinyQ.mixdq.lock.json"), lines);
        Assert.Contains(lines, l => l.Contains("calibration ranges from the lock file", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("sensitivities from the lock file", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("bit allocation from the lock file", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(fixture.Result.PlanPath), File.ReadAllBytes(reused.PlanPath));
    }

    [Fact]
    public void ChangingOnlyTheTarget_ReusesCalibrationAndSensitivities()
    {
        var lockCopy = fixture.PathOf("d.lock.json");
        File.Copy(fixture.PathOf("a/TinyQ.mixdq.lock.json"), lockCopy, overwrite: true);
        var lines = new List<string>();
        var w8 = fixture.Compile(fixture.PathOf("d"), lockCopy, lines, fixture.Settings(8, 8));
        Assert.Contains(lines, l => l.Contains("sensitivities from the lock file", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("bit allocation from the lock file", StringComparison.Ordinal));
        Assert.All(w8.Plan.Layers.Where(l => l.Component == "unet"), l => Assert.Equal(8, l.WeightBits));
    }

    [Fact]
    public void ChangingOneTarget_ReusesTheOtherTargetsHalfOfTheAllocation_AndGivesTheFreshPlan()
    {
        static List<int> UnetWeightBits(PlanDocument p) => p.Layers.Where(l => l.Component == "unet").Select(l => l.WeightBits).ToList();
        var lockCopy = fixture.PathOf("reuse.lock.json");
        File.Copy(fixture.PathOf("a/TinyQ.mixdq.lock.json"), lockCopy, overwrite: true);

        // Activation target only: the weight pick (made with FP activations) comes back from the lock.
        var lines = new List<string>();
        var w4a16 = fixture.Compile(fixture.PathOf("reuse-w4a16"), lockCopy, lines, fixture.Settings(4, 16));
        Assert.Contains(lines, l => l.Contains("weights: the pick for this weight target from the lock file", StringComparison.Ordinal));
        Assert.Equal(UnetWeightBits(Plan), UnetWeightBits(w4a16.Plan));

        // Weight target only: the activation candidates come back from the lock; the plan is the one a fresh analysis makes.
        lines.Clear();
        var w8a8 = fixture.Compile(fixture.PathOf("reuse-w8a8"), lockCopy, lines, fixture.Settings(8, 8));
        Assert.Contains(lines, l => l.Contains("activations:", StringComparison.Ordinal) && l.Contains("(from the lock file)", StringComparison.Ordinal));
        var fresh = fixture.Compile(fixture.PathOf("fresh-w8a8"), fixture.PathOf("fresh-w8a8.lock.json"), null, fixture.Settings(8, 8));
        Assert.Equal(File.ReadAllBytes(fresh.PlanPath), File.ReadAllBytes(w8a8.PlanPath));
    }

    [Fact]
    public void CorruptLock_OrOneOfAnotherModel_IsIgnoredWithWarning071_AndRecomputed()
    {
        var corrupt = fixture.PathOf("corrupt.lock.json");
        File.WriteAllText(corrupt, "{ not json");
        var a = fixture.Compile(fixture.PathOf("e"), corrupt, null);
        Assert.Contains(a.Warnings, w => w.Code == ErrorCodes.LockFileIgnored && w.Message.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(fixture.Result.PlanPath), File.ReadAllBytes(a.PlanPath));

        var other = fixture.PathOf("other.lock.json");
        File.WriteAllText(other, File.ReadAllText(fixture.PathOf("a/TinyQ.mixdq.lock.json")).Replace(Plan.InputHash, "sha256:" + new string('0', 64), StringComparison.Ordinal));
        var b = fixture.Compile(fixture.PathOf("f"), other, null);
        Assert.Contains(b.Warnings, w => w.Code == ErrorCodes.LockFileIgnored && w.Message.Contains("another model", StringComparison.Ordinal));

        // A cached candidate list with a row that does not fit its layers is not trusted either.
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(fixture.PathOf("a/TinyQ.mixdq.lock.json")))!;
        Assert.NotEmpty(json["candidateLists"]!.AsArray());
        json["candidateLists"]![0]!["widths"]![0] = "8,x";
        var badRow = fixture.PathOf("bad-row.lock.json");
        File.WriteAllText(badRow, json.ToJsonString());
        var c = fixture.Compile(fixture.PathOf("bad-row"), badRow, null);
        Assert.Contains(c.Warnings, w => w.Code == ErrorCodes.LockFileIgnored && w.Message.Contains("missing or non-finite", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(fixture.Result.PlanPath), File.ReadAllBytes(c.PlanPath));
    }

    [Theory]
    [InlineData(9.0, 8.0, "MIXDQ070")]
    [InlineData(1.5, 16.0, "MIXDQ070")]
    [InlineData(16.0, 8.0, "MIXDQ073")]
    [InlineData(4.0, 5.0, "MIXDQ063")]
    public void UnreachableOrContradictoryTargets_AreClearErrors(double w, double a, string code)
    {
        var settings = fixture.Settings(w, a);
        if (code == "MIXDQ063") settings = settings with { ActivationBits = 8, ActivationCandidates = [5] };
        var e = Assert.Throws<MixDQException>(() => fixture.Compile(fixture.PathOf("g"), fixture.PathOf("g.lock.json"), null, settings));
        output.WriteLine(e.ToDiagnosticLine());
        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void NaiveNeedsAWidthAmongTheCandidates()
    {
        var e = Assert.Throws<MixDQException>(() => fixture.Compile(fixture.PathOf("h"), null, null, fixture.Settings(3.66, 16) with { Method = QuantizationMethod.Naive }));
        Assert.Equal(ErrorCodes.BitBudgetUnreachable, e.Code);
        Assert.Contains("naive", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n\n")]
    [InlineData("LONG")]
    public void EmptyOrOverlongPromptFiles_Are069_NamingTheFile(string content)
    {
        var path = fixture.PathOf($"bad-prompts-{content.Length}.txt");
        File.WriteAllText(path, content == "LONG" ? "ok\n" + new string('a', 1001) + "\n" : content);
        var e = Assert.Throws<MixDQException>(() => fixture.Compile(fixture.PathOf("i"), null, null, fixture.Settings() with { CalibrationPromptsFile = path }));
        Assert.Equal(ErrorCodes.CalibrationPromptsInvalid, e.Code);
        Assert.Equal(path, e.File);
        if (content == "LONG") Assert.Equal("line 2", e.Item);
    }

    [Fact]
    public void CancelledAnalysis_StopsWithoutWritingAPlan()
    {
        using var cancel = new CancellationTokenSource();
        var lines = new List<string>();
        // Cancel once the calibration has started (as Ctrl+C in the middle of a build).
        var progress = new CancelOn(lines, l => l.Contains("analysis: calibrate", StringComparison.Ordinal), cancel);
        string outDir = fixture.PathOf("k");
        Assert.ThrowsAny<OperationCanceledException>(() => ModelCompiler.Compile(
            new CompileRequest(TinyModel.Directory, "TinyQ", outDir, fixture.Settings() with { LockFile = fixture.PathOf("k.lock.json") }), progress: progress, cancellationToken: cancel.Token));
        Assert.Contains(lines, l => l.Contains("analysis: calibrate", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(outDir, "TinyQ.mixdq.plan.json")));
        Assert.False(File.Exists(Path.Combine(outDir, "TinyQ.mixdq.safetensors")));
    }

    private sealed class CancelOn(List<string> lines, Func<string, bool> when, CancellationTokenSource cancel) : IProgress<string>
    {
        public void Report(string value)
        {
            lines.Add(value);
            if (when(value)) cancel.Cancel();
        }
    }

    [Fact]
    public void MissingPromptFile_Is069()
    {
        var e = Assert.Throws<MixDQException>(() => fixture.Compile(fixture.PathOf("j"), null, null, fixture.Settings() with { CalibrationPromptsFile = fixture.PathOf("nope.txt") }));
        Assert.Equal(ErrorCodes.CalibrationPromptsInvalid, e.Code);
    }
}
