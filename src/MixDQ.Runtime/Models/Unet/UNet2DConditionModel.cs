using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// diffusers UNet2DConditionModel for the SD 1.x/2.x (SD-Turbo) and SDXL (SDXL-Turbo) families, built from
/// its config, with weights bound by their exact diffusers names and every op run by an
/// <see cref="IComputeBackend"/>.
/// </summary>
public sealed class UNet2DConditionModel
{
    public const string ComponentName = "unet";

    private readonly UNet2DConditionConfig _config;
    private readonly IComputeBackend? _backend;
    private readonly ConvOp _convIn;
    private readonly LinearOp _timeLinear1, _timeLinear2;
    private readonly LinearOp? _addLinear1, _addLinear2;
    private readonly DownBlock[] _down;
    private readonly MidBlock _mid;
    private readonly UpBlock[] _up;
    private readonly GroupNormOp _normOut;
    private readonly ConvOp _convOut;

    private UNet2DConditionModel(UNet2DConditionConfig cfg, ModuleBuilder b)
    {
        _config = cfg;
        _backend = b.Backend;
        var ch = cfg.BlockOutChannels;
        int temb = cfg.TimeEmbedDim, groups = cfg.NormNumGroups, n = cfg.Levels;
        double eps = cfg.NormEps;

        _convIn = b.Conv("conv_in", ch[0], cfg.InChannels, cfg.ConvInKernel);
        _timeLinear1 = b.Linear("time_embedding.linear_1", temb, cfg.TimestepInputDim);
        _timeLinear2 = b.Linear("time_embedding.linear_2", temb, temb);
        if (cfg.HasTextTimeEmbedding)
        {
            _addLinear1 = b.Linear("add_embedding.linear_1", temb, cfg.ProjectionClassEmbeddingsInputDim!.Value);
            _addLinear2 = b.Linear("add_embedding.linear_2", temb, temb);
        }

        _down = new DownBlock[n];
        int outC = ch[0];
        for (int i = 0; i < n; i++)
        {
            int inC = outC;
            outC = ch[i];
            _down[i] = new DownBlock(b, cfg, i, inC, outC);
        }

        _mid = new MidBlock(b, cfg);

        _up = new UpBlock[n];
        outC = ch[n - 1];
        for (int i = 0; i < n; i++)
        {
            int level = n - 1 - i;                     // the down level this up block mirrors
            int prevC = outC;
            outC = ch[level];
            int skipInC = ch[Math.Max(level - 1, 0)];  // reversed_block_out_channels[min(i + 1, n − 1)]
            _up[i] = new UpBlock(b, cfg, i, level, prevC, outC, skipInC);
        }

        _normOut = b.GroupNorm("conv_norm_out", ch[0], groups, eps);
        _convOut = b.Conv("conv_out", cfg.OutChannels, ch[0], cfg.ConvOutKernel);
        Layers = b.Layers;
        Bindings = b.Bindings;
    }

    public UNet2DConditionConfig Config => _config;

    /// <summary>Every quantizable Linear/Conv2d, component <c>unet</c>, with its diffusers path and precision.</summary>
    /// <summary>Prepared layers and parameters by name, as bound at load (what generated forward passes use).</summary>
    internal IReadOnlyDictionary<string, object> Bindings { get; }

    public IReadOnlyList<LayerInfo> Layers { get; }

    /// <summary>Every weight the config implies, by diffusers name, with its shape (F32).</summary>
    public static IReadOnlyList<TensorInfo> ExpectedTensors(UNet2DConditionConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new UNet2DConditionModel(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Expected;

    /// <summary>The quantizable layers the config implies (precision FP32), without weights.</summary>
    public static IReadOnlyList<LayerInfo> DescribeLayers(UNet2DConditionConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new UNet2DConditionModel(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Layers;

    /// <summary>
    /// Binds <paramref name="weights"/> (one <see cref="ErrorCodes.WeightsMismatch"/> error listing every
    /// missing, unexpected or mis-shaped tensor) and prepares every layer on <paramref name="backend"/>.
    /// </summary>
    /// <param name="cfg">The resolved unet config.</param>
    /// <param name="weights">The unet weights (a safetensors file, or tensors in memory).</param>
    /// <param name="backend">Runs every op.</param>
    /// <param name="precision">Precision per layer (from a plan); null = FP32.</param>
    /// <param name="warnings">Receives NaN/Inf weight warnings.</param>
    public static UNet2DConditionModel Create(UNet2DConditionConfig cfg, ITensorSource weights, IComputeBackend backend,
        Func<LayerInfo, LayerPrecision>? precision = null, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(backend);
        var bound = WeightBinder.Bind(ExpectedTensors(cfg), weights, WeightBindingRules.Strict, warnings);
        return new UNet2DConditionModel(cfg, ModuleBuilder.Build(ComponentName, backend, bound, precision));
    }

    /// <summary>
    /// One denoiser evaluation: the ε (or v) prediction for <paramref name="sample"/> at <paramref name="timestep"/>.
    /// </summary>
    /// <param name="sample">[B, in_channels, h, w] latents (any h, w ≥ 1; non-multiples of 2^levels are handled as diffusers does).</param>
    /// <param name="timestep">The scheduler's timestep (e.g. 999), the same for the whole batch.</param>
    /// <param name="encoderHiddenStates">[B, L, cross_attention_dim] text embeddings.</param>
    /// <param name="textEmbeds">SDXL only: [B, pooled width] pooled text embeddings.</param>
    /// <param name="timeIds">SDXL only: [B, k] micro-conditioning (orig h, w, crop top, left, target h, w).</param>
    /// <param name="ct">Checked between blocks.</param>
    /// <returns>[B, out_channels, h, w].</returns>
    public Tensor Forward(Tensor sample, float timestep, Tensor encoderHiddenStates, Tensor? textEmbeds = null, Tensor? timeIds = null,
        CancellationToken ct = default)
    {
        _ = _backend ?? throw DescribeOnly.Error();
        ValidateInputs(sample, encoderHiddenStates, textEmbeds, timeIds);
        var timesteps = new float[sample.Dim(0)];
        Array.Fill(timesteps, timestep);
        return ForwardCore(sample, new Tensor(timesteps, timesteps.Length), encoderHiddenStates, textEmbeds, timeIds, ct);
    }

    /// <summary>Builds the graph on a tracing (or any) builder; see <see cref="Compiled.Tracing.ForwardTracer"/>.</summary>
    internal static UNet2DConditionModel Build(UNet2DConditionConfig cfg, ModuleBuilder b) => new(cfg, b);

    /// <summary>The forward pass with every input a tensor (timesteps [B]), so that a trace sees all of it.</summary>
    internal Tensor ForwardCore(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates, Tensor? textEmbeds, Tensor? timeIds,
        CancellationToken ct)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        if (_config.CenterInputSample) sample = be.Affine(sample, 2, -1);

        var emb = TimeEmbedding(timesteps, textEmbeds, timeIds);
        // Every ResNet applies SiLU to the embedding before its projection: do it once.
        var embAct = be.Activate(emb, Activation.Silu);
        var context = encoderHiddenStates;

        var h = _convIn.Forward(sample);
        var skips = new List<Tensor> { h };
        foreach (var block in _down)
        {
            ct.ThrowIfCancellationRequested();
            h = block.Forward(h, embAct, context, skips, ct);
        }
        ct.ThrowIfCancellationRequested();
        h = _mid.Forward(h, embAct, context, ct);
        foreach (var block in _up)
        {
            ct.ThrowIfCancellationRequested();
            h = block.Forward(h, embAct, context, skips, ct);
        }
        return _convOut.Forward(_normOut.Forward(h, silu: true));
    }

    private Tensor TimeEmbedding(Tensor timesteps, Tensor? textEmbeds, Tensor? timeIds)
    {
        var be = _backend!;
        var sinusoid = be.TimestepEmbedding(timesteps, _config.TimestepInputDim, _config.FlipSinToCos, _config.FreqShift);
        var emb = _timeLinear2.Forward(be.Activate(_timeLinear1.Forward(sinusoid), Activation.Silu));
        if (_addLinear1 is null) return emb;

        // SDXL "text_time": each time id gets its own sinusoid; [text_embeds, time part] → add_embedding.
        var timePart = be.TimestepEmbedding(timeIds!, _config.AdditionTimeEmbedDim!.Value, _config.FlipSinToCos, _config.FreqShift);
        var addInput = be.Concat(textEmbeds!, timePart, axis: 1);
        var aug = _addLinear2!.Forward(be.Activate(_addLinear1.Forward(addInput), Activation.Silu));
        return be.Add(emb, aug);
    }

    private void ValidateInputs(Tensor sample, Tensor context, Tensor? textEmbeds, Tensor? timeIds)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(context);
        if (sample.Rank != 4 || sample.Dim(1) != _config.InChannels || sample.Dim(0) < 1)
            throw BadInput("sample", $"must be [B, {_config.InChannels}, h, w], got {sample}");
        int batch = sample.Dim(0);
        int crossDim = _config.CrossAttentionDim.Max();
        if (context.Rank != 3 || context.Dim(0) != batch || _config.CrossAttentionDim.Any(d => d != context.Dim(2)) || context.Dim(1) < 1)
            throw BadInput("encoderHiddenStates", $"must be [{batch}, L, {crossDim}], got {context}");
        if (!_config.HasTextTimeEmbedding)
        {
            if (textEmbeds is not null || timeIds is not null)
                throw BadInput("textEmbeds", "this UNet has no added text/time conditioning (addition_embed_type is null); pass null");
            return;
        }
        if (textEmbeds is null || timeIds is null)
            throw BadInput(textEmbeds is null ? "textEmbeds" : "timeIds", "this UNet (addition_embed_type \"text_time\") needs textEmbeds and timeIds");
        if (textEmbeds.Rank != 2 || textEmbeds.Dim(0) != batch)
            throw BadInput("textEmbeds", $"must be [{batch}, D], got {textEmbeds}");
        if (timeIds.Rank != 2 || timeIds.Dim(0) != batch)
            throw BadInput("timeIds", $"must be [{batch}, k], got {timeIds}");
        int expected = _config.ProjectionClassEmbeddingsInputDim!.Value;
        int actual = textEmbeds.Dim(1) + timeIds.Dim(1) * _config.AdditionTimeEmbedDim!.Value;
        if (actual != expected)
            throw BadInput("textEmbeds", $"text_embeds width {textEmbeds.Dim(1)} + {timeIds.Dim(1)} time ids × {_config.AdditionTimeEmbedDim} = {actual}, but projection_class_embeddings_input_dim is {expected}");
    }

    private MixDQException BadInput(string argument, string message) =>
        new(ErrorCodes.InvalidArgument, $"UNet input '{argument}' {message}", _config.Path, argument);

    /// <summary>DownBlock2D / CrossAttnDownBlock2D: ResNets (each followed by a transformer), then a stride-2 conv.</summary>
    private sealed class DownBlock
    {
        private readonly ResnetBlock2D[] _resnets;
        private readonly Unet.Transformer2DModel?[] _attentions;
        private readonly ConvOp? _downsampler;

        public DownBlock(ModuleBuilder b, UNet2DConditionConfig cfg, int i, int inC, int outC)
        {
            string path = $"down_blocks.{i}";
            int layers = cfg.LayersPerBlock[i];
            _resnets = new ResnetBlock2D[layers];
            _attentions = new Unet.Transformer2DModel?[layers];
            for (int j = 0; j < layers; j++)
            {
                _resnets[j] = new ResnetBlock2D(b, $"{path}.resnets.{j}", j == 0 ? inC : outC, outC, cfg.TimeEmbedDim,
                    cfg.NormNumGroups, cfg.NormEps, cfg.ResnetOutScaleFactor);
                if (cfg.IsCrossAttnDown(i))
                    _attentions[j] = new Unet.Transformer2DModel(b, $"{path}.attentions.{j}", outC, cfg.AttentionHeads[i],
                        cfg.TransformerLayersPerBlock[i], cfg.CrossAttentionDim[i], cfg.NormNumGroups, cfg.UseLinearProjection,
                        cfg.OnlyCrossAttention[i]);
            }
            if (i < cfg.Levels - 1)
                _downsampler = b.Conv($"{path}.downsamplers.0.conv", outC, outC, 3, stride: 2, padding: cfg.DownsamplePadding);
        }

        public Tensor Forward(Tensor h, Tensor embAct, Tensor context, List<Tensor> skips, CancellationToken ct)
        {
            for (int j = 0; j < _resnets.Length; j++)
            {
                ct.ThrowIfCancellationRequested();
                h = _resnets[j].Forward(h, embAct);
                if (_attentions[j] is { } attn) h = attn.Forward(h, context, ct);
                skips.Add(h);
            }
            if (_downsampler is not null)
            {
                h = _downsampler.Forward(h);
                skips.Add(h);
            }
            return h;
        }
    }

    /// <summary>UNetMidBlock2DCrossAttn: ResNet → transformer → ResNet at the lowest resolution.</summary>
    private sealed class MidBlock
    {
        private readonly ResnetBlock2D _resnet0, _resnet1;
        private readonly Unet.Transformer2DModel _attention;

        public MidBlock(ModuleBuilder b, UNet2DConditionConfig cfg)
        {
            int c = cfg.BlockOutChannels[^1];
            _resnet0 = new ResnetBlock2D(b, "mid_block.resnets.0", c, c, cfg.TimeEmbedDim, cfg.NormNumGroups, cfg.NormEps, cfg.MidBlockScaleFactor);
            _attention = new Unet.Transformer2DModel(b, "mid_block.attentions.0", c, cfg.AttentionHeads[^1],
                cfg.TransformerLayersPerBlock[^1], cfg.CrossAttentionDim[^1], cfg.NormNumGroups, cfg.UseLinearProjection,
                onlyCrossAttention: false);
            _resnet1 = new ResnetBlock2D(b, "mid_block.resnets.1", c, c, cfg.TimeEmbedDim, cfg.NormNumGroups, cfg.NormEps, cfg.MidBlockScaleFactor);
        }

        public Tensor Forward(Tensor h, Tensor embAct, Tensor context, CancellationToken ct)
        {
            h = _resnet0.Forward(h, embAct);
            h = _attention.Forward(h, context, ct);
            return _resnet1.Forward(h, embAct);
        }
    }

    /// <summary>
    /// UpBlock2D / CrossAttnUpBlock2D: for each ResNet, concat [h, last skip] on channels, ResNet, transformer;
    /// then nearest upsampling to the next skip's size and a 3×3 conv.
    /// </summary>
    private sealed class UpBlock
    {
        private readonly IComputeBackend? _backend;
        private readonly ResnetBlock2D[] _resnets;
        private readonly Unet.Transformer2DModel?[] _attentions;
        private readonly ConvOp? _upsampler;

        public UpBlock(ModuleBuilder b, UNet2DConditionConfig cfg, int i, int level, int prevC, int outC, int skipInC)
        {
            _backend = b.Backend;
            string path = $"up_blocks.{i}";
            int layers = cfg.LayersPerBlock[level] + 1;
            _resnets = new ResnetBlock2D[layers];
            _attentions = new Unet.Transformer2DModel?[layers];
            for (int j = 0; j < layers; j++)
            {
                int skipC = j == layers - 1 ? skipInC : outC;
                int resIn = j == 0 ? prevC : outC;
                _resnets[j] = new ResnetBlock2D(b, $"{path}.resnets.{j}", resIn + skipC, outC, cfg.TimeEmbedDim,
                    cfg.NormNumGroups, cfg.NormEps, cfg.ResnetOutScaleFactor);
                if (cfg.IsCrossAttnUp(i))
                    _attentions[j] = new Unet.Transformer2DModel(b, $"{path}.attentions.{j}", outC, cfg.AttentionHeads[level],
                        cfg.TransformerLayersPerBlock[level], cfg.CrossAttentionDim[level], cfg.NormNumGroups, cfg.UseLinearProjection,
                        cfg.OnlyCrossAttention[level]);
            }
            if (i < cfg.Levels - 1) _upsampler = b.Conv($"{path}.upsamplers.0.conv", outC, outC, 3);
        }

        public Tensor Forward(Tensor h, Tensor embAct, Tensor context, List<Tensor> skips, CancellationToken ct)
        {
            var be = _backend!;
            for (int j = 0; j < _resnets.Length; j++)
            {
                ct.ThrowIfCancellationRequested();
                var skip = skips[^1];
                skips.RemoveAt(skips.Count - 1);
                h = _resnets[j].Forward(be.Concat(h, skip, axis: 1), embAct);
                if (_attentions[j] is { } attn) h = attn.Forward(h, context, ct);
            }
            if (_upsampler is not null)
            {
                // diffusers upsamples 2× or, for sizes not divisible by 2^levels, to the next skip's size;
                // both equal the next skip's size.
                var next = skips[^1];
                h = _upsampler.Forward(be.UpsampleNearest(h, next.Dim(2), next.Dim(3)));
            }
            return h;
        }
    }
}
