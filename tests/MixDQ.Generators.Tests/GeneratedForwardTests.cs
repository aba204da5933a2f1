using System.Reflection;
using System.Runtime.Loader;
using MixDQ.Compiler;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Compiled;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Pipelines;
using MixDQ.Tests;
using MixDQ.TestModels;
using Xunit.Abstractions;

namespace MixDQ.Generators.Tests;

/// <summary>
/// Runs the generated straight-line forward passes (text encoders, UNet, VAE) of compiled tiny models and
/// compares every image with the runtime's model graphs on the same artifact: same backend calls in the same
/// order, so the bytes must be identical.
/// </summary>
public sealed class GeneratedForwardTests(ITestOutputHelper output) : IDisposable
{
    private readonly ITestOutputHelper _output = output;
    private readonly TempDir _tmp = RepoPaths.NewTempDir();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void SdModel_RunsGeneratedCode_ForEveryNetwork_AndMatchesTheGraph()
    {
        var compiled = ModelCompiler.Compile(new CompileRequest(TinyModel.Directory, "TinySd", _tmp.File("sd"), new CompileSettings()));
        Assert.Equal(["text_encoder", "unet", "vae"], compiled.Plan.Programs.Select(p => p.Component));

        using var generated = GeneratedModel.Build(compiled, "TinySd");
        // One specialization key per distinct (op, weight shape, input shape, precision); their counts cover every layer call.
        var keys = generated.KernelSpecializations;
        int layerCalls = compiled.Plan.Programs.Sum(p => p.Ops.Count(o => o.Layer is not null));
        Assert.Equal(layerCalls, keys.Sum(k => int.Parse(k[(k.LastIndexOf('×') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.InRange(keys.Count, 2, layerCalls - 1);
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.Contains(keys, k => k.StartsWith("conv2d w[", StringComparison.Ordinal) && k.Contains(" FP16 ×", StringComparison.Ordinal));
        var graph = generated.GraphPipeline();
        using (graph)
        {
            foreach (int steps in new[] { 1, 2 })
            {
                long before = generated.CompiledForwardCalls;
                var options = new GenerationOptions { Seed = 11, Steps = steps };
                var image = generated.Generate("a red circle at the top left", options);
                Assert.Equal(1 + steps + 1, generated.CompiledForwardCalls - before);
                Assert.Equal(graph.Generate("a red circle at the top left", options).Rgb, image.Rgb);
            }
            Assert.Equal(0, graph.CompiledForwardCalls);

            // Another image size: the UNet and VAE were compiled for the default one, so the graph runs them.
            int size = graph.DefaultWidth / 2;
            long calls = generated.CompiledForwardCalls;
            var small = new GenerationOptions { Seed = 5, Width = size, Height = size };
            var smallImage = generated.Generate("a blue square", small);
            Assert.Equal(1, generated.CompiledForwardCalls - calls);
            Assert.Equal(size, smallImage.Width);
            Assert.Equal(graph.Generate("a blue square", small).Rgb, smallImage.Rgb);
        }
    }

    [Theory]
    [InlineData(ModelFamily.StableDiffusion)]
    [InlineData(ModelFamily.StableDiffusionXL)] // its pooled text embedding is a view (reshape) of an op result
    public void Generated_code_never_reads_a_value_after_releasing_it(ModelFamily family)
    {
        // A backend that fills released storage with NaN instead of recycling it: any read after a release (a liveness
        // or view-aliasing mistake of the generator) would change the image; releasing an input, a parameter or an
        // output would poison later calls or the result.
        string folder = family == ModelFamily.StableDiffusion
            ? TinyModel.Directory
            : TinyPipelineFolders.Create(_tmp.File("model"), family, RepoPaths.ClipMerges);
        var compiled = ModelCompiler.Compile(new CompileRequest(folder, "Tiny", _tmp.File("compiled"), new CompileSettings()));
        var poisoning = PoisonOnRelease.Wrap(new Runtime.Backends.Cpu.CpuBackend());
        using var generated = GeneratedModel.Build(compiled, "Tiny", MixDQDevice.FromBackend(poisoning));
        using var graph = generated.GraphPipeline();
        var options = new GenerationOptions { Seed = 7, Steps = 2 };
        var first = generated.Generate("a red circle at the top left", options);
        var second = generated.Generate("a red circle at the top left", options);
        Assert.Equal(compiled.Plan.Programs.Count - 1 + options.Steps!.Value, generated.CompiledForwardCalls / 2); // text encoders, UNet per step, VAE
        Assert.Equal(graph.Generate("a red circle at the top left", options).Rgb, first.Rgb);
        Assert.Equal(first.Rgb, second.Rgb);
        // Every intermediate of every pass is handed back: all op results but the outputs and the views of live storage.
        Assert.InRange(((PoisonOnRelease)(object)poisoning).Released, compiled.Plan.Programs.Sum(p => p.Ops.Count) / 2, int.MaxValue);
    }

    [Fact]
    public void Generated_code_runs_in_recycled_storage_on_the_cpu()
    {
        // The shipped TinyShapes model: the same image as its graph, with most outputs served from released storage.
        string folder = Path.Combine(RepoPaths.Root, "samples", "models", "tiny-shapes");
        var compiled = ModelCompiler.Compile(new CompileRequest(folder, "TinyShapes", _tmp.File("shapes"), new CompileSettings()));
        var cpu = new Runtime.Backends.Cpu.CpuBackend();
        using var generated = GeneratedModel.Build(compiled, "TinyShapes", MixDQDevice.FromBackend(cpu));
        using var graph = generated.GraphPipeline();
        var options = new GenerationOptions { Seed = 9, Steps = 2 };
        const string prompt = "a small blue square at the top right on a yellow background";
        generated.Generate(prompt, options); // warm: the pool fills during the first image
        graph.Generate(prompt, options);
        long reused = cpu.ReusedOutputs, before = GC.GetTotalAllocatedBytes(precise: true);
        var image = generated.Generate(prompt, options);
        long generatedBytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        before = GC.GetTotalAllocatedBytes(precise: true);
        var reference = graph.Generate(prompt, options);
        long graphBytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(reference.Rgb, image.Rgb);
        int ops = compiled.Plan.Programs.Sum(p => p.Ops.Count);
        _output.WriteLine($"one 2-step image: {cpu.ReusedOutputs - reused} outputs from released storage; " +
            $"allocated {generatedBytes / 1e6:F2} MB (generated code) vs {graphBytes / 1e6:F2} MB (model graphs); {ops} ops in the programs");
        Assert.True(cpu.ReusedOutputs - reused > ops / 2);
    }

    [Fact]
    public void Sdxl_generated_code_runs_in_recycled_storage_views_included()
    {
        // SDXL's programs hold reshape views (the pooled text embedding): released through the real CPU pool.
        string folder = TinyPipelineFolders.Create(_tmp.File("sdxl-model"), ModelFamily.StableDiffusionXL, RepoPaths.ClipMerges);
        var compiled = ModelCompiler.Compile(new CompileRequest(folder, "TinyXl", _tmp.File("sdxl"), new CompileSettings()));
        Assert.Contains(compiled.Plan.Programs.SelectMany(p => p.Ops), o => o.Op == "reshape");
        var cpu = new Runtime.Backends.Cpu.CpuBackend();
        using var generated = GeneratedModel.Build(compiled, "TinyXl", MixDQDevice.FromBackend(cpu));
        using var graph = generated.GraphPipeline();
        var options = new GenerationOptions { Seed = 4, Steps = 2 };
        Assert.Equal(graph.Generate("a green triangle", options).Rgb, generated.Generate("a green triangle", options).Rgb);
        Assert.Equal(graph.Generate("a green triangle", options).Rgb, generated.Generate("a green triangle", options).Rgb);
        Assert.True(cpu.ReusedOutputs > 0);
    }

    /// <summary>An <see cref="IComputeBackend"/> proxy: every call goes to the wrapped backend, but Release poisons.</summary>
    public class PoisonOnRelease : DispatchProxy
    {
        private IComputeBackend _inner = null!;

        public int Released { get; private set; }

        public static IComputeBackend Wrap(IComputeBackend inner)
        {
            var proxy = Create<IComputeBackend, PoisonOnRelease>();
            ((PoisonOnRelease)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IComputeBackend.Release))
            {
                Array.Fill(((Runtime.Tensors.Tensor)args![0]!).Data, float.NaN);
                Released++;
                return null;
            }
            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }

    [Fact]
    public void SdxlModel_RunsGeneratedCode_ForBothTextEncoders_AndMatchesTheGraph()
    {
        string folder = TinyPipelineFolders.Create(_tmp.File("sdxl-model"), ModelFamily.StableDiffusionXL, RepoPaths.ClipMerges);
        var compiled = ModelCompiler.Compile(new CompileRequest(folder, "TinyXl", _tmp.File("sdxl"), new CompileSettings()));
        var unet = compiled.Plan.Programs.Single(p => p.Component == "unet");
        Assert.Equal(["sample", "timesteps", "encoder_hidden_states", "text_embeds", "time_ids"], unet.Inputs.Select(i => i.Name));
        Assert.Equal(2, unet.Ops.Count(o => o.Op == "timestep_embedding"));
        var te2 = compiled.Plan.Programs.Single(p => p.Component == "text_encoder_2");
        Assert.Equal(["hidden_states", "text_embeds"], te2.Outputs.Select(o => o.Name));

        using var generated = GeneratedModel.Build(compiled, "TinyXl");
        Assert.Equal(["text_encoder", "text_encoder_2", "unet", "vae"], generated.CompiledComponents.Order(StringComparer.Ordinal));
        using var graph = generated.GraphPipeline();
        var options = new GenerationOptions { Seed = 3, Steps = 2 };
        var image = generated.Generate("a green triangle", options);
        Assert.Equal(2 + 2 + 1, generated.CompiledForwardCalls);
        Assert.Equal(graph.Generate("a green triangle", options).Rgb, image.Rgb);
    }

    /// <summary>The class generated from a plan, compiled into a collectible context and loaded with its artifact.</summary>
    internal sealed class GeneratedModel : IDisposable
    {
        private readonly AssemblyLoadContext _context;
        private readonly object _instance;
        private readonly Type _type;
        private readonly CompileResult _compiled;

        private GeneratedModel(AssemblyLoadContext context, Type type, object instance, CompileResult compiled)
        {
            _context = context;
            _type = type;
            _instance = instance;
            _compiled = compiled;
        }

        public static GeneratedModel Build(CompileResult compiled, string className, MixDQDevice? device = null)
        {
            string path = $"/project/obj/mixdq/{className}.mixdq.plan.json";
            var compilation = GeneratorHarness.Compilation("namespace Consumer.App { public static class Program { } }");
            var driver = GeneratorHarness.Driver([new GeneratorHarness.Text(path, File.ReadAllText(compiled.PlanPath))],
                GeneratorHarness.PlanOptions(path, className));
            driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
            Assert.Empty(diagnostics);
            using var ms = new MemoryStream();
            var emit = output.Emit(ms);
            Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
            ms.Position = 0;
            var context = new AssemblyLoadContext(className, isCollectible: true);
            var type = context.LoadFromStream(ms).GetType("Consumer.App." + className)!;
            var load = type.GetMethod("Load", [typeof(string), typeof(MixDQDevice)])!;
            return new GeneratedModel(context, type, load.Invoke(null, [compiled.ArtifactPath, device ?? MixDQDevice.Cpu])!, compiled);
        }

        public IReadOnlyList<string> KernelSpecializations
        {
            get
            {
                object plan = _type.GetProperty("Plan", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
                return (IReadOnlyList<string>)plan.GetType().GetProperty("KernelSpecializations")!.GetValue(plan)!;
            }
        }

        public long CompiledForwardCalls => (long)_type.GetProperty("CompiledForwardCalls")!.GetValue(_instance)!;

        public IReadOnlyCollection<string> CompiledComponents => (IReadOnlyCollection<string>)_type.GetProperty("CompiledComponents")!.GetValue(_instance)!;

        public GeneratedImage Generate(string prompt, GenerationOptions options)
        {
            var generate = _type.GetMethod("Generate", [typeof(string), typeof(GenerationOptions), typeof(IProgress<GenerationProgress>), typeof(CancellationToken)])!;
            return (GeneratedImage)generate.Invoke(_instance, [prompt, options, null, CancellationToken.None])!;
        }

        /// <summary>The same artifact loaded without generated code: every network runs its model graph.</summary>
        public DiffusionPipeline GraphPipeline()
        {
            var precisionOf = _type.GetMethod("PrecisionOf", BindingFlags.Public | BindingFlags.Static)!;
            var precision = (Func<LayerInfo, LayerPrecision>)Delegate.CreateDelegate(typeof(Func<LayerInfo, LayerPrecision>), precisionOf);
            return CompiledModelLoader.LoadPipeline(_compiled.ArtifactPath, _compiled.PlanHash, precision, MixDQDevice.Cpu);
        }

        public void Dispose()
        {
            ((IDisposable)_instance).Dispose();
            _context.Unload();
        }
    }
}
