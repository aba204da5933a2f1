using MixDQ.Compiler.CommandLine;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Tests;

namespace MixDQ.Compiler.Tests;

public sealed class CommandLineTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CompileCommandLine.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Success_PrintsProgressAndSummary_AndWritesBothFiles()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (code, stdout, stderr) = Run("compile", "--model", TinyModel.Directory, "--class", "Tiny", "--out", tmp.Path);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("mixdq: hashing unet/diffusion_pytorch_model.safetensors", stdout, StringComparison.Ordinal);
        Assert.Contains("mixdq: compiled Tiny: ", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(tmp.File("Tiny.mixdq.plan.json")));
        Assert.True(File.Exists(tmp.File("Tiny.mixdq.safetensors")));
    }

    [Fact]
    public void BadInput_IsOneDiagnosticLineWithCodeAndHint_Exit1()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (code, _, stderr) = Run("--model", tmp.File("missing"), "--class", "Tiny", "--out", tmp.Path);
        Assert.Equal(CompileCommandLine.ExitBadInput, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error {ErrorCodes.ModelFolderMissing}: ", line, StringComparison.Ordinal);
        Assert.Contains("Fix: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void NonNumericBits_Is063()
    {
        var (code, _, stderr) = Run("--model", "m", "--class", "Tiny", "--out", "o", "--weight-bits", "5.5x");
        Assert.Equal(CompileCommandLine.ExitBadInput, code);
        Assert.StartsWith($"error {ErrorCodes.MetadataInvalid}: WeightBits '5.5x' is not a number", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void IntegerBits_WithoutCalibrationPrompts_Is069()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (code, _, stderr) = Run("--model", TinyModel.Directory, "--class", "Tiny", "--out", tmp.Path, "--weight-bits=4", "--activation-bits=8");
        Assert.Equal(CompileCommandLine.ExitBadInput, code);
        Assert.StartsWith($"error {ErrorCodes.CalibrationPromptsInvalid}: integer bits need calibration prompts", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--model")]
    [InlineData("--bogus", "x")]
    [InlineData("--class", "A")]
    public void Usage_Is050_Exit2(params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(CompileCommandLine.ExitUsage, code);
        Assert.StartsWith($"error {ErrorCodes.InvalidArgument}: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MixdqCompile_RunsTheSameCommand_WithTheCliExitCodes()
    {
        using var tmp = RepoPaths.NewTempDir();
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(MixDQ.Cli.CliApp.ExitOk, MixDQ.Cli.CliApp.Run(["compile", "--model", TinyModel.Directory, "--class", "ViaCli", "--out", tmp.Path], o, e));
        Assert.True(File.Exists(tmp.File("ViaCli.mixdq.plan.json")));
        Assert.Contains("mixdq: compiled ViaCli: ", o.ToString(), StringComparison.Ordinal);

        var err = new StringWriter();
        Assert.Equal(MixDQ.Cli.CliApp.ExitBadInput,
            MixDQ.Cli.CliApp.Run(["compile", "--model", TinyModel.Directory, "--class", "ViaCli", "--out", tmp.Path, "--weight-bits", "5.5x"], new StringWriter(), err));
        Assert.StartsWith($"error {ErrorCodes.MetadataInvalid}: ", err.ToString(), StringComparison.Ordinal);
    }
}
