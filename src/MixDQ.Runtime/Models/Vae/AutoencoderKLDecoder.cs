using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// The decoder half of diffusers AutoencoderKL: post_quant_conv → conv_in → mid block (ResNet, single-head
/// attention, ResNet) → UpDecoderBlock2D stages → GroupNorm → SiLU → conv_out.
/// </summary>
public sealed class AutoencoderKLDecoder
{
    public const string ComponentName = "vae";

    /// <summary>
    /// The VAE file also holds the encoder (<c>encoder.*</c>, <c>quant_conv.*</c>), which decoding does not use;
    /// older files name the mid attention <c>query/key/value/proj_attn</c> and store its linear weights as 1×1 convs.
    /// </summary>
    public static readonly WeightBindingRules BindingRules = new()
    {
        IsKnownExtra = name => name.StartsWith("encoder.", StringComparison.Ordinal) || name.StartsWith("quant_conv.", StringComparison.Ordinal),
        LegacyName = LegacyAttentionName,
        AcceptConvShapedLinearWeights = true,
    };

    private readonly AutoencoderKLConfig _config;
    private readonly IComputeBackend? _backend;
    private readonly ConvOp? _postQuantConv;
    private readonly ConvOp _convIn;
    private readonly ResnetBlock2D _midResnet0, _midResnet1;
    private readonly MidAttention? _midAttention;
    private readonly (ResnetBlock2D[] Resnets, ConvOp? Upsampler)[] _up;
    private readonly GroupNormOp _normOut;
    private readonly ConvOp _convOut;

    private AutoencoderKLDecoder(AutoencoderKLConfig cfg, ModuleBuilder b)
    {
        _config = cfg;
        _backend = b.Backend;
        var ch = cfg.BlockOutChannels;
        int groups = cfg.NormNumGroups, top = ch[^1];
        double eps = cfg.NormEps;
        if (cfg.UsePostQuantConv) _postQuantConv = b.Conv("post_quant_conv", cfg.LatentChannels, cfg.LatentChannels, 1);
        _convIn = b.Conv("decoder.conv_in", top, cfg.LatentChannels, 3);
        _midResnet0 = new ResnetBlock2D(b, "decoder.mid_block.resnets.0", top, top, null, groups, eps, 1);
        if (cfg.MidBlockAddAttention) _midAttention = new MidAttention(b, "decoder.mid_block.attentions.0", top, groups, eps);
        _midResnet1 = new ResnetBlock2D(b, "decoder.mid_block.resnets.1", top, top, null, groups, eps, 1);

        _up = new (ResnetBlock2D[], ConvOp?)[ch.Count];
        int outC = top;
        for (int i = 0; i < ch.Count; i++)
        {
            int prevC = outC;
            outC = ch[ch.Count - 1 - i];
            var resnets = new ResnetBlock2D[cfg.LayersPerBlock + 1];
            for (int j = 0; j < resnets.Length; j++)
                resnets[j] = new ResnetBlock2D(b, $"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? prevC : outC, outC, null, groups, eps, 1);
            var up = i < ch.Count - 1 ? b.Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", outC, outC, 3) : null;
            _up[i] = (resnets, up);
        }
        _normOut = b.GroupNorm("decoder.conv_norm_out", ch[0], groups, eps);
        _convOut = b.Conv("decoder.conv_out", cfg.OutChannels, ch[0], 3);
        Layers = b.Layers;
        Bindings = b.Bindings;
    }

    public AutoencoderKLConfig Config => _config;

    /// <summary>Every quantizable layer (component <c>vae</c>).</summary>
    /// <summary>Prepared layers and parameters by name, as bound at load (what generated forward passes use).</summary>
    internal IReadOnlyDictionary<string, object> Bindings { get; }

    public IReadOnlyList<LayerInfo> Layers { get; }

    /// <summary>post_quant_conv and decoder.* weights (the file's encoder.* and quant_conv.* are known extras).</summary>
    public static IReadOnlyList<TensorInfo> ExpectedTensors(AutoencoderKLConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new AutoencoderKLDecoder(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Expected;

    public static IReadOnlyList<LayerInfo> DescribeLayers(AutoencoderKLConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new AutoencoderKLDecoder(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Layers;

    /// <summary>Binds the weights (one WeightsMismatch error listing every problem) and prepares the layers.</summary>
    /// <param name="cfg">The resolved vae config.</param>
    /// <param name="weights">The VAE file (encoder tensors are ignored).</param>
    /// <param name="backend">Runs every op.</param>
    /// <param name="precision">Precision per layer; null = FP32.</param>
    /// <param name="warnings">Receives NaN/Inf weight warnings.</param>
    public static AutoencoderKLDecoder Create(AutoencoderKLConfig cfg, ITensorSource weights, IComputeBackend backend,
        Func<LayerInfo, LayerPrecision>? precision = null, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(backend);
        var bound = WeightBinder.Bind(ExpectedTensors(cfg), weights, BindingRules, warnings);
        return new AutoencoderKLDecoder(cfg, ModuleBuilder.Build(ComponentName, backend, bound, precision));
    }

    /// <summary>Builds the graph on a tracing (or any) builder; see <see cref="Compiled.Tracing.ForwardTracer"/>.</summary>
    internal static AutoencoderKLDecoder Build(AutoencoderKLConfig cfg, ModuleBuilder b) => new(cfg, b);

    /// <summary>Decodes latents already divided by the scaling factor.</summary>
    /// <param name="z">[B, latent_channels, h, w].</param>
    /// <param name="ct">Checked between stages.</param>
    /// <returns>[B, out_channels, 8h, 8w] (for 4 levels), roughly in [−1, 1].</returns>
    public Tensor Decode(Tensor z, CancellationToken ct = default)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        ArgumentNullException.ThrowIfNull(z);
        if (z.Rank != 4 || z.Dim(1) != _config.LatentChannels)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"VAE input must be [B, {_config.LatentChannels}, h, w], got {z}", _config.Path, "z");
        var h = _postQuantConv?.Forward(z) ?? z;
        h = _convIn.Forward(h);
        h = _midResnet0.Forward(h, null);
        if (_midAttention is not null) h = _midAttention.Forward(h);
        h = _midResnet1.Forward(h, null);
        foreach (var (resnets, upsampler) in _up)
        {
            foreach (var r in resnets)
            {
                ct.ThrowIfCancellationRequested();
                h = r.Forward(h, null);
            }
            if (upsampler is not null) h = upsampler.Forward(be.UpsampleNearest(h, h.Dim(2) * 2, h.Dim(3) * 2));
        }
        // The decoder's final activation is always SiLU (nn.SiLU in diffusers' Decoder), whatever act_fn says.
        return _convOut.Forward(_normOut.Forward(h, silu: true));
    }

    private static string? LegacyAttentionName(string name)
    {
        const string prefix = "decoder.mid_block.attentions.0.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        string rest = name[prefix.Length..];
        string? mapped = rest switch
        {
            "query.weight" => "to_q.weight",
            "query.bias" => "to_q.bias",
            "key.weight" => "to_k.weight",
            "key.bias" => "to_k.bias",
            "value.weight" => "to_v.weight",
            "value.bias" => "to_v.bias",
            "proj_attn.weight" => "to_out.0.weight",
            "proj_attn.bias" => "to_out.0.bias",
            _ => null,
        };
        return mapped is null ? null : prefix + mapped;
    }

    /// <summary>The VAE mid-block attention: GroupNorm, one head over all pixels, linear q/k/v/out with bias, + input.</summary>
    private sealed class MidAttention
    {
        private readonly IComputeBackend? _backend;
        private readonly GroupNormOp _norm;
        private readonly LinearOp _q, _k, _v, _out;

        public MidAttention(ModuleBuilder b, string path, int channels, int groups, double eps)
        {
            _backend = b.Backend;
            _norm = b.GroupNorm(path + ".group_norm", channels, groups, eps);
            _q = b.Linear(path + ".to_q", channels, channels);
            _k = b.Linear(path + ".to_k", channels, channels);
            _v = b.Linear(path + ".to_v", channels, channels);
            _out = b.Linear(path + ".to_out.0", channels, channels);
        }

        public Tensor Forward(Tensor x)
        {
            var be = _backend ?? throw DescribeOnly.Error();
            var tokens = be.NchwToTokens(_norm.Forward(x));
            var a = be.Attention(_q.Forward(tokens), _k.Forward(tokens), _v.Forward(tokens), heads: 1, causal: false);
            return be.Add(be.TokensToNchw(_out.Forward(a), x.Dim(2), x.Dim(3)), x);
        }
    }
}
