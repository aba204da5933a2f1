using MixDQ.Runtime.Models;
using MixDQ.Runtime.Pipelines;
using MixDQ.Tests;

namespace MixDQ.Cli.Tests;

public class TokenizeInspectTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    [Fact]
    public void Tokenize_prints_one_77_id_array_per_tokenizer()
    {
        var (exit, sd, _) = CliHarness.Run("tokenize", "--model", models.Sd, "--prompt", "a photo of a cat");
        Assert.Equal(0, exit);
        var lines = sd.Trim().Split('\n');
        Assert.Single(lines);
        var ids = System.Text.Json.JsonSerializer.Deserialize<int[]>(lines[0])!;
        Assert.Equal(77, ids.Length);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407, 0], ids[..8]); // SD-2 style pad "!" = 0

        var (exit2, xl, _) = CliHarness.Run("tokenize", "--model", models.Sdxl, "--prompt", "a photo of a cat");
        Assert.Equal(0, exit2);
        var xlLines = xl.Trim().Split('\n');
        Assert.Equal(2, xlLines.Length);
        Assert.Equal(49407, System.Text.Json.JsonSerializer.Deserialize<int[]>(xlLines[0])![7]); // tokenizer pads with EOS
        Assert.Equal(0, System.Text.Json.JsonSerializer.Deserialize<int[]>(xlLines[1])![7]);     // tokenizer_2 pads with "!"
    }

    [Fact]
    public void Inspect_folder_lists_components_and_totals()
    {
        var (exit, o, err) = CliHarness.Run("inspect", models.Sdxl);
        Assert.True(exit == 0, err);
        Assert.Contains("StableDiffusionXLPipeline", o);
        foreach (var c in new[] { "unet/", "vae/", "text_encoder/", "text_encoder_2/", "tokenizer_2/", "scheduler/" }) Assert.Contains(c, o);
        Assert.Contains("parameters", o);
        Assert.Contains("F32", o);
        Assert.Contains("text_encoder_2/ CLIPTextModelWithProjection", o);
    }

    [Fact]
    public void Inspect_file_reports_counts()
    {
        var (exit, o, _) = CliHarness.Run("inspect", Path.Combine(models.Sd, "vae", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(0, exit);
        Assert.Matches(@"\d+ tensors, [\d,]+ parameters", o);
    }

    [Fact]
    public void Inspect_corrupted_file_is_an_error_with_code()
    {
        using var tmp = RepoPaths.NewTempDir();
        File.WriteAllBytes(tmp.File("bad.safetensors"), [1, 2, 3]);
        var (exit, _, err) = CliHarness.Run("inspect", tmp.File("bad.safetensors"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ001", err.Trim());
        Assert.Contains("bad.safetensors", err);
    }

    [Fact]
    public void Unknown_command_exits_2()
    {
        var (exit, _, err) = CliHarness.Run("frobnicate");
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ050", err.Trim());
    }
}
