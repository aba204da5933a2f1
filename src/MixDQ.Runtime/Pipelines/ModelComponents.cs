using MixDQ.Runtime.Backends;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Schedulers;
using MixDQ.Runtime.Storage;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.Runtime.Pipelines;


/// <summary>The loaded parts of a diffusers model (a folder or a compiled artifact).</summary>
internal sealed class ModelComponents : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public required IModelStore Store { get; init; }
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

    /// <summary>The folder or artifact file the model came from.</summary>
    public string Directory => Store.Location;

    public int VaeScaleFactor => 1 << (VaeConfig.BlockOutChannels.Count - 1);

    /// <summary>Reads model_index.json and tells the family, or explains why the store is not a supported model.</summary>
    public static ModelFamily DetectFamily(IModelStore store)
    {
        const string indexFile = "model_index.json";
        if (!store.FileExists(indexFile))
            throw new MixDQException(ErrorCodes.NotADiffusersModel, "not a diffusers model folder: model_index.json is missing", store.Location);
        // ModelIndex rejects pipeline classes other than the two families (MIXDQ023, naming _class_name).
        return ModelIndex.Parse(store.ReadText(indexFile), store.PathOf(indexFile)).Kind;
    }

    /// <summary>Loads a diffusers folder (the store is made here and needs no disposing).</summary>
    public static ModelComponents Load(string directory, IComputeBackend backend, PipelineLoadOptions options) =>
        Load(new FolderModelStore(directory), backend, options);

    /// <summary>Loads every part the pipeline runs from <paramref name="store"/>, which must outlive the result.</summary>
    public static ModelComponents Load(IModelStore store, IComputeBackend backend, PipelineLoadOptions options)
    {
        var family = DetectFamily(store);
        var precision = options.Precision;
        var owned = new List<IDisposable>();
        try
        {
            ITensorSource Weights(string component, string baseName)
            {
                var source = store.OpenWeights(component, baseName, options.PreferFp16Weights);
                owned.Add(source);
                return source;
            }

            var tokenizer = LoadTokenizer(store, "tokenizer");
            var teConfig = ClipTextConfig.Parse(store.ReadText("text_encoder/config.json"), store.PathOf("text_encoder/config.json"));
            var textEncoder = ClipTextModel.Create(teConfig, Weights("text_encoder", "model"), backend, "text_encoder",
                withProjection: false, precision, options.Warnings);
            ClipTokenizer? tokenizer2 = null;
            ClipTextModel? textEncoder2 = null;
            if (family == ModelFamily.StableDiffusionXL)
            {
                tokenizer2 = LoadTokenizer(store, "tokenizer_2");
                var te2Config = ClipTextConfig.Parse(store.ReadText("text_encoder_2/config.json"), store.PathOf("text_encoder_2/config.json"));
                textEncoder2 = ClipTextModel.Create(te2Config, Weights("text_encoder_2", "model"), backend, "text_encoder_2",
                    withProjection: true, precision, options.Warnings);
            }
            var unetConfig = UNet2DConditionConfig.Parse(store.ReadText("unet/config.json"), store.PathOf("unet/config.json"));
            var unet = UNet2DConditionModel.Create(unetConfig, Weights("unet", "diffusion_pytorch_model"), backend, precision, options.Warnings);
            var vaeConfig = AutoencoderKLConfig.Parse(store.ReadText("vae/config.json"), store.PathOf("vae/config.json"));
            var vae = AutoencoderKLDecoder.Create(vaeConfig, Weights("vae", "diffusion_pytorch_model"), backend, precision, options.Warnings);
            var schedulerConfig = SchedulerFactory.ParseConfig(store.ReadText("scheduler/scheduler_config.json"),
                store.PathOf("scheduler/scheduler_config.json"));

            var layers = new List<LayerInfo>();
            layers.AddRange(textEncoder.Layers);
            if (textEncoder2 is not null) layers.AddRange(textEncoder2.Layers);
            layers.AddRange(unet.Layers);
            layers.AddRange(vae.Layers);
            var components = new ModelComponents
            {
                Store = store,
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

    /// <summary>A tokenizer sub-folder's files, read through the store.</summary>
    private static ClipTokenizer LoadTokenizer(IModelStore store, string component)
    {
        if (!store.HasComponent(component))
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, "tokenizer folder not found", store.PathOf(component));
        return ClipTokenizer.FromFiles(name =>
        {
            string rel = component + "/" + name;
            return store.FileExists(rel) ? ReadTokenizerFile(store, rel) : null;
        }, store.PathOf(component));
    }

    /// <summary>A tokenizer file's text; a read failure is a tokenizer error (<c>MIXDQ040</c>), as for a folder.</summary>
    private static string ReadTokenizerFile(IModelStore store, string relativePath)
    {
        try
        {
            return store.ReadText(relativePath);
        }
        catch (MixDQException e) when (e.Code != ErrorCodes.TokenizerFilesInvalid)
        {
            throw new MixDQException(ErrorCodes.TokenizerFilesInvalid, e.Message, store.PathOf(relativePath), inner: e);
        }
    }

    /// <summary>Loads the TAESD decoder from the model's <c>taesd</c> component (a folder, or packed in an artifact).</summary>
    public TaesdDecoder LoadTaesd(IComputeBackend backend)
    {
        if (!Store.HasComponent("taesd"))
            throw new MixDQException(ErrorCodes.ModelFolderMissing,
                "no TAESD decoder: put the diffusers AutoencoderTiny folder (madebyollin/taesd or taesdxl) at <model>/taesd", Store.PathOf("taesd"));
        var config = AutoencoderTinyConfig.Parse(Store.ReadText("taesd/config.json"), Store.PathOf("taesd/config.json"));
        var source = Store.OpenWeights("taesd", "diffusion_pytorch_model", Options.PreferFp16Weights);
        _owned.Add(source);
        return TaesdDecoder.Create(config, source, backend, Options.Precision, Options.Warnings);
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        _owned.Clear();
    }
}
