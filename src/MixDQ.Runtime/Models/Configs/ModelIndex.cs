using System.Text.Json;

namespace MixDQ.Runtime.Models.Configs;

/// <summary>One component entry of model_index.json: <c>[library, class]</c>.</summary>
public sealed record ModelComponent(string Name, string Library, string ClassName);

/// <summary>
/// A diffusers <c>model_index.json</c>: the pipeline class and its components. Entries written
/// <c>[null, null]</c> (no safety checker, no image encoder, ...) are absent components.
/// </summary>
public sealed class ModelIndex
{
    public const string StableDiffusionPipeline = "StableDiffusionPipeline";
    public const string StableDiffusionXLPipeline = "StableDiffusionXLPipeline";

    private ModelIndex() { }

    public string Path { get; private init; } = "";

    /// <summary><c>_class_name</c>.</summary>
    public string ClassName { get; private init; } = "";

    public ModelFamily Kind { get; private init; }

    /// <summary><c>_diffusers_version</c>, when present.</summary>
    public string? DiffusersVersion { get; private init; }

    /// <summary>The present components by name (<c>unet</c>, <c>vae</c>, <c>text_encoder</c>, ...).</summary>
    public IReadOnlyDictionary<string, ModelComponent> Components { get; private init; } = new Dictionary<string, ModelComponent>();

    /// <summary><c>force_zeros_for_empty_prompt</c> (SDXL; false when absent).</summary>
    public bool ForceZerosForEmptyPrompt { get; private init; }

    public bool RequiresSafetyChecker { get; private init; }

    public bool HasComponent(string name) => Components.ContainsKey(name);

    /// <summary>The component, or ConfigInvalid naming it when the index lacks it.</summary>
    public ModelComponent GetComponent(string name) => Components.TryGetValue(name, out var c)
        ? c
        : throw new Diagnostics.MixDQException(Diagnostics.ErrorCodes.ConfigInvalid, $"model_index.json has no '{name}' component", Path, name);

    public static ModelIndex Load(string path) => Parse(ConfigReader.ReadFile(path), path);

    public static ModelIndex Parse(string json, string path)
    {
        var r = ConfigReader.Parse(json, path);
        string className = r.StringOrNull("_class_name") ?? throw r.Invalid("_class_name", "is required");
        var kind = className switch
        {
            StableDiffusionPipeline => ModelFamily.StableDiffusion,
            StableDiffusionXLPipeline => ModelFamily.StableDiffusionXL,
            _ => throw r.Unsupported("_class_name", $"\"{className}\"", $"\"{StableDiffusionPipeline}\", \"{StableDiffusionXLPipeline}\""),
        };
        var components = new Dictionary<string, ModelComponent>(StringComparer.Ordinal);
        foreach (var p in r.Properties)
        {
            if (p.Name.StartsWith('_') || p.Value.ValueKind != JsonValueKind.Array) continue;
            var items = p.Value.EnumerateArray().ToArray();
            if (items.Length != 2)
                throw r.Invalid(p.Name, $"must be [library, class] or [null, null], found {p.Value.GetRawText()}");
            if (items.All(i => i.ValueKind == JsonValueKind.Null)) continue;
            if (items.Any(i => i.ValueKind != JsonValueKind.String))
                throw r.Invalid(p.Name, $"must be [library, class] or [null, null], found {p.Value.GetRawText()}");
            components[p.Name] = new ModelComponent(p.Name, items[0].GetString()!, items[1].GetString()!);
        }
        string[] required = kind == ModelFamily.StableDiffusionXL
            ? ["unet", "vae", "scheduler", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2"]
            : ["unet", "vae", "scheduler", "text_encoder", "tokenizer"];
        foreach (var name in required)
            if (!components.ContainsKey(name))
                throw r.Invalid(name, $"is required by {className} but is missing or [null, null]");
        return new ModelIndex
        {
            Path = path,
            ClassName = className,
            Kind = kind,
            DiffusersVersion = r.StringOrNull("_diffusers_version"),
            Components = components,
            ForceZerosForEmptyPrompt = r.Bool("force_zeros_for_empty_prompt", false),
            RequiresSafetyChecker = r.Bool("requires_safety_checker", false),
        };
    }
}
