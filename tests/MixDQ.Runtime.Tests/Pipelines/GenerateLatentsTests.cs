using MixDQ.Runtime.Pipelines;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Pipelines;

/// <summary>GenerateLatents + DecodeLatents is Generate split in two (the analysis screens candidates on latents alone).</summary>
public sealed class GenerateLatentsTests
{
    private static string TinyRandom => Path.Combine(RepoPaths.Root, "samples", "models", "tiny-random");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void LatentsThenDecode_GivesTheImageOfGenerate_ByteForByte(int steps)
    {
        using var pipeline = DiffusionPipeline.Load(TinyRandom);
        var options = new GenerationOptions { Seed = 5, Steps = steps };
        var image = pipeline.Generate("a red circle", options);
        var latents = pipeline.GenerateLatents("a red circle", options);
        var decoded = pipeline.DecodeLatents(latents, "a red circle", options);

        Assert.Equal(new[] { 1, pipeline.LatentChannels, image.Height / pipeline.VaeScaleFactor, image.Width / pipeline.VaeScaleFactor }, latents.ShapeArray());
        Assert.Equal(image.Rgb, decoded.Rgb);
        Assert.Equal(image.Info, decoded.Info);
        // Another seed gives other latents: the test compares something that can differ.
        Assert.NotEqual(latents.Data, pipeline.GenerateLatents("a red circle", options with { Seed = 6 }).Data);
    }
}
