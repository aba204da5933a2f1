using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.Runtime.Pipelines;

/// <summary>The two pipeline families the runtime runs.</summary>
public enum ModelFamily
{
    /// <summary>StableDiffusionPipeline: SD 1.x / 2.x / SD-Turbo (one CLIP text encoder).</summary>
    StableDiffusion,
    /// <summary>StableDiffusionXLPipeline: SDXL / SDXL-Turbo (two text encoders, text_time conditioning).</summary>
    StableDiffusionXL,
}

/// <summary>The loaded parts of a diffusers folder.</summary>
internal sealed class ModelComponents : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public required string Directory { get; init; }
    public required ModelFamily Family { get; init; }
    public required ClipTokenizer Tokenizer { get; init; }
    public ClipTokenizer? Tokenizer2 { get; init; }
    public required ClipTextModel TextEncoder { get; init; }
    public ClipTextModel? TextEncoder2 { get; init; }
    public required UNet2DConditionConfig UnetConfig { get; init; }
    public required UNet2DConditionModel Unet { get; init; }
    public required AutoencoderKLConfig VaeConfig { get; init; }
    public required AutoencoderKLDecoder Vae { get; init; }
    public required SchedulerConfig SchedulerConfig { get; init; }
    public required IReadOnlyList<LayerInfo> Layers { get; init; }
    public PipelineLoadOptions Options { get; init; } = new();

    public int VaeScaleFactor => 1 << (VaeConfig.BlockOutChannels.Count - 1);

    /// <summary>Reads model_index.json and tells the family, or explains why the folder is not a supported model.</summary>
    public static ModelFamily DetectFamily(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new MixDQException(ErrorCodes.ModelFolderMissing, "the model folder does not exist", directory);
        string indexPath = Path.Combine(directory, "model_index.json");
        if (!File.Exists(indexPath))
            throw new MixDQException(ErrorCodes.NotADiffusersModel, "not a diffusers model folder: model_index.json is missing", directory);
        var index = ModelIndex.Load(indexPath);
        return index.ClassName switch
        {
            "StableDiffusionPipeline" => ModelFamily.StableDiffusion,
            "StableDiffusionXLPipeline" => ModelFamily.StableDiffusionXL,
            _ => throw new MixDQException(ErrorCodes.ConfigUnsupportedValue,
                $"pipeline class '{index.ClassName}' is not supported (StableDiffusionPipeline, StableDiffusionXLPipeline are)", indexPath, "_class_name"),
        };
    }

    public static ModelComponents Load(string directory, IComputeBackend backend, PipelineLoadOptions options)
    {
        var family = DetectFamily(directory);
        string Sub(string name) => Path.Combine(directory, name);
        var precision = options.Precision;
        var owned = new List<IDisposable>();
        try
        {
            ITensorSource Weights(string component, string baseName)
            {
                var source = TensorFiles.OpenComponentWeights(Sub(component), baseName, options.PreferFp16Weights);
                if (source is IDisposable d) owned.Add(d);
                return source;
            }

            var tokenizer = ClipTokenizer.FromFolder(Sub("tokenizer"));
            var teConfig = ClipTextConfig.Load(Path.Combine(Sub("text_encoder"), "config.json"));
            var textEncoder = ClipTextModel.Create(teConfig, Weights("text_encoder", "model"), backend, "text_encoder",
                withProjection: false, precision, options.Warnings);
            ClipTokenizer? tokenizer2 = null;
            ClipTextModel? textEncoder2 = null;
            if (family == ModelFamily.StableDiffusionXL)
            {
                tokenizer2 = ClipTokenizer.FromFolder(Sub("tokenizer_2"));
                var te2Config = ClipTextConfig.Load(Path.Combine(Sub("text_encoder_2"), "config.json"));
                textEncoder2 = ClipTextModel.Create(te2Config, Weights("text_encoder_2", "model"), backend, "text_encoder_2",
                    withProjection: true, precision, options.Warnings);
            }
            var unetConfig = UNet2DConditionConfig.Load(Path.Combine(Sub("unet"), "config.json"));
            var unet = UNet2DConditionModel.Create(unetConfig, Weights("unet", "diffusion_pytorch_model"), backend, precision, options.Warnings);
            var vaeConfig = AutoencoderKLConfig.Load(Path.Combine(Sub("vae"), "config.json"));
            var vae = AutoencoderKLDecoder.Create(vaeConfig, Weights("vae", "diffusion_pytorch_model"), backend, precision, options.Warnings);
            var schedulerConfig = SchedulerFactory.LoadConfig(Path.Combine(Sub("scheduler"), "scheduler_config.json"));

            var layers = new List<LayerInfo>();
            layers.AddRange(textEncoder.Layers);
            if (textEncoder2 is not null) layers.AddRange(textEncoder2.Layers);
            layers.AddRange(unet.Layers);
            layers.AddRange(vae.Layers);
            var components = new ModelComponents
            {
                Directory = directory,
                Family = family,
                Tokenizer = tokenizer,
                Tokenizer2 = tokenizer2,
                TextEncoder = textEncoder,
                TextEncoder2 = textEncoder2,
                UnetConfig = unetConfig,
                Unet = unet,
                VaeConfig = vaeConfig,
                Vae = vae,
                SchedulerConfig = schedulerConfig,
                Layers = layers,
                Options = options,
            };
            components._owned.AddRange(owned);
            return components;
        }
        catch
        {
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    /// <summary>Loads the TAESD decoder from a <c>taesd</c> folder inside the model folder.</summary>
    public TaesdDecoder LoadTaesd(IComputeBackend backend)
    {
        string dir = Path.Combine(Directory, "taesd");
        if (!System.IO.Directory.Exists(dir))
            throw new MixDQException(ErrorCodes.ModelFolderMissing,
                "no TAESD decoder: put the diffusers AutoencoderTiny folder (madebyollin/taesd or taesdxl) at <model>/taesd", dir);
        var config = AutoencoderTinyConfig.Load(Path.Combine(dir, "config.json"));
        var source = TensorFiles.OpenComponentWeights(dir, "diffusion_pytorch_model", Options.PreferFp16Weights);
        if (source is IDisposable d) _owned.Add(d);
        return TaesdDecoder.Create(config, source, backend, Options.Precision, Options.Warnings);
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        _owned.Clear();
    }
}
