using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Models;

/// <summary>
/// The decoder of diffusers AutoencoderTiny (TAESD / TAESDXL), keys <c>decoder.layers.N.*</c>:
/// 3·tanh(x/3) → conv + act → stages of [blocks, nearest upsample, conv without bias] → blocks → conv,
/// returned as x·2 − 1 (diffusers' wrapping) so the VAE's postprocess applies unchanged.
/// </summary>
public sealed class TaesdDecoder
{
    public const string ComponentName = "taesd";

    /// <summary>The AutoencoderTiny file also holds the encoder (<c>encoder.*</c>), unused here.</summary>
    public static readonly WeightBindingRules BindingRules = new()
    {
        IsKnownExtra = name => name.StartsWith("encoder.", StringComparison.Ordinal),
    };

    private readonly AutoencoderTinyConfig _config;
    private readonly IComputeBackend? _backend;
    private readonly Activation _act;
    private readonly List<Layer> _layers = [];

    private TaesdDecoder(AutoencoderTinyConfig cfg, ModuleBuilder b)
    {
        _config = cfg;
        _backend = b.Backend;
        _act = cfg.ActFn switch
        {
            "relu" => Activation.Relu,
            "gelu" => Activation.Gelu,
            _ => Activation.Silu,
        };
        var ch = cfg.DecoderBlockOutChannels;
        // Indices follow diffusers' DecoderTiny nn.Sequential, where activations and upsamplers take a slot too.
        int index = 0;
        _layers.Add(new Layer(LayerKind.Conv, b.Conv($"decoder.layers.{index++}", ch[0], cfg.LatentChannels, 3), null));
        _layers.Add(new Layer(LayerKind.Activation, null, null));
        index++;
        for (int i = 0; i < ch.Count; i++)
        {
            bool final = i == ch.Count - 1;
            int c = ch[i];
            for (int k = 0; k < cfg.NumDecoderBlocks[i]; k++)
                _layers.Add(new Layer(LayerKind.Block, null, new Block(b, $"decoder.layers.{index++}", c, _act)));
            if (!final)
            {
                _layers.Add(new Layer(LayerKind.Upsample, null, null));
                index++;
            }
            _layers.Add(new Layer(LayerKind.Conv, b.Conv($"decoder.layers.{index++}", final ? cfg.OutChannels : c, c, 3, bias: final), null));
        }
        Layers = b.Layers;
    }

    public AutoencoderTinyConfig Config => _config;

    /// <summary>Every quantizable layer (component <c>taesd</c>).</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }

    public static IReadOnlyList<TensorInfo> ExpectedTensors(AutoencoderTinyConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new TaesdDecoder(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Expected;

    public static IReadOnlyList<LayerInfo> DescribeLayers(AutoencoderTinyConfig cfg)
        => ModuleBuilder.Describe(ComponentName, b => _ = new TaesdDecoder(cfg ?? throw new ArgumentNullException(nameof(cfg)), b)).Layers;

    /// <summary>Binds the weights (one WeightsMismatch error listing every problem) and prepares the layers.</summary>
    /// <param name="cfg">The resolved AutoencoderTiny config.</param>
    /// <param name="weights">The TAESD file (encoder tensors are ignored).</param>
    /// <param name="backend">Runs every op.</param>
    /// <param name="precision">Precision per layer; null = FP32.</param>
    /// <param name="warnings">Receives NaN/Inf weight warnings.</param>
    public static TaesdDecoder Create(AutoencoderTinyConfig cfg, ITensorSource weights, IComputeBackend backend,
        Func<LayerInfo, LayerPrecision>? precision = null, IProgress<MixDQWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(backend);
        var bound = WeightBinder.Bind(ExpectedTensors(cfg), weights, BindingRules, warnings);
        return new TaesdDecoder(cfg, ModuleBuilder.Build(ComponentName, backend, bound, precision));
    }

    /// <summary>Decodes UNet-space latents as they are (TAESD's scaling factor is 1).</summary>
    /// <param name="latents">[B, latent_channels, h, w].</param>
    /// <param name="ct">Checked between layers.</param>
    /// <returns>[B, out_channels, f·h, f·w] in diffusers' [−1, 1] convention.</returns>
    public Tensor Decode(Tensor latents, CancellationToken ct = default)
    {
        var be = _backend ?? throw DescribeOnly.Error();
        ArgumentNullException.ThrowIfNull(latents);
        if (latents.Rank != 4 || latents.Dim(1) != _config.LatentChannels)
            throw new MixDQException(ErrorCodes.InvalidArgument, $"TAESD input must be [B, {_config.LatentChannels}, h, w], got {latents}", _config.Path, "latents");
        // Soft clamp of the latents to (−3, 3).
        var x = be.Affine(be.Activate(be.Affine(latents, 1f / 3, 0), Activation.Tanh), 3, 0);
        int f = _config.UpsamplingScalingFactor;
        foreach (var layer in _layers)
        {
            ct.ThrowIfCancellationRequested();
            x = layer.Kind switch
            {
                LayerKind.Conv => layer.Conv!.Forward(x),
                LayerKind.Block => layer.Block!.Forward(x),
                LayerKind.Upsample => be.UpsampleNearest(x, x.Dim(2) * f, x.Dim(3) * f),
                _ => be.Activate(x, _act),
            };
        }
        return be.Affine(x, 2, -1);
    }

    private enum LayerKind { Conv, Activation, Block, Upsample }

    /// <summary>One slot of DecoderTiny's nn.Sequential.</summary>
    private sealed record Layer(LayerKind Kind, ConvOp? Conv, Block? Block);

    /// <summary>AutoencoderTinyBlock with equal widths: ReLU(conv(act(conv(act(conv x)))) + x).</summary>
    private sealed class Block
    {
        private readonly IComputeBackend? _backend;
        private readonly ConvOp _c0, _c2, _c4;
        private readonly Activation _act;

        public Block(ModuleBuilder b, string path, int channels, Activation act)
        {
            _backend = b.Backend;
            _c0 = b.Conv(path + ".conv.0", channels, channels, 3);
            _c2 = b.Conv(path + ".conv.2", channels, channels, 3);
            _c4 = b.Conv(path + ".conv.4", channels, channels, 3);
            _act = act;
        }

        public Tensor Forward(Tensor x)
        {
            var be = _backend ?? throw DescribeOnly.Error();
            var h = _c4.Forward(be.Activate(_c2.Forward(be.Activate(_c0.Forward(x), _act)), _act));
            // The fuse activation is always ReLU in AutoencoderTinyBlock.
            return be.Activate(be.Add(h, x), Activation.Relu);
        }
    }
}
