using System.Globalization;
using MixDQ.Runtime.Imaging;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.EndToEnd.Tests;

/// <summary>
/// Builds fresh consumer projects against the packed MixDQ.Sdk, as a user would: restore from a feed,
/// MixDQModel item, generated class, artifact beside the app, incremental rebuild, clean, publish.
/// </summary>
[Collection(PackedFeedCollection.Name)]
public sealed class SdkEndToEndTests(PackedFeedFixture feed, ITestOutputHelper log)
{
    private static string Item(string path, string extra = "") => $"""    <MixDQModel Include="{path}" ClassName="TinyModel"{extra} />""";

    [Fact]
    public void Build_GeneratesTheClass_CopiesTheArtifact_SkipsWhenUnchanged_AndCleanRemovesEverything()
    {
        using var app = feed.NewConsumer(Item(TinyModel.Directory));

        var first = app.Build();
        Assert.True(first.ExitCode == 0, first.Output);
        log.WriteLine($"clean build (restore included): {first.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("MixDQ: compiled TinyModel: ", first.Output, StringComparison.Ordinal);
        string obj = app.File("obj/Release/net10.0/mixdq");
        string bin = app.File("bin/Release/net10.0");
        Assert.True(File.Exists(Path.Combine(obj, "TinyModel.mixdq.plan.json")));
        Assert.True(File.Exists(Path.Combine(obj, "TinyModel.mixdq.safetensors")));
        Assert.True(File.Exists(Path.Combine(bin, "TinyModel.mixdq.safetensors")));

        // The generated class compiled and its Plan is live data.
        var info = app.RunApp("--", "x.png");
        Assert.Contains("layers=116 weightBytes=483024 hash=sha256:", info.Output, StringComparison.Ordinal);

        var second = app.Build("-v:n");
        Assert.True(second.ExitCode == 0, second.Output);
        log.WriteLine($"no-op rebuild: {second.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("Skipping target \"MixDQCompileModels\" because all output files are up-to-date", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("MixDQ: compiling", second.Output, StringComparison.Ordinal);

        // A metadata change is an input change: the compiler runs again.
        File.WriteAllText(app.ProjectFile, File.ReadAllText(app.ProjectFile).Replace("ClassName=\"TinyModel\"", "ClassName=\"TinyModel\" Steps=\"2\"", StringComparison.Ordinal));
        var third = app.Build();
        Assert.True(third.ExitCode == 0, third.Output);
        Assert.Contains("MixDQ: compiled TinyModel: ", third.Output, StringComparison.Ordinal);

        var publish = app.Dotnet("publish", "-c", "Release", "-o", app.File("pub"));
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.True(File.Exists(app.File("pub/TinyModel.mixdq.safetensors")));

        var clean = app.Dotnet("clean", "-c", "Release");
        Assert.True(clean.ExitCode == 0, clean.Output);
        Assert.False(Directory.Exists(obj) && Directory.EnumerateFiles(obj, "*", SearchOption.AllDirectories).Any(), "obj/…/mixdq still has files");
        var left = Directory.EnumerateFiles(app.Directory, "*.mixdq.*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(app.File("pub"), StringComparison.Ordinal)).ToList();
        Assert.True(left.Count == 0, "left after clean: " + string.Join(", ", left));
    }

    [Fact]
    public void MixDQReportTrue_WritesTheReportBesideThePlan()
    {
        using var app = feed.NewConsumer(Item(TinyModel.Directory, " MixDQReport=\"true\""));
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.Output);
        string page = app.File("obj/Release/net10.0/mixdq/TinyModel.mixdq.report.html");
        Assert.True(File.Exists(page), build.Output);
        Assert.Contains("MixDQ report: TinyModel", File.ReadAllText(page), StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedApp_WritesAPng()
    {
        using var app = feed.NewConsumer(Item(TinyModel.Directory));
        var build = app.Build();
        Assert.True(build.ExitCode == 0, build.Output);

        string png = app.File("out.png");
        var run = app.RunApp("a red circle at the top left", png);
        Assert.True(run.ExitCode == 0, run.Output);
        // Text encoder, UNet (1 step) and VAE ran the generated straight-line code, and it matches the graph bit for bit.
        Assert.Contains("generated=text_encoder,unet,vae calls=3 graphCalls=0 identical=True", run.Output, StringComparison.Ordinal);
        var (rgb, width, height) = PngFile.Read(png);
        Assert.True(width > 0 && height > 0);
        Assert.Equal(width * height * 3, rgb.Length);
    }

    [Fact]
    public void SeveralModels_AllGenerated_DefaultsApply_AndTheAnalysisRunsOnceThenComesFromTheLock()
    {
        string prompts = Path.Combine(Path.GetTempPath(), "mixdq-e2e-prompts-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        File.WriteAllLines(prompts, ["a red circle", "a blue square on a green background"]);
        string items = string.Join("\n",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="Plain" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="Quantized" WeightBits="4" ActivationBits="8" Namespace="Consumer.Models" CalibrationPrompts="{prompts}" CalibrationPromptCount="2" SensitivityPrompts="1" WeightCandidates="4,8" ActivationCandidates="8" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" />""");
        // The third item takes every default: ClassName from the folder name (tiny-random → TinyRandom), 16 bits, 1 step.
        using var app = feed.NewConsumer(items, """
            var q = Consumer.Models.Quantized.Plan;
            var unet = q.Layers.Where(l => l.Component == "unet").ToList();
            Console.WriteLine($"{Consumer.Plain.Plan.LayerCount} {q.RequestedWeightBits} {q.Layers[0].Precision} {Consumer.TinyRandom.Plan.RequestedWeightBits} {Consumer.TinyRandom.Plan.Steps} {q.Method} " +
                $"{unet.All(l => l.Precision.WeightBits <= 8 && l.WeightScheme == "sym" && l.Sensitivity is not null)} {unet.Any(l => l.BosRow)} {q.WeightBytes < Consumer.Plain.Plan.WeightBytes}");
            """);

        var build = app.Build("-v:n");
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Contains("MixDQ: analysis: sensitivity 100%", build.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(app.File("Quantized.mixdq.lock.json")), "the lock file sits beside the project, to be committed");

        var run = app.RunApp();
        Assert.Equal("116 4 FP16 16 1 mixdq True True True", run.Output.Trim());
        File.Delete(prompts);
    }

    [Fact]
    public void BadMetadata_IsOneErrorPerItem_WithCodeLineAndFix()
    {
        string notAFolder = Path.Combine(Path.GetTempPath(), "mixdq-no-such-model-" + Guid.NewGuid().ToString("N")[..8]);
        string items = string.Join("\n",
            $"""    <MixDQModel Include="{notAFolder}" ClassName="Missing" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="BadBits" WeightBits="5.5x" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="9Lives" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="Twice" />""",
            $"""    <MixDQModel Include="{TinyModel.Directory}" ClassName="Twice" Steps="2" />""");
        using var app = feed.NewConsumer(items, "Console.WriteLine();");

        var build = app.Build();
        Assert.NotEqual(0, build.ExitCode);
        var errors = ConsumerProject.Errors(build.Output);
        log.WriteLine(string.Join("\n", errors));

        void Expect(string code, string lineText, string fix)
        {
            var e = Assert.Single(errors, x => x.Code == code);
            Assert.Equal(app.ProjectFile, e.File);
            Assert.Equal(app.LineOf(lineText), e.Line);
            Assert.Contains("Fix: " + fix, e.Message, StringComparison.Ordinal);
        }
        Expect("MIXDQ020", "ClassName=\"Missing\"", "set Include to a diffusers pipeline folder");
        Expect("MIXDQ063", "WeightBits=\"5.5x\"", "set WeightBits to an average from 2 to 8");
        Expect("MIXDQ064", "ClassName=\"9Lives\"", "use letters, digits and '_'");
        Expect("MIXDQ065", "Steps=\"2\"", "give each MixDQModel its own ClassName");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void NotADiffusersFolder_IsMIXDQ026_AtTheItemLine()
    {
        using var tmp = RepoPaths.NewTempDir();
        File.WriteAllText(tmp.File("readme.txt"), "not a model");
        using var app = feed.NewConsumer(Item(tmp.Path), "Console.WriteLine();");

        var build = app.Build();
        Assert.NotEqual(0, build.ExitCode);
        var e = Assert.Single(ConsumerProject.Errors(build.Output));
        Assert.Equal("MIXDQ026", e.Code);
        Assert.Equal(app.LineOf("<MixDQModel"), e.Line);
        Assert.Contains("model_index.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("Fix: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptedSafetensors_IsItsTensorFileCode_AtTheItemLine()
    {
        using var tmp = RepoPaths.NewTempDir();
        string model = TinyModel.CopyTo(tmp.File("model"));
        string unet = Path.Combine(model, "unet", "diffusion_pytorch_model.safetensors");
        byte[] bytes = File.ReadAllBytes(unet);
        File.WriteAllBytes(unet, bytes[..(bytes.Length / 3)]);
        using var app = feed.NewConsumer(Item(model), "Console.WriteLine();");

        var build = app.Build();
        Assert.NotEqual(0, build.ExitCode);
        var e = Assert.Single(ConsumerProject.Errors(build.Output));
        Assert.Equal("MIXDQ005", e.Code);
        Assert.Equal(app.LineOf("<MixDQModel"), e.Line);
        Assert.Contains("diffusion_pytorch_model.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("Fix: the weights file is damaged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PackedSdk_IsSmall_BesidesTheOrToolsNativesOfTheSupportedPlatforms()
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(feed.SdkPackage);
        const string natives = "tools/compiler/runtimes/";
        long other = zip.Entries.Where(e => !e.FullName.StartsWith(natives, StringComparison.Ordinal)).Sum(e => e.CompressedLength);
        long native = zip.Entries.Where(e => e.FullName.StartsWith(natives, StringComparison.Ordinal)).Sum(e => e.CompressedLength);
        log.WriteLine($"package {new FileInfo(feed.SdkPackage).Length} bytes: OR-Tools natives {native}, everything else {other}");
        Assert.True(other < 2 * 1024 * 1024, $"MixDQ.Sdk package without native libraries is {other.ToString(CultureInfo.InvariantCulture)} bytes");
        var platforms = zip.Entries.Where(e => e.FullName.StartsWith(natives, StringComparison.Ordinal))
            .Select(e => e.FullName[natives.Length..].Split('/')[0]).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["linux-x64", "win-x64"], platforms);
        Assert.True(native < 64L * 1024 * 1024, $"OR-Tools natives take {native} bytes");
    }
}
