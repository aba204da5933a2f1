using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Compiled.Tracing;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;
using MixDQ.TestModels;
using MixDQ.Tests;

namespace MixDQ.Runtime.Tests.Compiled;

/// <summary>
/// The forward tracer records each network of the tiny SD and SDXL folders as a program; run by
/// <see cref="ProgramExecutor"/> through the pipeline's compiled-forward hooks, the programs must give the
/// graph's image bit for bit, decline other shapes (the graph runs instead), and be well formed.
/// </summary>
public sealed class ForwardTracerTests : IDisposable
{
    private const string Prompt = "a red circle above a blue square";
    private const int ContextLength = 77;

    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    // ---------------------------------------------------------------- compiled forwards in the pipeline

    [Theory]
    [InlineData(ModelFamily.StableDiffusion, 1, null, null)]
    [InlineData(ModelFamily.StableDiffusion, 2, null, null)]
    [InlineData(ModelFamily.StableDiffusionXL, 2, null, null)]
    // Latent 8×11: not square, and the UNet upsamples to the odd skip size rather than 2×.
    [InlineData(ModelFamily.StableDiffusionXL, 1, 22, 16)]
    public void Compiled_forwards_of_traced_programs_give_the_graph_image(ModelFamily family, int steps, int? width, int? height)
    {
        string folder = Folder(family);
        var options = new GenerationOptions { Seed = 1234, Steps = steps, Width = width, Height = height };
        using var graph = DiffusionPipeline.Load(folder);
        var expected = graph.Generate(Prompt, options);

        var backend = new CpuBackend();
        using var compiled = DiffusionPipeline.Load(folder, new PipelineLoadOptions { Backend = backend });
        int f = compiled.VaeScaleFactor;
        var programs = TraceAll(folder, family, (height ?? compiled.DefaultHeight) / f, (width ?? compiled.DefaultWidth) / f);
        var calls = UseCompiled(compiled, backend, programs);
        var actual = compiled.Generate(Prompt, options);

        Assert.Equal(programs.Keys.Order(), compiled.CompiledComponents.Order());
        Assert.Equal(TextEncoderCount(family) + steps + 1, compiled.CompiledForwardCalls);
        Assert.Equal(0, graph.CompiledForwardCalls);
        Assert.All(calls, c => Assert.True(c.Fits, $"{c.Component} declined its own shapes"));
        Assert.Equal(steps, calls.Count(c => c.Component == "unet"));

        Assert.Equal(width ?? TinyPipelineFolders.ImageSize, actual.Width);
        Assert.Equal(height ?? TinyPipelineFolders.ImageSize, actual.Height);
        Assert.True(expected.Rgb.Distinct().Count() > 16, "the reference image is flat: the comparison would prove little");
        Assert.Equal(expected.Rgb, actual.Rgb);
    }

    [Theory]
    [InlineData(ModelFamily.StableDiffusion)]
    [InlineData(ModelFamily.StableDiffusionXL)]
    public void Compiled_forwards_that_decline_other_shapes_leave_them_to_the_graph(ModelFamily family)
    {
        string folder = Folder(family);
        const int steps = 2;
        // Compiled for the default 16×16 image (latent 8×8), asked for 24×16 (latent 8×12).
        var options = new GenerationOptions { Seed = 7, Steps = steps, Width = 24, Height = 16 };
        using var graph = DiffusionPipeline.Load(folder);
        var expected = graph.Generate(Prompt, options);

        var backend = new CpuBackend();
        using var compiled = DiffusionPipeline.Load(folder, new PipelineLoadOptions { Backend = backend });
        var programs = TraceAll(folder, family, compiled.DefaultHeight / compiled.VaeScaleFactor, compiled.DefaultWidth / compiled.VaeScaleFactor);
        var calls = UseCompiled(compiled, backend, programs);
        var actual = compiled.Generate(Prompt, options);

        // The unet and vae forwards were asked and declined; the text encoders (77 tokens either way) ran compiled.
        Assert.Equal(steps, calls.Count(c => c.Component == "unet" && !c.Fits));
        Assert.Equal(1, calls.Count(c => c.Component == "vae" && !c.Fits));
        Assert.All(calls.Where(c => c.Component.StartsWith("text_encoder", StringComparison.Ordinal)), c => Assert.True(c.Fits));
        Assert.Equal(TextEncoderCount(family), compiled.CompiledForwardCalls);

        Assert.Equal(24, actual.Width);
        Assert.Equal(16, actual.Height);
        Assert.Equal(expected.Rgb, actual.Rgb);

        // The same pipeline still runs compiled at the traced size.
        compiled.Generate(Prompt, options with { Width = null, Height = null });
        Assert.Equal(2 * TextEncoderCount(family) + steps + 1, compiled.CompiledForwardCalls);
    }

    [Fact]
    public void UseCompiledForward_takes_only_networks_of_the_pipeline()
    {
        using var sd = DiffusionPipeline.Load(Folder(ModelFamily.StableDiffusion));
        CompiledForward never = (_, _) => throw new InvalidOperationException("not to be called");
        Assert.Throws<ArgumentException>(() => sd.UseCompiledForward("text_encoder_2", never));
        Assert.Throws<ArgumentException>(() => sd.UseCompiledForward("taesd", never));
        Assert.Throws<ArgumentNullException>(() => sd.UseCompiledForward("unet", null!));
        Assert.Empty(sd.CompiledComponents);

        using var xl = DiffusionPipeline.Load(Folder(ModelFamily.StableDiffusionXL));
        xl.UseCompiledForward("text_encoder_2", never);
        Assert.Equal(["text_encoder_2"], xl.CompiledComponents);
    }

    // ---------------------------------------------------------------- program sanity

    [Theory]
    [InlineData(ModelFamily.StableDiffusion)]
    [InlineData(ModelFamily.StableDiffusionXL)]
    public void Unet_program_is_well_formed_uses_each_layer_once_and_has_the_family_inputs(ModelFamily family)
    {
        var cfg = UNet2DConditionConfig.Load(Path.Combine(Folder(family), "unet", "config.json"));
        var program = ForwardTracer.TraceUnet(cfg, 8, 12, ContextLength);

        AssertWellFormed(program);
        AssertLayersUsedOnce(program, UNet2DConditionModel.DescribeLayers(cfg));
        Assert.Equal("unet", program.Component);
        Assert.Equal([1, cfg.OutChannels, 8, 12], OutputShape(program, "sample"));
        Assert.Equal([1, cfg.InChannels, 8, 12], Input(program, "sample").Shape);
        Assert.Equal([1], Input(program, "timesteps").Shape);
        Assert.Equal([1, ContextLength, cfg.CrossAttentionDim.Max()], Input(program, "encoder_hidden_states").Shape);
        Assert.Empty(program.IntInputs);

        var sinusoids = program.Ops.Where(o => o.Op == "timestep_embedding").ToList();
        var timestepSinusoid = Assert.Single(sinusoids, o => o.Args[0] == Input(program, "timesteps").Value);
        Assert.Equal([1, cfg.TimestepInputDim], timestepSinusoid.Shape);
        if (family == ModelFamily.StableDiffusionXL)
        {
            Assert.Equal(["sample", "timesteps", "encoder_hidden_states", "text_embeds", "time_ids"], program.Inputs.Select(i => i.Name));
            Assert.Equal([1, 32], Input(program, "text_embeds").Shape);
            Assert.Equal([1, 6], Input(program, "time_ids").Shape);
            Assert.Equal(2, sinusoids.Count);
            var timeIds = Assert.Single(sinusoids, o => o.Args[0] == Input(program, "time_ids").Value);
            Assert.Equal(cfg.AdditionTimeEmbedDim, (int)timeIds.Attribute("dim")!);
            Assert.Equal([1, 6 * cfg.AdditionTimeEmbedDim!.Value], timeIds.Shape);
            Assert.Contains(program.Ops, o => o.Layer == "add_embedding.linear_1");
        }
        else
        {
            Assert.Equal(["sample", "timesteps", "encoder_hidden_states"], program.Inputs.Select(i => i.Name));
            Assert.Single(sinusoids);
            Assert.DoesNotContain(program.Ops, o => o.Layer?.StartsWith("add_embedding", StringComparison.Ordinal) == true);
        }
    }

    [Fact]
    public void Vae_program_is_well_formed_and_uses_each_layer_once()
    {
        var cfg = AutoencoderKLConfig.Load(Path.Combine(Folder(ModelFamily.StableDiffusion), "vae", "config.json"));
        var program = ForwardTracer.TraceVaeDecoder(cfg, 8, 12);

        AssertWellFormed(program);
        AssertLayersUsedOnce(program, AutoencoderKLDecoder.DescribeLayers(cfg));
        Assert.Equal("latents", Assert.Single(program.Inputs).Name);
        Assert.Equal([1, cfg.LatentChannels, 8, 12], program.Inputs[0].Shape);
        int factor = 1 << (cfg.BlockOutChannels.Count - 1);
        Assert.Equal([1, cfg.OutChannels, 8 * factor, 12 * factor], OutputShape(program, "sample"));
        Assert.Contains(program.Parameters, p => p.Name == "decoder.conv_norm_out.weight");
    }

    [Fact]
    public void Text_encoder_programs_follow_the_hidden_state_index_and_projection()
    {
        string folder = Folder(ModelFamily.StableDiffusionXL);
        var cfg1 = ClipTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"));
        var cfg2 = ClipTextConfig.Load(Path.Combine(folder, "text_encoder_2", "config.json"));
        int last = cfg1.NumHiddenLayers - 1;
        string lastLayer = $"text_model.encoder.layers.{last}.";

        // SD: last_hidden_state, every layer and the final LayerNorm.
        var sd = ForwardTracer.TraceTextEncoder(cfg1, withProjection: false, "text_encoder", ContextLength, -1);
        AssertWellFormed(sd);
        AssertLayersUsedOnce(sd, ClipTextModel.DescribeLayers(cfg1, withProjection: false, "text_encoder"));
        Assert.Equal(["input_ids", "position_ids"], sd.IntInputs.Select(i => i.Name));
        Assert.All(sd.IntInputs, i => Assert.Equal(ContextLength, i.Length));
        Assert.Empty(sd.Inputs);
        Assert.Equal(["hidden_states"], sd.Outputs.Select(o => o.Name));
        Assert.Equal([1, ContextLength, cfg1.HiddenSize], OutputShape(sd, "hidden_states"));
        Assert.Contains(sd.Parameters, p => p.Name == "text_model.final_layer_norm.weight");
        Assert.Equal(2, sd.Ops.Count(o => o.Op == "embedding"));

        // SDXL encoder 1: hidden_states[-2] needs neither the last layer nor the final LayerNorm.
        var xl1 = ForwardTracer.TraceTextEncoder(cfg1, withProjection: false, "text_encoder", ContextLength, -2);
        AssertWellFormed(xl1);
        var described = ClipTextModel.DescribeLayers(cfg1, withProjection: false, "text_encoder");
        Assert.Contains(described, l => l.Name.StartsWith(lastLayer, StringComparison.Ordinal));
        AssertLayersUsedOnce(xl1, described.Where(l => !l.Name.StartsWith(lastLayer, StringComparison.Ordinal)).ToList());
        Assert.DoesNotContain(xl1.Parameters, p => p.Name.StartsWith("text_model.final_layer_norm", StringComparison.Ordinal));
        Assert.DoesNotContain(xl1.Ops, o => o.Op == "layer_norm" && o.Args.Contains(xl1.Outputs[0].Value));
        Assert.Equal([1, ContextLength, cfg1.HiddenSize], OutputShape(xl1, "hidden_states"));

        // SDXL encoder 2: every layer (the pooled output needs the last one), projection, eos_rows.
        var xl2 = ForwardTracer.TraceTextEncoder(cfg2, withProjection: true, "text_encoder_2", ContextLength, -2);
        AssertWellFormed(xl2);
        AssertLayersUsedOnce(xl2, ClipTextModel.DescribeLayers(cfg2, withProjection: true, "text_encoder_2"));
        Assert.Equal("text_encoder_2", xl2.Component);
        Assert.Equal(["input_ids", "position_ids", "eos_rows"], xl2.IntInputs.Select(i => i.Name));
        Assert.Equal(1, xl2.IntInputs[2].Length);
        Assert.Equal(["hidden_states", "text_embeds"], xl2.Outputs.Select(o => o.Name));
        Assert.Equal([1, ContextLength, cfg2.HiddenSize], OutputShape(xl2, "hidden_states"));
        Assert.Equal([1, cfg2.ProjectionDim], OutputShape(xl2, "text_embeds"));
        Assert.Equal("text_projection", xl2.Ops.Single(o => o.Result == xl2.Outputs[1].Value).Layer);
        Assert.Contains(xl2.Ops, o => o.Op == "embedding" && (string)o.Attribute("ids")! == "eos_rows");
        Assert.NotEqual(xl2.Outputs[0].Value, xl2.Ops.Single(o => o.Layer == "text_projection").Args[0]);
    }

    [Fact]
    public void Every_name_a_program_reads_is_bound_by_the_loaded_pipeline()
    {
        string folder = Folder(ModelFamily.StableDiffusionXL);
        using var pipeline = DiffusionPipeline.Load(folder);
        var programs = TraceAll(folder, ModelFamily.StableDiffusionXL, 8, 8);
        Assert.Equal(4, programs.Count);
        foreach (var (component, program) in programs)
        {
            Assert.NotEmpty(program.Parameters);
            foreach (var p in program.Parameters)
            {
                var t = Assert.IsType<Tensor>(pipeline.Binding($"{component}/{p.Name}"));
                Assert.Equal(p.Shape, t.ShapeArray());
            }
            foreach (var op in program.Ops.Where(o => o.Layer is not null))
            {
                var bound = pipeline.Binding($"{component}/{op.Layer}");
                var layer = op.Op == "linear"
                    ? Assert.IsAssignableFrom<IPreparedLinear>(bound).Layer
                    : Assert.IsAssignableFrom<IPreparedConv2d>(bound).Layer;
                Assert.Equal(component, layer.Component);
                Assert.Equal(op.Layer, layer.Name);
            }
        }
        Assert.Null(pipeline.Binding("unet/no_such_layer"));
        Assert.Null(pipeline.Binding("conv_in"));
        Assert.Null(pipeline.Binding("taesd/conv_in"));
    }

    // ---------------------------------------------------------------- the tracing backend

    [Fact]
    public void Tracing_backend_refuses_tensors_made_outside_it()
    {
        var tracer = new TracingBackend();
        var x = tracer.Input("x", 1, 4);
        var plain = Tensor.Zeros(1, 4);
        var otherTracers = new TracingBackend().Input("y", 1, 4);

        var e = Assert.Throws<InvalidOperationException>(() => tracer.Add(x, plain));
        Assert.Contains("outside the backend", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => tracer.Add(otherTracers, x));
        Assert.Throws<InvalidOperationException>(() => tracer.Activate(plain, Activation.Silu));
        Assert.Throws<InvalidOperationException>(() => tracer.Output("out", plain));
        // Ids that are not a declared int input cannot be named by the program either.
        Assert.Throws<InvalidOperationException>(() => tracer.Embedding(x, new int[3], 1));

        // Refused calls record nothing; a tensor of the backend is accepted.
        tracer.Output("out", tracer.Add(x, x));
        var program = tracer.ToProgram("test");
        var op = Assert.Single(program.Ops);
        Assert.Equal("add", op.Op);
        Assert.Equal([program.Inputs[0].Value, program.Inputs[0].Value], op.Args);
        Assert.Equal(op.Result, Assert.Single(program.Outputs).Value);
    }

    // ---------------------------------------------------------------- helpers

    private string Folder(ModelFamily family)
    {
        string dir = _tmp.File(family.ToString());
        return Directory.Exists(dir) ? dir : TinyPipelineFolders.Create(dir, family, RepoPaths.ClipMerges);
    }

    private static int TextEncoderCount(ModelFamily family) => family == ModelFamily.StableDiffusionXL ? 2 : 1;

    /// <summary>Every network of the folder traced as the pipeline calls it (SD: hidden state −1; SDXL: −2 for both encoders).</summary>
    private static Dictionary<string, ForwardProgram> TraceAll(string folder, ModelFamily family, int latentHeight, int latentWidth)
    {
        bool xl = family == ModelFamily.StableDiffusionXL;
        int hiddenIndex = xl ? -2 : -1;
        var programs = new Dictionary<string, ForwardProgram>(StringComparer.Ordinal)
        {
            ["text_encoder"] = ForwardTracer.TraceTextEncoder(ClipTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json")),
                withProjection: false, "text_encoder", ContextLength, hiddenIndex),
            ["unet"] = ForwardTracer.TraceUnet(UNet2DConditionConfig.Load(Path.Combine(folder, "unet", "config.json")),
                latentHeight, latentWidth, ContextLength),
            ["vae"] = ForwardTracer.TraceVaeDecoder(AutoencoderKLConfig.Load(Path.Combine(folder, "vae", "config.json")),
                latentHeight, latentWidth),
        };
        if (xl)
            programs["text_encoder_2"] = ForwardTracer.TraceTextEncoder(ClipTextConfig.Load(Path.Combine(folder, "text_encoder_2", "config.json")),
                withProjection: true, "text_encoder_2", ContextLength, hiddenIndex);
        return programs;
    }

    /// <summary>Registers an executor-backed compiled forward per program; the list records each call and whether it fit.</summary>
    private static List<(string Component, bool Fits)> UseCompiled(DiffusionPipeline pipeline, IComputeBackend backend,
        Dictionary<string, ForwardProgram> programs)
    {
        var calls = new List<(string, bool)>();
        foreach (var (component, program) in programs)
            pipeline.UseCompiledForward(component, ProgramExecutor.Compile(program, backend, pipeline.Binding, fits => calls.Add((component, fits))));
        return calls;
    }

    private static ProgramTensor Input(ForwardProgram program, string name) => Assert.Single(program.Inputs, i => i.Name == name);

    private static int[] OutputShape(ForwardProgram program, string name)
    {
        int value = Assert.Single(program.Outputs, o => o.Name == name).Value;
        return Assert.Single(program.Ops, o => o.Result == value).Shape;
    }

    /// <summary>Each quantizable layer is the layer of exactly one op of its kind, and no op names another.</summary>
    private static void AssertLayersUsedOnce(ForwardProgram program, IReadOnlyList<LayerInfo> layers)
    {
        Assert.NotEmpty(layers);
        var used = program.Ops.Where(o => o.Layer is not null).Select(o => o.Layer!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(layers.Select(l => l.Name).Order(StringComparer.Ordinal), used);
        var kinds = layers.ToDictionary(l => l.Name, l => l.Kind);
        foreach (var op in program.Ops.Where(o => o.Layer is not null))
            Assert.Equal(op.Op == "linear" ? LayerKind.Linear : LayerKind.Conv2d, kinds[op.Layer!]);
    }

    /// <summary>
    /// Straight-line and closed: values are defined once, every op reads only values defined before it, only
    /// linear/conv2d name a layer, every parameter is read and none is a prepared layer's weight, embeddings name
    /// declared int inputs, outputs are defined.
    /// </summary>
    private static void AssertWellFormed(ForwardProgram program)
    {
        Assert.NotEmpty(program.Ops);
        Assert.NotEmpty(program.Outputs);
        var defined = new HashSet<int>();
        foreach (var v in program.Inputs.Concat(program.Parameters))
            Assert.True(defined.Add(v.Value), $"value {v.Value} ({v.Name}) is defined twice");
        Assert.Equal(program.Inputs.Count, program.Inputs.Select(i => i.Name).Distinct().Count());
        Assert.Equal(program.Parameters.Count, program.Parameters.Select(p => p.Name).Distinct().Count());
        var intInputs = program.IntInputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var read = new HashSet<int>();
        int previous = -1;
        foreach (var op in program.Ops)
        {
            foreach (int a in op.Args)
            {
                Assert.True(defined.Contains(a), $"{op.Op} (value {op.Result}) reads value {a}, not defined before it");
                Assert.True(a < op.Result, $"{op.Op} (value {op.Result}) reads the later value {a}");
                read.Add(a);
            }
            Assert.True(op.Result > previous, $"op results out of order at {op.Op} (value {op.Result})");
            previous = op.Result;
            Assert.True(defined.Add(op.Result), $"value {op.Result} is defined twice");
            Assert.NotEmpty(op.Shape);
            Assert.All(op.Shape, d => Assert.True(d > 0, $"{op.Op} (value {op.Result}) has shape {Tensor.FormatShape(op.Shape)}"));
            Assert.Equal(op.Op is "linear" or "conv2d", op.Layer is not null);
            if (op.Op == "embedding") Assert.Contains((string)op.Attribute("ids")!, intInputs);
        }
        Assert.All(program.Outputs, o => Assert.Contains(o.Value, defined));
        Assert.All(program.Parameters, p => Assert.True(read.Contains(p.Value), $"parameter {p.Name} is never read"));
        var layerPaths = program.Ops.Where(o => o.Layer is not null).Select(o => o.Layer!).ToHashSet(StringComparer.Ordinal);
        Assert.All(program.Parameters, p =>
        {
            int dot = p.Name.LastIndexOf('.');
            Assert.False(dot > 0 && layerPaths.Contains(p.Name[..dot]), $"{p.Name} belongs to a prepared layer");
        });
    }
}
