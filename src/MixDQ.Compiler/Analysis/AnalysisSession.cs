using MixDQ.Compiler.Analysis.Simulation;
using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Compiler.Analysis;

/// <summary>One generated sample of the analysis: the RGB image and every UNet output of its denoising steps, concatenated.</summary>
public sealed record AnalysisSample(byte[] Image, int Width, int Height, float[] UnetOutput);

/// <summary>
/// The model loaded once for the whole analysis: the FP pipeline on the CPU backend behind a
/// <see cref="SimulatedQuantBackend"/>, whose per-layer table the passes switch between runs.
/// </summary>
public sealed class AnalysisSession : IDisposable
{
    /// <summary>The UNet's last layer: its output is the UNet output (diffusers: conv_out after norm and SiLU).</summary>
    private const string UnetOutputLayer = "unet/conv_out";

    private readonly DiffusionPipeline _pipeline;

    private AnalysisSession(DiffusionPipeline pipeline, SimulatedQuantBackend backend, IReadOnlyList<AnalysisLayer> layers,
        CompileSettings settings, IReadOnlyList<string> prompts)
    {
        _pipeline = pipeline;
        Backend = backend;
        Layers = layers;
        Settings = settings;
        Prompts = prompts;
    }

    public SimulatedQuantBackend Backend { get; }

    public IReadOnlyList<AnalysisLayer> Layers { get; }

    public CompileSettings Settings { get; }

    /// <summary>Calibration prompts, in file order (the first <see cref="CompileSettings.SensitivityPromptCount"/> also score sensitivities).</summary>
    public IReadOnlyList<string> Prompts { get; }

    public IReadOnlyList<string> SensitivityPrompts => Prompts.Take(Math.Max(1, Settings.SensitivityPromptCount)).ToList();

    /// <summary>True when the method splits token 0 off the cross-attention keys and values.</summary>
    public bool BosAware => Settings.Method is QuantizationMethod.MixDQ or QuantizationMethod.SqnrOnly;

    /// <summary>True when the up-block [h, skip] inputs get one quantizer per half.</summary>
    public bool SplitInputs => Settings.Method != QuantizationMethod.Naive;

    public static AnalysisSession Open(string modelDirectory, CompileSettings settings, IReadOnlyList<string> prompts, IComputeBackend? inner = null)
    {
        var backend = new SimulatedQuantBackend(inner ?? new CpuBackend());
        var pipeline = DiffusionPipeline.Load(modelDirectory, new PipelineLoadOptions { Backend = backend });
        return new AnalysisSession(pipeline, backend, AnalysisLayers.Of(pipeline.Layers), settings, prompts);
    }

    /// <summary>The text encoder's output for a prompt ([1, L, D]); row 0 is the BOS hidden state.</summary>
    public Tensor EncodePrompt(string prompt) => _pipeline.EncodePrompt(prompt).Context;

    /// <summary>Generates prompt <paramref name="index"/> of <paramref name="prompts"/> (seed = index) with the backend's current table.</summary>
    public AnalysisSample Run(IReadOnlyList<string> prompts, int index, ISimulationTap? tap = null, CancellationToken cancellationToken = default)
    {
        var capture = new OutputCapture(tap);
        Backend.Tap = capture;
        try
        {
            var options = OptionsFor(index);
            var latents = _pipeline.GenerateLatents(prompts[index], options, cancellationToken: cancellationToken);
            var image = _pipeline.DecodeLatents(latents, prompts[index], options, cancellationToken: cancellationToken);
            return new AnalysisSample(image.Rgb, image.Width, image.Height, capture.Output());
        }
        finally
        {
            Backend.Tap = null;
        }
    }

    /// <summary>The denoised latents of prompt <paramref name="index"/> (seed = index) with the current table, not decoded: the UNet's part of <see cref="Run"/>.</summary>
    public float[] Latents(IReadOnlyList<string> prompts, int index, CancellationToken cancellationToken = default) =>
        _pipeline.GenerateLatents(prompts[index], OptionsFor(index), cancellationToken: cancellationToken).Data.ToArray();

    private GenerationOptions OptionsFor(int index) => new() { Seed = index, Steps = Settings.Steps };

    /// <summary>Every sensitivity prompt with the current table.</summary>
    public IReadOnlyList<AnalysisSample> RunSensitivitySet(CancellationToken cancellationToken)
    {
        var prompts = SensitivityPrompts;
        return Enumerable.Range(0, prompts.Count).Select(i => Run(prompts, i, cancellationToken: cancellationToken)).ToList();
    }

    public void Dispose() => _pipeline.Dispose();

    /// <summary>Keeps a copy of every UNet output and forwards the calls to another tap.</summary>
    private sealed class OutputCapture(ISimulationTap? next) : ISimulationTap
    {
        private readonly List<float[]> _outputs = [];

        public void OnInput(LayerInfo layer, Tensor x) => next?.OnInput(layer, x);

        public void OnOutput(LayerInfo layer, Tensor y)
        {
            if (layer.QualifiedName == UnetOutputLayer) _outputs.Add(y.Data.ToArray());
            next?.OnOutput(layer, y);
        }

        public float[] Output() => _outputs.SelectMany(o => o).ToArray();
    }
}
