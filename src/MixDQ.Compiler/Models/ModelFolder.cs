using System.Text.Json;
using MixDQ.Runtime.Diagnostics;
using MixDQ.Runtime.IO;

namespace MixDQ.Compiler.Models;

/// <summary>What a component of a diffusers pipeline is, as far as the compiler cares.</summary>
public enum ComponentRole
{
    /// <summary>A network with weights (UNet, text encoders, VAE).</summary>
    Network,
    /// <summary>Text files only (tokenizer vocabulary, scheduler config).</summary>
    Files,
}

/// <summary>
/// One entry of <c>model_index.json</c>: its folder, config, the weight file the compiler reads and the
/// small text files the runtime needs (configs, tokenizer files) that travel inside the artifact.
/// </summary>
public sealed record ModelComponent(
    string Name,
    string Library,
    string ClassName,
    ComponentRole Role,
    string Directory,
    string? ConfigJson,
    SafetensorsFile? Weights,
    IReadOnlyList<string> TextFiles)
{
    /// <summary>The weight file relative to the model folder, '/'-separated.</summary>
    public string? WeightsRelativePath { get; init; }
}

/// <summary>
/// A diffusers pipeline folder opened and checked: <c>model_index.json</c>, every component folder, its
/// config and its weight file (memory-mapped, header validated; no tensor data read). Dispose to unmap.
/// </summary>
public sealed class ModelFolder : IDisposable
{
    /// <summary>Component classes with weights that the runtime implements.</summary>
    public static readonly IReadOnlySet<string> NetworkClasses = new HashSet<string>(StringComparer.Ordinal)
    {
        "UNet2DConditionModel", "AutoencoderKL", "AutoencoderTiny", "CLIPTextModel", "CLIPTextModelWithProjection",
    };

    /// <summary>
    /// The optional TAESD decoder lives in <c>&lt;model&gt;/taesd</c> (where the runtime looks for it), not in
    /// model_index.json; when present it is compiled like the other networks.
    /// </summary>
    public const string TaesdComponent = "taesd";

    /// <summary>Components a text-to-image pipeline cannot run without.</summary>
    public static readonly IReadOnlyList<string> RequiredComponents = ["unet", "vae", "text_encoder", "tokenizer", "scheduler"];

    /// <summary>Weight files in order of preference: full precision first (the analysis wants it), then FP16.</summary>
    public static readonly IReadOnlyList<string> WeightFileNames =
    [
        "diffusion_pytorch_model.safetensors", "model.safetensors",
        "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors",
    ];

    private ModelFolder(string root, string pipelineClass, string modelIndexJson, IReadOnlyList<ModelComponent> components)
    {
        Root = root;
        PipelineClass = pipelineClass;
        ModelIndexJson = modelIndexJson;
        Components = components;
    }

    /// <summary>Absolute path of the folder.</summary>
    public string Root { get; }

    /// <summary><c>_class_name</c> of model_index.json, e.g. StableDiffusionPipeline.</summary>
    public string PipelineClass { get; }

    public string ModelIndexJson { get; }

    /// <summary>Components in model_index.json order, without null entries and without unsupported extras.</summary>
    public IReadOnlyList<ModelComponent> Components { get; }

    public ModelComponent? Find(string name) => Components.FirstOrDefault(c => c.Name == name);

    public void Dispose()
    {
        foreach (var c in Components) c.Weights?.Dispose();
    }

    /// <summary>Every file whose bytes define the compiled result ('/'-separated, relative to <see cref="Root"/>).</summary>
    public IEnumerable<string> InputFiles()
    {
        yield return "model_index.json";
        foreach (var c in Components)
        {
            foreach (var f in c.TextFiles) yield return f;
            if (c.WeightsRelativePath is not null) yield return c.WeightsRelativePath;
        }
    }

    public static ModelFolder Open(string directory)
    {
        string root = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(root))
            throw new MixDQException(ErrorCodes.ModelFolderMissing, $"model folder '{directory}' does not exist", root);
        string indexPath = Path.Combine(root, "model_index.json");
        if (!File.Exists(indexPath))
            throw new MixDQException(ErrorCodes.NotADiffusersModel,
                "the folder is not a diffusers pipeline: it has no model_index.json", root);

        string indexJson = ReadText(indexPath);
        using var doc = ParseJson(indexJson, indexPath);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new MixDQException(ErrorCodes.ConfigInvalid, "model_index.json is not a JSON object", indexPath);
        string pipelineClass = doc.RootElement.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String
            ? cls.GetString()!
            : throw new MixDQException(ErrorCodes.ConfigInvalid, "model_index.json has no _class_name", indexPath, "_class_name");

        var components = new List<ModelComponent>();
        try
        {
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name.StartsWith('_') || prop.Value.ValueKind != JsonValueKind.Array) continue;
                if (prop.Value.GetArrayLength() != 2) continue;
                var lib = prop.Value[0];
                var klass = prop.Value[1];
                if (lib.ValueKind != JsonValueKind.String || klass.ValueKind != JsonValueKind.String) continue; // [null, null]: absent
                var component = OpenComponent(root, prop.Name, lib.GetString()!, klass.GetString()!);
                if (component is not null) components.Add(component);
            }
            if (!components.Any(c => c.Name == TaesdComponent) && File.Exists(Path.Combine(root, TaesdComponent, "config.json")))
                components.Add(OpenComponent(root, TaesdComponent, "diffusers", "AutoencoderTiny")!);

            foreach (string required in RequiredComponents)
            {
                if (!components.Any(c => c.Name == required))
                    throw new MixDQException(ErrorCodes.NotADiffusersModel,
                        $"model_index.json names no supported '{required}' component; a text-to-image pipeline needs {string.Join(", ", RequiredComponents)}",
                        indexPath, required);
            }
            return new ModelFolder(root, pipelineClass, indexJson, components);
        }
        catch
        {
            foreach (var c in components) c.Weights?.Dispose();
            throw;
        }
    }

    private static ModelComponent? OpenComponent(string root, string name, string library, string className)
    {
        bool network = NetworkClasses.Contains(className);
        bool files = className.EndsWith("Tokenizer", StringComparison.Ordinal) || className.EndsWith("Scheduler", StringComparison.Ordinal);
        if (!network && !files) return null; // safety checker, feature extractor, ...: not used for text-to-image

        string dir = Path.Combine(root, name);
        if (!System.IO.Directory.Exists(dir))
            throw new MixDQException(ErrorCodes.NotADiffusersModel,
                $"model_index.json names component '{name}' ({className}) but the folder '{name}/' is missing", Path.Combine(root, "model_index.json"), name);

        var textFiles = System.IO.Directory.EnumerateFiles(dir)
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".txt", StringComparison.Ordinal))
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Where(f => !f.EndsWith(".safetensors.index.json", StringComparison.Ordinal))
            .Select(f => name + "/" + Path.GetFileName(f))
            .Order(StringComparer.Ordinal)
            .ToList();

        string? configJson = null;
        string configPath = Path.Combine(dir, "config.json");
        if (network || className.EndsWith("Scheduler", StringComparison.Ordinal))
        {
            string configFile = network ? configPath : Path.Combine(dir, "scheduler_config.json");
            if (!File.Exists(configFile))
                throw new MixDQException(ErrorCodes.ConfigMissing, $"component '{name}' has no {Path.GetFileName(configFile)}", configFile);
            configJson = ReadText(configFile);
            using var _ = ParseJson(configJson, configFile);
        }

        if (!network)
            return new ModelComponent(name, library, className, ComponentRole.Files, dir, configJson, null, textFiles);

        string? weightsFile = WeightFileNames.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists);
        if (weightsFile is null)
        {
            bool sharded = System.IO.Directory.EnumerateFiles(dir, "*.safetensors.index.json").Any();
            throw new MixDQException(ErrorCodes.WeightsFileMissing,
                sharded
                    ? $"component '{name}' has sharded weights (*.safetensors.index.json), which are not supported yet"
                    : $"component '{name}' has no weights file (looked for {string.Join(", ", WeightFileNames)})",
                dir);
        }
        var weights = SafetensorsFile.Open(weightsFile);
        return new ModelComponent(name, library, className, ComponentRole.Network, dir, configJson, weights, textFiles)
        {
            WeightsRelativePath = name + "/" + Path.GetFileName(weightsFile),
        };
    }

    private static string ReadText(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MixDQException(ErrorCodes.FileUnreadable, $"cannot read: {e.Message}", path);
        }
    }

    internal static JsonDocument ParseJson(string json, string path)
    {
        try { return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }); }
        catch (JsonException e)
        {
            throw new MixDQException(ErrorCodes.ConfigInvalid,
                $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", path);
        }
    }
}
