using MixDQ.Evaluation.TinyShapes;
using MixDQ.Tests;

namespace MixDQ.Evaluation.Tests;

/// <summary>
/// Checks the layout of the PyTorch golden file the runtime tests compare against (the runtime comparisons
/// themselves belong to the runtime's tests): every documented tensor, dtype and shape, and the documented
/// relations between tensors that need no model to verify.
/// </summary>
public class GoldenModelFileTests
{
    private static readonly GoldenFile Golden = new(Path.Combine(RepoPaths.Root, "tests", "golden", "tiny-shapes-golden.safetensors"));

    [Theory]
    [InlineData("prompt_ids", "I32", new[] { 1, 77 })]
    [InlineData("text_hidden", "F32", new[] { 1, 77, 64 })]
    [InlineData("unet_sample_in", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("unet_timestep", "F32", new[] { 1 })]
    [InlineData("unet_out", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("unet2_sample_in", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("unet2_timestep", "F32", new[] { 1 })]
    [InlineData("unet2_out", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("vae_latents_in", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("vae_image_out", "F32", new[] { 1, 3, 64, 64 })]
    [InlineData("pipe_init_noise", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("pipe_steps", "I32", new[] { 1 })]
    [InlineData("pipe_final_latents", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("pipe_image", "U8", new[] { 64, 64, 3 })]
    [InlineData("pipe1_final_latents", "F32", new[] { 1, 4, 16, 16 })]
    [InlineData("pipe1_image", "U8", new[] { 64, 64, 3 })]
    public void Golden_tensor_has_the_documented_dtype_and_shape(string name, string dtype, int[] shape)
    {
        Assert.Equal(dtype, Golden.DType(name));
        Assert.Equal(shape, Golden.Shape(name));
    }

    [Fact]
    public void Prompt_ids_are_bos_text_eos_padding_and_the_prompt_is_in_the_grammar()
    {
        var ids = Golden.I32("prompt_ids");
        Assert.Equal(49406, ids[0]);
        int eos = Array.IndexOf(ids, 49407);
        Assert.True(eos > 1);
        Assert.All(ids[eos..], id => Assert.Equal(49407, id));
        Assert.All(ids[1..eos], id => Assert.InRange(id, 0, 49405));
        Assert.True(TinyShapesGrammar.Parse(Golden.Metadata["prompt"]).IsFullySpecified);
    }

    [Fact]
    public void Timesteps_steps_and_noise_follow_the_documented_conventions()
    {
        Assert.Equal(999f, Golden.F32("unet_timestep")[0]);
        Assert.Equal(499f, Golden.F32("unet2_timestep")[0]);
        Assert.Equal(4, Golden.I32("pipe_steps")[0]);
        Assert.Equal("4", Golden.Metadata["pipe_steps"]);
        Assert.Equal("1", Golden.Metadata["pipe1_steps"]);
        // Standard normal init noise; the first-step UNet input is noise * sigma / sqrt(sigma^2 + 1) with
        // sigma = 14.6146, i.e. also of roughly unit variance.
        Assert.InRange(Golden.F32("pipe_init_noise").Select(v => (double)v * v).Average(), 0.7, 1.3);
        Assert.InRange(Golden.F32("unet_sample_in").Select(v => (double)v * v).Average(), 0.7, 1.3);
        Assert.True(float.Parse(Golden.Metadata["scaling_factor"], System.Globalization.CultureInfo.InvariantCulture) > 0);
    }
}
