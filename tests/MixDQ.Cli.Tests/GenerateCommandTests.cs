using MixDQ.Runtime.Models;
using MixDQ.Runtime.Imaging;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;
using MixDQ.Tests;

namespace MixDQ.Cli.Tests;

public class GenerateCommandTests(TinyModelsFixture models) : IClassFixture<TinyModelsFixture>
{
    [Theory]
    [InlineData(ModelFamily.StableDiffusion)]
    [InlineData(ModelFamily.StableDiffusionXL)]
    public void Generate_writes_a_png_with_its_settings_in_text_chunks(ModelFamily family)
    {
        using var tmp = RepoPaths.NewTempDir();
        string png = tmp.File("out.png");
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Folder(family), "--prompt", "a red circle", "--seed", "7", "--steps", "2", "--out", png);
        Assert.True(exit == 0, err);
        var (rgb, w, h) = PngFile.Read(png);
        Assert.Equal((16, 16), (w, h));
        Assert.Equal(16 * 16 * 3, rgb.Length);
        var text = PngFile.ReadTextChunks(File.ReadAllBytes(png)).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("a red circle", text["prompt"]);
        Assert.Equal("7", text["seed"]);
        Assert.Equal("2", text["steps"]);
        Assert.Contains("unet", err); // progress display
    }

    [Fact]
    public void Missing_model_folder_is_MIXDQ020_and_no_output()
    {
        using var tmp = RepoPaths.NewTempDir();
        string png = tmp.File("out.png");
        var (exit, _, err) = CliHarness.Run("generate", "--model", tmp.File("nope"), "--prompt", "x", "--out", png);
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ020", err.Trim());
        Assert.DoesNotContain("   at ", err);
        Assert.False(File.Exists(png));
    }

    [Fact]
    public void Unwritable_output_is_MIXDQ051_and_leaves_nothing()
    {
        using var tmp = RepoPaths.NewTempDir();
        string png = Path.Combine(tmp.Path, "no-such-dir", "out.png");
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--out", png);
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ051", err.Trim());
        Assert.Empty(Directory.GetFiles(tmp.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Folder_that_is_not_a_diffusers_model_is_MIXDQ026()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, _, err) = CliHarness.Run("generate", "--model", tmp.Path, "--prompt", "x", "--out", tmp.File("o.png"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ026", err.Trim());
    }

    [Fact]
    public void Prompt_longer_than_77_tokens_is_truncated_with_a_warning_and_still_generates()
    {
        using var tmp = RepoPaths.NewTempDir();
        string prompt = string.Join(" ", Enumerable.Repeat("a red circle and a blue square", 20));
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", prompt, "--out", tmp.File("o.png"));
        Assert.Equal(0, exit);
        Assert.Contains("warning MIXDQ042", err);
        Assert.True(File.Exists(tmp.File("o.png")));
    }

    [Fact]
    public void Empty_prompt_generates()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "", "--out", tmp.File("o.png"));
        Assert.True(exit == 0, err);
    }

    [Theory]
    [InlineData("--steps", "0")]
    [InlineData("--width", "15")]
    [InlineData("--decoder", "jpeg")]
    [InlineData("--seed", "abc")]
    public void Bad_arguments_exit_2_with_a_code(string option, string value)
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", option, value, "--out", tmp.File("o.png"));
        Assert.Equal(2, exit);
        Assert.Matches("^error MIXDQ0\\d\\d: ", err);
        Assert.False(File.Exists(tmp.File("o.png")));
    }

    [Fact]
    public void Device_cpu_runs_the_cpu_backend()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, output, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--steps", "1", "--device", "cpu", "--out", tmp.File("o.png"));
        Assert.True(exit == 0, err);
        Assert.Contains("cpu backend", output);
    }

    [Fact]
    public void Device_cuda_without_a_gpu_is_MIXDQ057_before_any_work()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, output, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--steps", "1", "--device", "cuda", "--out", tmp.File("o.png"));
        if (MixDQ.Runtime.Backends.MixDQDevice.IsCudaAvailable)
        {
            // On a GPU machine the same command runs the ILGPU backend.
            Assert.True(exit == 0, err);
            Assert.Contains("ilgpu-cuda backend", output);
            return;
        }
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ057", err.Trim());
        Assert.Contains("cuda", err);
        Assert.DoesNotContain("   at ", err);
        Assert.False(File.Exists(tmp.File("o.png")));
    }

    [Fact]
    public void Unknown_device_is_MIXDQ050()
    {
        using var tmp = RepoPaths.NewTempDir();
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--device", "tpu", "--out", tmp.File("o.png"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ050", err.Trim());
        Assert.Contains("cpu, cuda or auto", err);
    }

    [Theory]
    [InlineData(ModelFamily.StableDiffusion)]
    [InlineData(ModelFamily.StableDiffusionXL)]
    public void Dump_writes_the_documented_tensors(ModelFamily family)
    {
        using var tmp = RepoPaths.NewTempDir();
        string dump = tmp.File("dump");
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Folder(family), "--prompt", "a cat", "--dump", dump, "--out", tmp.File("o.png"));
        Assert.True(exit == 0, err);
        Assert.Equal([1, 77, family == ModelFamily.StableDiffusion ? 32 : 64], Npy.Read(Path.Combine(dump, "ctx.npy")).Shape);
        Assert.Equal(family == ModelFamily.StableDiffusionXL, File.Exists(Path.Combine(dump, "pooled.npy")));
        if (family == ModelFamily.StableDiffusionXL) Assert.Equal([1, 32], Npy.Read(Path.Combine(dump, "pooled.npy")).Shape);
        Assert.Equal([1, 4, 8, 8], Npy.Read(Path.Combine(dump, "eps.npy")).Shape);
        Assert.Equal([1, 4, 8, 8], Npy.Read(Path.Combine(dump, "latents.npy")).Shape);
        var image = Npy.Read(Path.Combine(dump, "image.npy"));
        Assert.Equal(DType.U8, image.DType);
        Assert.Equal([16, 16, 3], image.Shape);
        var (rgb, _, _) = PngFile.Read(tmp.File("o.png"));
        Assert.Equal(rgb, image.Bytes);
    }

    [Fact]
    public void Given_latents_make_one_step_generation_independent_of_the_seed()
    {
        using var tmp = RepoPaths.NewTempDir();
        var latents = Tensor.Zeros(1, 4, 8, 8);
        var rng = new Random(3);
        for (int i = 0; i < latents.Length; i++) latents.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        string npy = tmp.File("latents.npy");
        Npy.WriteFloat32(npy, latents);
        string st = tmp.File("latents.safetensors");
        SafetensorsWriter.WriteTensors(st, new Dictionary<string, Tensor> { ["latents"] = latents });

        byte[] Gen(string file, int seed, string name)
        {
            var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--latents", file, "--seed", seed.ToString(), "--steps", "1", "--out", tmp.File(name));
            Assert.True(exit == 0, err);
            return PngFile.Read(tmp.File(name)).Rgb;
        }
        // Values k/8 are exact in float16, so an F16 .npy must give the same image as the F32 one.
        for (int i = 0; i < latents.Length; i++) latents.Data[i] = MathF.Round(latents.Data[i] * 8) / 8;
        Npy.WriteFloat32(npy, latents);
        SafetensorsWriter.WriteTensors(st, new Dictionary<string, Tensor> { ["latents"] = latents });
        string npy16 = tmp.File("latents16.npy");
        Npy.WriteFloat16(npy16, latents);
        var a = Gen(npy, 1, "a.png");
        Assert.Equal(a, Gen(npy16, 1, "e.png"));
        Assert.Equal(a, Gen(npy, 1, "b.png"));
        Assert.Equal(a, Gen(npy, 99, "c.png"));
        Assert.Equal(a, Gen(st, 5, "d.png"));
    }

    [Fact]
    public void Latents_that_disagree_with_width_are_MIXDQ052()
    {
        using var tmp = RepoPaths.NewTempDir();
        Npy.WriteFloat32(tmp.File("l.npy"), Tensor.Zeros(1, 4, 8, 8));
        var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--latents", tmp.File("l.npy"), "--width", "32", "--out", tmp.File("o.png"));
        Assert.Equal(2, exit);
        Assert.StartsWith("error MIXDQ052", err.Trim());
    }

    [Fact]
    public void Latents_with_wrong_channel_count_or_rank_are_MIXDQ052()
    {
        using var tmp = RepoPaths.NewTempDir();
        Npy.WriteFloat32(tmp.File("l3.npy"), Tensor.Zeros(1, 3, 8, 8));
        Npy.WriteFloat32(tmp.File("l2.npy"), Tensor.Zeros(4, 8));
        foreach (var f in new[] { "l3.npy", "l2.npy" })
        {
            var (exit, _, err) = CliHarness.Run("generate", "--model", models.Sd, "--prompt", "x", "--latents", tmp.File(f), "--out", tmp.File("o.png"));
            Assert.Equal(2, exit);
            Assert.StartsWith("error MIXDQ052", err.Trim());
        }
        Assert.False(File.Exists(tmp.File("o.png")));
    }
}
