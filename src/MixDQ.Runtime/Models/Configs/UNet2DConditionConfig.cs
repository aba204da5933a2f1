namespace MixDQ.Runtime.Models.Configs;

/// <summary>
/// A diffusers <c>unet/config.json</c> (UNet2DConditionModel), with every default resolved the way
/// diffusers resolves it. Per-level lists are in down-block order (level 0 = highest resolution); the
/// up path uses them reversed, as diffusers does. Only what the SD 1.x/2.x and SDXL families use is
/// supported; any other value of a field that changes the graph is rejected with
/// <see cref="Diagnostics.ErrorCodes.ConfigUnsupportedValue"/> naming the field, the value and the file.
/// </summary>
public sealed class UNet2DConditionConfig
{
    public const string CrossAttnDownBlock = "CrossAttnDownBlock2D";
    public const string DownBlock = "DownBlock2D";
    public const string CrossAttnUpBlock = "CrossAttnUpBlock2D";
    public const string UpBlock = "UpBlock2D";
    public const string CrossAttnMidBlock = "UNetMidBlock2DCrossAttn";

    private UNet2DConditionConfig() { }

    /// <summary>The file the config came from.</summary>
    public string Path { get; private init; } = "";

    /// <summary><c>sample_size</c> (latent height and width), when given.</summary>
    public int? SampleHeight { get; private init; }

    public int? SampleWidth { get; private init; }

    public int InChannels { get; private init; }

    public int OutChannels { get; private init; }

    /// <summary><c>center_input_sample</c>: the input is mapped 2x−1 first.</summary>
    public bool CenterInputSample { get; private init; }

    public bool FlipSinToCos { get; private init; }

    public int FreqShift { get; private init; }

    public IReadOnlyList<string> DownBlockTypes { get; private init; } = [];

    public IReadOnlyList<string> UpBlockTypes { get; private init; } = [];

    public string MidBlockType { get; private init; } = CrossAttnMidBlock;

    public IReadOnlyList<int> BlockOutChannels { get; private init; } = [];

    /// <summary>ResNets per down level (up levels have one more).</summary>
    public IReadOnlyList<int> LayersPerBlock { get; private init; } = [];

    /// <summary>Attention heads per level: <c>num_attention_heads or attention_head_dim</c> (the diffusers naming trap).</summary>
    public IReadOnlyList<int> AttentionHeads { get; private init; } = [];

    /// <summary>Transformer blocks per Transformer2DModel, per down level.</summary>
    public IReadOnlyList<int> TransformerLayersPerBlock { get; private init; } = [];

    /// <summary>Context width per level (<c>cross_attention_dim</c>).</summary>
    public IReadOnlyList<int> CrossAttentionDim { get; private init; } = [];

    /// <summary><c>only_cross_attention</c> per level: attn1 attends to the context too.</summary>
    public IReadOnlyList<bool> OnlyCrossAttention { get; private init; } = [];

    public bool UseLinearProjection { get; private init; }

    /// <summary><c>upcast_attention</c> (null = false). Attention runs in FP32 here anyway.</summary>
    public bool UpcastAttention { get; private init; }

    public int NormNumGroups { get; private init; }

    public double NormEps { get; private init; }

    public string ActFn { get; private init; } = "silu";

    public double MidBlockScaleFactor { get; private init; }

    public double ResnetOutScaleFactor { get; private init; }

    public int DownsamplePadding { get; private init; }

    public int ConvInKernel { get; private init; }

    public int ConvOutKernel { get; private init; }

    /// <summary>null or <c>text_time</c> (SDXL added conditioning).</summary>
    public string? AdditionEmbedType { get; private init; }

    /// <summary>Sinusoid width per time id (SDXL: 256).</summary>
    public int? AdditionTimeEmbedDim { get; private init; }

    /// <summary>Input width of <c>add_embedding</c> (SDXL: 2816 = 1280 + 6·256).</summary>
    public int? ProjectionClassEmbeddingsInputDim { get; private init; }

    /// <summary>Width of the sinusoidal timestep vector (= block_out_channels[0]).</summary>
    public int TimestepInputDim => BlockOutChannels[0];

    /// <summary>Width of the time embedding (<c>time_embedding_dim</c> or 4·block_out_channels[0]).</summary>
    public int TimeEmbedDim { get; private init; }

    public bool HasTextTimeEmbedding => AdditionEmbedType == "text_time";

    public int Levels => BlockOutChannels.Count;

    public bool IsCrossAttnDown(int level) => DownBlockTypes[level] == CrossAttnDownBlock;

    /// <summary>Whether up block <paramref name="upIndex"/> (0 = lowest resolution) has attention.</summary>
    public bool IsCrossAttnUp(int upIndex) => UpBlockTypes[upIndex] == CrossAttnUpBlock;

    /// <summary>Reads and resolves <paramref name="path"/>.</summary>
    public static UNet2DConditionConfig Load(string path) => Parse(ConfigReader.ReadFile(path), path);

    /// <summary>Resolves the JSON text of a unet config; <paramref name="path"/> is named in errors.</summary>
    public static UNet2DConditionConfig Parse(string json, string path)
    {
        var r = ConfigReader.Parse(json, path);
        RejectUnsupported(r);

        var down = r.StringListOrNull("down_block_types") ?? [CrossAttnDownBlock, CrossAttnDownBlock, CrossAttnDownBlock, DownBlock];
        var up = r.StringListOrNull("up_block_types") ?? [UpBlock, CrossAttnUpBlock, CrossAttnUpBlock, CrossAttnUpBlock];
        var channels = r.IntListOrNull("block_out_channels") ?? [320, 640, 1280, 1280];
        foreach (var t in down)
            if (t is not (CrossAttnDownBlock or DownBlock))
                throw r.Unsupported("down_block_types", $"\"{t}\"", $"{CrossAttnDownBlock}, {DownBlock}");
        foreach (var t in up)
            if (t is not (CrossAttnUpBlock or UpBlock))
                throw r.Unsupported("up_block_types", $"\"{t}\"", $"{CrossAttnUpBlock}, {UpBlock}");
        if (down.Count == 0) throw r.Invalid("down_block_types", "must not be empty");
        if (channels.Count != down.Count)
            throw r.Invalid("block_out_channels", $"has {channels.Count} entries but down_block_types has {down.Count}");
        if (up.Count != down.Count)
            throw r.Invalid("up_block_types", $"has {up.Count} entries but down_block_types has {down.Count}");
        r.RequirePositive("block_out_channels", channels);

        int n = down.Count;
        var headsRaw = r.IntOrPerLevel("attention_head_dim", 8, n, "down_block_types");
        r.RequirePositive("attention_head_dim", headsRaw);
        var layers = r.IntOrPerLevel("layers_per_block", 2, n, "down_block_types");
        r.RequirePositive("layers_per_block", layers);
        var depth = r.IntOrPerLevel("transformer_layers_per_block", 1, n, "down_block_types");
        r.RequirePositive("transformer_layers_per_block", depth);
        var cross = r.IntOrPerLevel("cross_attention_dim", 1280, n, "down_block_types");
        r.RequirePositive("cross_attention_dim", cross);
        var onlyCross = r.BoolOrPerLevel("only_cross_attention", false, n, "down_block_types");

        int groups = !r.Has("norm_num_groups") ? 32
            : r.IntOrNull("norm_num_groups") ?? throw r.Unsupported("norm_num_groups", "null", "a positive integer (GroupNorm everywhere)");
        r.RequirePositive("norm_num_groups", groups);
        foreach (int c in channels)
            if (c % groups != 0)
                throw r.Invalid("norm_num_groups", $"({groups}) must divide every block_out_channels entry, {c} is not divisible");
        for (int i = 0; i < n; i++)
        {
            // Heads are per level; every transformer of the level has head_dim = channels / heads.
            if (channels[i] % headsRaw[i] != 0)
                throw r.Unsupported("attention_head_dim", r.Raw("attention_head_dim"),
                    $"head counts that divide the level's channels ({channels[i]} is not divisible by {headsRaw[i]})");
        }

        string? addType = r.StringOrNull("addition_embed_type");
        if (addType is not (null or "text_time"))
            throw r.Unsupported("addition_embed_type", $"\"{addType}\"", "null, \"text_time\"");
        int? addTimeDim = r.IntOrNull("addition_time_embed_dim");
        int? projDim = r.IntOrNull("projection_class_embeddings_input_dim");
        if (addType == "text_time")
        {
            if (addTimeDim is null) throw r.Invalid("addition_time_embed_dim", "is required when addition_embed_type is \"text_time\"");
            if (projDim is null) throw r.Invalid("projection_class_embeddings_input_dim", "is required when addition_embed_type is \"text_time\"");
            r.RequirePositive("addition_time_embed_dim", addTimeDim.Value);
            r.RequirePositive("projection_class_embeddings_input_dim", projDim.Value);
        }

        int convIn = r.Int("conv_in_kernel", 3), convOut = r.Int("conv_out_kernel", 3);
        if (convIn <= 0 || convIn % 2 == 0) throw r.Unsupported("conv_in_kernel", convIn.ToString(Inv), "an odd kernel size such as 3");
        if (convOut <= 0 || convOut % 2 == 0) throw r.Unsupported("conv_out_kernel", convOut.ToString(Inv), "an odd kernel size such as 3");

        int padding = r.Int("downsample_padding", 1);
        if (padding != 1) throw r.Unsupported("downsample_padding", padding.ToString(Inv), "1 (3x3 stride-2 conv with symmetric padding)");

        int timeEmbedDim = r.IntOrNull("time_embedding_dim") ?? channels[0] * 4;
        r.RequirePositive("time_embedding_dim", timeEmbedDim);
        int? sampleH = null, sampleW = null;
        switch (r.Kind("sample_size"))
        {
            case System.Text.Json.JsonValueKind.Number:
                sampleH = sampleW = r.IntOrNull("sample_size");
                break;
            case System.Text.Json.JsonValueKind.Array:
                var s = r.IntListOrNull("sample_size")!;
                if (s.Count != 2) throw r.Invalid("sample_size", "must be an integer or [height, width]");
                (sampleH, sampleW) = (s[0], s[1]);
                break;
            case System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined:
                break;
            default:
                throw r.Invalid("sample_size", $"must be an integer or [height, width], found {r.Raw("sample_size")}");
        }

        var cfg = new UNet2DConditionConfig
        {
            Path = path,
            SampleHeight = sampleH,
            SampleWidth = sampleW,
            InChannels = r.Int("in_channels", 4),
            OutChannels = r.Int("out_channels", 4),
            CenterInputSample = r.Bool("center_input_sample", false),
            FlipSinToCos = r.Bool("flip_sin_to_cos", true),
            FreqShift = r.Int("freq_shift", 0),
            DownBlockTypes = down,
            UpBlockTypes = up,
            BlockOutChannels = channels,
            LayersPerBlock = layers,
            AttentionHeads = headsRaw,
            TransformerLayersPerBlock = depth,
            CrossAttentionDim = cross,
            OnlyCrossAttention = onlyCross,
            UseLinearProjection = r.Bool("use_linear_projection", false),
            UpcastAttention = r.Bool("upcast_attention", false),
            NormNumGroups = groups,
            NormEps = r.Double("norm_eps", 1e-5),
            MidBlockScaleFactor = r.Double("mid_block_scale_factor", 1),
            ResnetOutScaleFactor = r.Double("resnet_out_scale_factor", 1),
            DownsamplePadding = padding,
            ConvInKernel = convIn,
            ConvOutKernel = convOut,
            AdditionEmbedType = addType,
            AdditionTimeEmbedDim = addTimeDim,
            ProjectionClassEmbeddingsInputDim = projDim,
            TimeEmbedDim = timeEmbedDim,
        };
        r.RequirePositive("in_channels", cfg.InChannels);
        r.RequirePositive("out_channels", cfg.OutChannels);
        if (cfg.NormEps <= 0) throw r.Invalid("norm_eps", "must be positive");
        if (cfg.MidBlockScaleFactor == 0) throw r.Invalid("mid_block_scale_factor", "must not be 0");
        if (cfg.ResnetOutScaleFactor == 0) throw r.Invalid("resnet_out_scale_factor", "must not be 0");
        if (cfg.FreqShift * 2 == cfg.TimestepInputDim || (addTimeDim is int a && cfg.FreqShift * 2 == a))
            throw r.Invalid("freq_shift", "must differ from half the sinusoid width (division by zero)");
        return cfg;
    }

    private static readonly IFormatProvider Inv = System.Globalization.CultureInfo.InvariantCulture;

    /// <summary>Fields whose non-default values change the graph in ways this runtime does not implement.</summary>
    private static void RejectUnsupported(ConfigReader r)
    {
        string? act = r.StringOrNull("act_fn");
        if (act is not (null or "silu" or "swish")) throw r.Unsupported("act_fn", $"\"{act}\"", "\"silu\"");
        if (r.Has("mid_block_type") && r.IsAbsentOrNull("mid_block_type"))
            throw r.Unsupported("mid_block_type", "null", $"\"{CrossAttnMidBlock}\"");
        RequireString(r, "mid_block_type", CrossAttnMidBlock);
        RequireString(r, "resnet_time_scale_shift", "default");
        RequireString(r, "time_embedding_type", "positional");
        RequireString(r, "attention_type", "default");
        RequireNull(r, "class_embed_type");
        RequireNull(r, "num_class_embeds");
        RequireNull(r, "encoder_hid_dim");
        RequireNull(r, "encoder_hid_dim_type");
        RequireNull(r, "time_embedding_act_fn");
        RequireNull(r, "timestep_post_act");
        RequireNull(r, "time_cond_proj_dim");
        RequireNull(r, "cross_attention_norm");
        RequireNull(r, "reverse_transformer_layers_per_block");
        if (!r.IsAbsentOrNull("num_attention_heads"))
            // diffusers itself refuses this field for UNet2DConditionModel (naming issue #2011).
            throw r.Unsupported("num_attention_heads", r.Raw("num_attention_heads"), "null (head counts come from attention_head_dim)");
        RequireFalse(r, "dual_cross_attention");
        RequireFalse(r, "resnet_skip_time_act");
        RequireFalse(r, "class_embeddings_concat");
    }

    private static void RequireString(ConfigReader r, string field, string supported)
    {
        string? v = r.StringOrNull(field);
        if (v is not null && v != supported) throw r.Unsupported(field, $"\"{v}\"", $"\"{supported}\"");
    }

    private static void RequireNull(ConfigReader r, string field)
    {
        if (!r.IsAbsentOrNull(field)) throw r.Unsupported(field, r.Raw(field), "null");
    }

    private static void RequireFalse(ConfigReader r, string field)
    {
        if (r.Bool(field, false)) throw r.Unsupported(field, "true", "false");
    }
}
