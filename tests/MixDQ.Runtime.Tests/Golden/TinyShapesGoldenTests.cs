using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;
using MixDQ.Tests;
using Xunit.Abstractions;

namespace MixDQ.Runtime.Tests.Golden;

/// <summary>
/// The cross-check of the C# FP32 runtime against PyTorch: tools/tiny-shapes/golden.py runs the shipped
/// TinyShapes model in PyTorch for fixed inputs and stores every intermediate; each module here must match
/// within 10x of the error the runtime achieves (relative to the output's max magnitude: 3e-7 to 2.6e-6 measured),
/// and final images within 1/255. The compiled FP16 path has its own golden test (MixDQ.Generators.Tests).
/// </summary>
public sealed class TinyShapesGoldenTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private static readonly string ModelDir = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");
    private static readonly string GoldenPath = Path.Combine(RepoPaths.Root, "tests", "golden", "tiny-shapes-golden.safetensors");

    private readonly SafetensorsFile _golden = SafetensorsFile.Open(GoldenPath);
    private readonly IComputeBackend _backend = new CpuBackend();
    private readonly ModelComponents _model;

    public TinyShapesGoldenTests(ITestOutputHelper output)
    {
        _output = output;
        _model = ModelComponents.Load(ModelDir, _backend, new PipelineLoadOptions { Backend = _backend });
    }

    public void Dispose()
    {
        _model.Dispose();
        _golden.Dispose();
    }

    private Tensor G(string name) => _golden.ReadFloat32(name);

    private string Meta(string key) => _golden.Metadata[key];

    [Fact]
    public void Tokenizer_matches_pytorch_ids()
    {
        var ids = G("prompt_ids").Data.Select(v => (int)v).ToArray();
        Assert.Equal(ids, ClipTokenizer.FromFolder(Path.Combine(ModelDir, "tokenizer")).Encode(Meta("prompt")).Ids);
    }

    [Fact]
    public void Text_encoder_matches_pytorch()
    {
        var ids = G("prompt_ids").Data.Select(v => (int)v).ToArray();
        AssertClose(G("text_hidden"), _model.TextEncoder.Forward(ids, 1, -1).Hidden, "text_encoder", 3e-6);
    }

    [Theory]
    [InlineData("unet")]
    [InlineData("unet2")]
    public void Unet_matches_pytorch(string call)
    {
        var timestep = G(call + "_timestep").Data[0];
        var output = _model.Unet.Forward(G(call + "_sample_in"), timestep, G("text_hidden"));
        AssertClose(G(call + "_out"), output, call, 1e-5);
    }

    [Fact]
    public void Vae_decoder_matches_pytorch()
    {
        var z = VaeLatents.ToDecoderInput(G("vae_latents_in"), _model.VaeConfig);
        AssertClose(G("vae_image_out"), _model.Vae.Decode(z), "vae", 2.5e-5);
    }

    [Theory]
    [InlineData("pipe")]
    [InlineData("pipe1")]
    public void Pipeline_from_pytorch_noise_reproduces_pytorch_image(string run)
    {
        int steps = int.Parse(Meta(run + "_steps"), System.Globalization.CultureInfo.InvariantCulture);
        using var tmp = RepoPaths.NewTempDir();
        using var pipeline = DiffusionPipeline.Load(ModelDir, new PipelineLoadOptions { Backend = _backend });
        var image = pipeline.Generate(Meta("prompt"), new GenerationOptions
        {
            InitialLatents = G("pipe_init_noise"),
            Steps = steps,
            DumpDirectory = tmp.Path,
        });
        AssertClose(G(run + "_final_latents"), Npy.Read(Path.Combine(tmp.Path, "latents.npy")).ToFloat32(), run + " latents", 1.2e-5);

        var expected = _golden.GetRawBytes(run + "_image").ToArray();
        Assert.Equal(expected.Length, image.Rgb.Length);
        int maxDiff = 0, differing = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(expected[i] - image.Rgb[i]);
            maxDiff = Math.Max(maxDiff, d);
            if (d > 0) differing++;
        }
        _output.WriteLine($"{run}: max |C# − PyTorch| {maxDiff}/255, {differing}/{expected.Length} channel values differ");
        // Latents within ~1e-6 can still round a channel value the other way: at most 1/255, rarely.
        Assert.True(maxDiff <= 1 && differing <= expected.Length / 100, $"{run}: max difference {maxDiff}/255, {differing} values differ");
    }

    /// <summary>Max |C# − PyTorch| within <paramref name="relativeTolerance"/> of max |PyTorch|: per module, within 10x of what the runtime achieves (measured errors printed).</summary>
    private void AssertClose(Tensor expected, Tensor actual, string what, double relativeTolerance)
    {
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        double maxRef = expected.Data.Max(v => Math.Abs((double)v));
        double maxErr = 0;
        for (int i = 0; i < expected.Length; i++) maxErr = Math.Max(maxErr, Math.Abs((double)expected.Data[i] - actual.Data[i]));
        _output.WriteLine($"{what}: max |C# − PyTorch| = {maxErr:G3} = {maxErr / maxRef:G3} × max |PyTorch| ({maxRef:G4})");
        Assert.True(maxErr <= relativeTolerance * maxRef, $"{what}: max |C# − PyTorch| = {maxErr:G4} > {relativeTolerance} × {maxRef:G4}");
    }
}
