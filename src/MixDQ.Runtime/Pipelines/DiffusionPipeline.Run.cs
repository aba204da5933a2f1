using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Backends.Cpu;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Storage;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.Runtime.Pipelines;

public sealed partial class DiffusionPipeline
{
    private readonly ModelComponents _c;
    private readonly IComputeBackend _backend;
    private readonly PipelineLoadOptions _options;
    private readonly IModelStore? _ownedStore;
    private TaesdDecoder? _taesd;
    private readonly Dictionary<string, Compiled.CompiledForward> _compiled = new(StringComparer.Ordinal);
    private long _compiledCalls;

    private DiffusionPipeline(ModelComponents components, IComputeBackend backend, PipelineLoadOptions options, IModelStore? ownedStore)
    {
        _c = components;
        _ownedStore = ownedStore;
        _backend = backend;
        _options = options;
        Layers = components.Layers;
    }

    /// <summary>The model family, from model_index.json.</summary>
    public ModelFamily Family => _c.Family;

    /// <summary>The folder (or compiled artifact file) the pipeline was loaded from.</summary>
    public string ModelDirectory => _c.Directory;

    /// <summary>A short name of the model: the folder's name, or the compiled model's class name.</summary>
    public string ModelName => _c.Store.Name;

    /// <summary>Latent channels, from the UNet config.</summary>
    public int LatentChannels => _c.UnetConfig.InChannels;

    /// <summary>Pixels per latent cell (2^(levels−1) of the VAE).</summary>
    public int VaeScaleFactor => _c.VaeScaleFactor;

    /// <summary>Default image width in pixels (UNet sample_size × VAE factor; 64 latents when the config has none).</summary>
    public int DefaultWidth => (_c.UnetConfig.SampleWidth ?? 64) * _c.VaeScaleFactor;

    /// <summary>Default image height in pixels.</summary>
    public int DefaultHeight => (_c.UnetConfig.SampleHeight ?? 64) * _c.VaeScaleFactor;

    /// <summary>Every quantizable layer of the pipeline (text encoders, UNet, VAE decoder), with its precision.</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }

    public string BackendName => _backend.Name;

    /// <summary>The backend every op runs on (generated forward passes call it directly).</summary>
    public IComputeBackend Backend => _backend;

    private static DiffusionPipeline LoadCore(IModelStore store, bool leaveOpen, PipelineLoadOptions options)
    {
        try
        {
            var backend = options.Backend ?? new CpuBackend();
            var components = ModelComponents.Load(store, backend, options);
            return new DiffusionPipeline(components, backend, options, leaveOpen ? null : store);
        }
        catch
        {
            if (!leaveOpen) store.Dispose();
            throw;
        }
    }

    private GeneratedImage GenerateCore(string prompt, GenerationOptions options, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        DecodeCore(DenoiseCore(prompt, options, progress, ct), prompt, options, progress, ct);

    /// <summary>Text encoding and the denoising steps: the final latents (unscaled, as the scheduler leaves them).</summary>
    private Tensor DenoiseCore(string prompt, GenerationOptions options, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int steps = options.Steps ?? 1;
        if (steps < 1 || steps > 50)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"steps must be between 1 and 50, got {steps}", item: "steps");
        var (latentH, latentW) = ResolveLatentSize(options);
        var dump = options.DumpDirectory is null ? null : new TensorDump(options.DumpDirectory);

        // Text.
        progress?.Report(new GenerationProgress("text", 0, 1));
        var (context, pooled) = EncodePrompt(prompt);
        dump?.Write("ctx", context);
        if (pooled is not null) dump?.Write("pooled", pooled);
        ct.ThrowIfCancellationRequested();
        progress?.Report(new GenerationProgress("text", 1, 1));

        // Denoising.
        var scheduler = SchedulerFactory.Create(_c.SchedulerConfig, steps);
        var noise = new GaussianNoise(options.Seed);
        Tensor initial = options.InitialLatents ?? GaussianNoise.Sample(noise, 1, LatentChannels, latentH, latentW);
        var latents = _backend.Affine(initial, scheduler.InitNoiseSigma, 0);
        Tensor? timeIds = Family == ModelFamily.StableDiffusionXL
            ? Tensor.FromSpan([latentH * VaeScaleFactor, latentW * VaeScaleFactor, 0, 0, latentH * VaeScaleFactor, latentW * VaeScaleFactor], 1, 6)
            : null;
        for (int i = 0; i < scheduler.Timesteps.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new GenerationProgress("unet", i, scheduler.Timesteps.Count));
            var modelInput = scheduler.ScaleModelInput(latents, i);
            var modelOutput = RunUnet(modelInput, scheduler.Timesteps[i], context, pooled, timeIds, ct);
            if (i == 0) dump?.Write("eps", modelOutput);
            latents = scheduler.Step(modelOutput, i, latents, noise);
        }
        progress?.Report(new GenerationProgress("unet", scheduler.Timesteps.Count, scheduler.Timesteps.Count));
        EnsureFinite(latents, "latents");
        dump?.Write("latents", latents);
        return latents;
    }

    /// <summary>Latents from <see cref="DenoiseCore"/> → the RGB image.</summary>
    private GeneratedImage DecodeCore(Tensor latents, string prompt, GenerationOptions options, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(latents);
        var dump = options.DumpDirectory is null ? null : new TensorDump(options.DumpDirectory);
        int steps = options.Steps ?? 1;

        // Pixels.
        ct.ThrowIfCancellationRequested();
        progress?.Report(new GenerationProgress("decode", 0, 1));
        var decoded = options.Decoder == DecoderKind.Taesd
            ? Taesd.Decode(latents)
            : RunVaeDecoder(VaeLatents.ToDecoderInput(latents, _c.VaeConfig), ct);
        EnsureFinite(decoded, "image");
        var (rgb, h, w) = ImagePostprocess.ToRgbBytes(decoded);
        dump?.WriteBytes("image", rgb, h, w, 3);
        progress?.Report(new GenerationProgress("decode", 1, 1));
        var info = new GenerationInfo(prompt, options.Seed, steps, ModelName,
            _backend.Name, options.Decoder == DecoderKind.Taesd ? "taesd" : "vae");
        return new GeneratedImage(rgb, w, h, info);
    }

    /// <summary>Prompt → (encoder hidden states [1, 77, D], pooled text embeds [1, P] for SDXL or null).</summary>
    public (Tensor Context, Tensor? Pooled) EncodePrompt(string prompt)
    {
        var ids1 = Tokenize(_c.Tokenizer, prompt, "tokenizer");
        if (Family == ModelFamily.StableDiffusion)
            return (RunTextEncoder(_c.TextEncoder, ids1, -1).Hidden, null);
        var ids2 = Tokenize(_c.Tokenizer2!, prompt, "tokenizer_2");
        var h1 = RunTextEncoder(_c.TextEncoder, ids1, -2).Hidden;
        var out2 = RunTextEncoder(_c.TextEncoder2!, ids2, -2);
        return (_backend.Concat(h1, out2.Hidden, -1), out2.TextEmbeds);
    }

    /// <summary>The token ids of each tokenizer of the folder (one for SD, two for SDXL).</summary>
    public IReadOnlyList<(string Name, int[] Ids)> TokenizeAll(string prompt)
    {
        var list = new List<(string, int[])> { ("tokenizer", _c.Tokenizer.Encode(prompt).Ids) };
        if (_c.Tokenizer2 is not null) list.Add(("tokenizer_2", _c.Tokenizer2.Encode(prompt).Ids));
        return list;
    }

    private int[] Tokenize(ClipTokenizer tokenizer, string prompt, string name)
    {
        var t = tokenizer.Encode(prompt);
        if (t.Truncated)
            _options.Warnings?.Report(new MixDQWarning(ErrorCodes.PromptTruncated,
                $"the prompt has {t.UntruncatedTokenCount} tokens; {name} keeps the first {tokenizer.MaxLength} (as diffusers does)", Item: name));
        return t.Ids;
    }

    private (int H, int W) ResolveLatentSize(GenerationOptions o)
    {
        int f = VaeScaleFactor;
        if (o.InitialLatents is { } l)
        {
            if (l.Rank != 4 || l.Dim(0) != 1 || l.Dim(1) != LatentChannels || l.Dim(2) < 1 || l.Dim(3) < 1)
                throw new MixDQException(ErrorCodes.LatentsInvalid,
                    $"initial latents must have shape [1, {LatentChannels}, h, w], got {Tensor.FormatShape(l.Shape)}", item: "latents");
            if ((o.Height is { } hh && hh != l.Dim(2) * f) || (o.Width is { } ww && ww != l.Dim(3) * f))
                throw new MixDQException(ErrorCodes.LatentsInvalid,
                    $"latents {Tensor.FormatShape(l.Shape)} give a {l.Dim(3) * f}x{l.Dim(2) * f} image, but {o.Width ?? l.Dim(3) * f}x{o.Height ?? l.Dim(2) * f} was asked for", item: "latents");
            EnsureFinite(l, "latents");
            return (l.Dim(2), l.Dim(3));
        }
        int width = o.Width ?? DefaultWidth, height = o.Height ?? DefaultHeight;
        if (width <= 0 || height <= 0 || width % f != 0 || height % f != 0 || width > 4096 || height > 4096)
            throw new MixDQException(ErrorCodes.InvalidArgument,
                $"width and height must be positive multiples of {f} up to 4096, got {width}x{height}", item: "width/height");
        return (height / f, width / f);
    }

    private static void EnsureFinite(Tensor t, string what)
    {
        foreach (float v in t.Data)
            if (!float.IsFinite(v))
                throw new MixDQException(ErrorCodes.NonFiniteOutput, $"the {what} contain NaN or Inf values; no image was written", item: what);
    }

    private TaesdDecoder Taesd => _taesd ??= _c.LoadTaesd(_backend);

    // ---------------------------------------------------------------- compiled forward passes

    /// <summary>
    /// Runs <paramref name="component"/> (<c>unet</c>, <c>vae</c>, <c>text_encoder</c>, <c>text_encoder_2</c>) through
    /// <paramref name="forward"/>, code generated at build time from the component's traced program, instead of
    /// its model graph; calls with shapes the code was not compiled for still take the graph.
    /// </summary>
    public void UseCompiledForward(string component, Compiled.CompiledForward forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        if (component is not ("unet" or "vae" or "text_encoder") && !(component == "text_encoder_2" && _c.TextEncoder2 is not null))
            throw new ArgumentException($"'{component}' is not a network of this pipeline", nameof(component));
        _compiled[component] = forward;
    }

    /// <summary>Components that run generated forward passes.</summary>
    public IReadOnlyCollection<string> CompiledComponents => _compiled.Keys;

    /// <summary>How many component evaluations ran generated code (the rest ran the model graphs).</summary>
    public long CompiledForwardCalls => Interlocked.Read(ref _compiledCalls);

    /// <summary>What a component bound at load under <c>component/name</c>: a prepared layer or a parameter tensor.</summary>
    internal object? Binding(string qualifiedName)
    {
        int slash = qualifiedName.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return null;
        IReadOnlyDictionary<string, object>? bindings = qualifiedName[..slash] switch
        {
            "unet" => _c.Unet.Bindings,
            "vae" => _c.Vae.Bindings,
            "text_encoder" => _c.TextEncoder.Bindings,
            "text_encoder_2" => _c.TextEncoder2?.Bindings,
            _ => null,
        };
        return bindings?.GetValueOrDefault(qualifiedName[(slash + 1)..]);
    }

    private IReadOnlyDictionary<string, Tensor>? RunCompiled(string component, Compiled.ProgramArguments arguments, CancellationToken ct)
    {
        if (!_compiled.TryGetValue(component, out var forward)) return null;
        var outputs = forward(arguments, ct);
        if (outputs is not null) Interlocked.Increment(ref _compiledCalls);
        return outputs;
    }

    private Tensor RunUnet(Tensor sample, float timestep, Tensor context, Tensor? pooled, Tensor? timeIds, CancellationToken ct)
    {
        if (!_compiled.ContainsKey("unet")) return _c.Unet.Forward(sample, timestep, context, pooled, timeIds, ct);
        var args = new Compiled.ProgramArguments().With("sample", sample).With("timesteps", Tensor.FromSpan([timestep], 1))
            .With("encoder_hidden_states", context).With("text_embeds", pooled).With("time_ids", timeIds);
        return RunCompiled("unet", args, ct)?["sample"] ?? _c.Unet.Forward(sample, timestep, context, pooled, timeIds, ct);
    }

    private Tensor RunVaeDecoder(Tensor z, CancellationToken ct) =>
        RunCompiled("vae", new Compiled.ProgramArguments().With("latents", z), ct)?["sample"] ?? _c.Vae.Decode(z, ct);

    private ClipTextOutput RunTextEncoder(ClipTextModel model, int[] ids, int outputHiddenStateIndex)
    {
        if (!_compiled.ContainsKey(model.Component)) return model.Forward(ids, 1, outputHiddenStateIndex);
        var args = new Compiled.ProgramArguments().With("input_ids", ids)
            .With("position_ids", ClipTextModel.PositionIds(1, ids.Length))
            .With("eos_rows", model.WithProjection ? model.EosRows(ids, 1) : null);
        // A generated text encoder is compiled for the hidden-state index this pipeline asks for.
        var outputs = RunCompiled(model.Component, args, CancellationToken.None);
        return outputs is null
            ? model.Forward(ids, 1, outputHiddenStateIndex)
            : new ClipTextOutput(outputs["hidden_states"], outputs.GetValueOrDefault("text_embeds"));
    }

    public void Dispose()
    {
        _c.Dispose();
        _ownedStore?.Dispose();
    }
}
