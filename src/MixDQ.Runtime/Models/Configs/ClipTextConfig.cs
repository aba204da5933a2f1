namespace MixDQ.Runtime.Models.Configs;

/// <summary>
/// A transformers <c>text_encoder/config.json</c> (CLIPTextModel / CLIPTextModelWithProjection), with the
/// transformers defaults of CLIPTextConfig for absent keys.
/// </summary>
public sealed class ClipTextConfig
{
    private ClipTextConfig() { }

    public string Path { get; private init; } = "";

    /// <summary><c>architectures</c> as written (e.g. <c>CLIPTextModelWithProjection</c>); empty when absent.</summary>
    public IReadOnlyList<string> Architectures { get; private init; } = [];

    public int VocabSize { get; private init; }

    public int HiddenSize { get; private init; }

    public int IntermediateSize { get; private init; }

    public int ProjectionDim { get; private init; }

    public int NumHiddenLayers { get; private init; }

    public int NumAttentionHeads { get; private init; }

    public int MaxPositionEmbeddings { get; private init; }

    /// <summary><c>gelu</c> (exact erf) or <c>quick_gelu</c>.</summary>
    public string HiddenAct { get; private init; } = "quick_gelu";

    public double LayerNormEps { get; private init; }

    /// <summary>
    /// <c>eos_token_id</c>. The legacy value 2 makes transformers pool at argmax(ids) (EOS 49407 is the largest
    /// id); any other value pools at the first occurrence of that id.
    /// </summary>
    public int EosTokenId { get; private init; }

    /// <summary>True when <see cref="Architectures"/> names CLIPTextModelWithProjection.</summary>
    public bool IsWithProjection => Architectures.Contains("CLIPTextModelWithProjection");

    public static ClipTextConfig Load(string path) => Parse(ConfigReader.ReadFile(path), path);

    public static ClipTextConfig Parse(string json, string path)
    {
        var r = ConfigReader.Parse(json, path);
        string? modelType = r.StringOrNull("model_type");
        if (modelType is not (null or "clip_text_model"))
            throw r.Unsupported("model_type", $"\"{modelType}\"", "\"clip_text_model\"");
        string act = r.String("hidden_act", "quick_gelu");
        if (act is not ("gelu" or "quick_gelu"))
            throw r.Unsupported("hidden_act", $"\"{act}\"", "\"gelu\", \"quick_gelu\"");
        var cfg = new ClipTextConfig
        {
            Path = path,
            Architectures = r.StringListOrNull("architectures") ?? [],
            VocabSize = r.Int("vocab_size", 49408),
            HiddenSize = r.Int("hidden_size", 512),
            IntermediateSize = r.Int("intermediate_size", 2048),
            ProjectionDim = r.Int("projection_dim", 512),
            NumHiddenLayers = r.Int("num_hidden_layers", 12),
            NumAttentionHeads = r.Int("num_attention_heads", 8),
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 77),
            HiddenAct = act,
            LayerNormEps = r.Double("layer_norm_eps", 1e-5),
            EosTokenId = r.Int("eos_token_id", 2),
        };
        foreach (var (field, value) in new[]
                 {
                     ("vocab_size", cfg.VocabSize), ("hidden_size", cfg.HiddenSize), ("intermediate_size", cfg.IntermediateSize),
                     ("projection_dim", cfg.ProjectionDim), ("num_hidden_layers", cfg.NumHiddenLayers),
                     ("num_attention_heads", cfg.NumAttentionHeads), ("max_position_embeddings", cfg.MaxPositionEmbeddings),
                 })
            r.RequirePositive(field, value);
        if (cfg.HiddenSize % cfg.NumAttentionHeads != 0)
            throw r.Invalid("num_attention_heads", $"({cfg.NumAttentionHeads}) must divide hidden_size ({cfg.HiddenSize})");
        if (cfg.LayerNormEps <= 0) throw r.Invalid("layer_norm_eps", "must be positive");
        return cfg;
    }
}
