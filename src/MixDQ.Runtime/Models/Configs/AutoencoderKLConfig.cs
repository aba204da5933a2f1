namespace MixDQ.Runtime.Models.Configs;

/// <summary>A diffusers <c>vae/config.json</c> (AutoencoderKL), defaults as in diffusers.</summary>
public sealed class AutoencoderKLConfig
{
    public const string UpDecoderBlock = "UpDecoderBlock2D";

    private AutoencoderKLConfig() { }

    public string Path { get; private init; } = "";

    public int InChannels { get; private init; }

    public int OutChannels { get; private init; }

    /// <summary>Encoder block types as written (not used by the decoder).</summary>
    public IReadOnlyList<string> DownBlockTypes { get; private init; } = [];

    public IReadOnlyList<string> UpBlockTypes { get; private init; } = [];

    public IReadOnlyList<int> BlockOutChannels { get; private init; } = [];

    public int LayersPerBlock { get; private init; }

    public string ActFn { get; private init; } = "silu";

    public int LatentChannels { get; private init; }

    public int NormNumGroups { get; private init; }

    /// <summary>
    /// GroupNorm epsilon of the decoder: diffusers hard-codes 1e-6; a <c>norm_eps</c> key, when a config
    /// carries one, is honoured rather than silently ignored.
    /// </summary>
    public double NormEps { get; private init; }

    public int? SampleSize { get; private init; }

    /// <summary>Latents are divided by this before decoding (0.18215 SD, 0.13025 SDXL).</summary>
    public double ScalingFactor { get; private init; }

    /// <summary><c>shift_factor</c> (null for the SD/SDXL VAEs).</summary>
    public double? ShiftFactor { get; private init; }

    /// <summary><c>latents_mean</c> / <c>latents_std</c> per channel, when the config has them.</summary>
    public IReadOnlyList<double>? LatentsMean { get; private init; }

    public IReadOnlyList<double>? LatentsStd { get; private init; }

    public bool ForceUpcast { get; private init; }

    public bool UsePostQuantConv { get; private init; }

    public bool MidBlockAddAttention { get; private init; }

    public static AutoencoderKLConfig Load(string path) => Parse(ConfigReader.ReadFile(path), path);

    public static AutoencoderKLConfig Parse(string json, string path)
    {
        var r = ConfigReader.Parse(json, path);
        var channels = r.IntListOrNull("block_out_channels") ?? [64];
        var up = r.StringListOrNull("up_block_types") ?? [UpDecoderBlock];
        if (channels.Count == 0) throw r.Invalid("block_out_channels", "must not be empty");
        r.RequirePositive("block_out_channels", channels);
        foreach (var t in up)
            if (t != UpDecoderBlock) throw r.Unsupported("up_block_types", $"\"{t}\"", $"\"{UpDecoderBlock}\"");
        if (up.Count != channels.Count)
            throw r.Invalid("up_block_types", $"has {up.Count} entries but block_out_channels has {channels.Count}");
        string act = r.String("act_fn", "silu");
        if (act is not ("silu" or "swish")) throw r.Unsupported("act_fn", $"\"{act}\"", "\"silu\"");
        if (!r.IsAbsentOrNull("norm_type") && r.StringOrNull("norm_type") != "group")
            throw r.Unsupported("norm_type", r.Raw("norm_type"), "\"group\"");
        int groups = r.Int("norm_num_groups", 32);
        r.RequirePositive("norm_num_groups", groups);
        foreach (int c in channels)
            if (c % groups != 0)
                throw r.Invalid("norm_num_groups", $"({groups}) must divide every block_out_channels entry, {c} is not divisible");
        var cfg = new AutoencoderKLConfig
        {
            Path = path,
            InChannels = r.Int("in_channels", 3),
            OutChannels = r.Int("out_channels", 3),
            DownBlockTypes = r.StringListOrNull("down_block_types") ?? ["DownEncoderBlock2D"],
            UpBlockTypes = up,
            BlockOutChannels = channels,
            LayersPerBlock = r.Int("layers_per_block", 1),
            ActFn = act,
            LatentChannels = r.Int("latent_channels", 4),
            NormNumGroups = groups,
            NormEps = r.Double("norm_eps", 1e-6),
            SampleSize = r.Kind("sample_size") == System.Text.Json.JsonValueKind.Array ? r.IntListOrNull("sample_size")![0] : r.IntOrNull("sample_size"),
            ScalingFactor = r.Double("scaling_factor", 0.18215),
            ShiftFactor = r.DoubleOrNull("shift_factor"),
            LatentsMean = DoubleList(r, "latents_mean"),
            LatentsStd = DoubleList(r, "latents_std"),
            ForceUpcast = r.Bool("force_upcast", true),
            UsePostQuantConv = r.Bool("use_post_quant_conv", true),
            MidBlockAddAttention = r.Bool("mid_block_add_attention", true),
        };
        r.RequirePositive("layers_per_block", cfg.LayersPerBlock);
        r.RequirePositive("latent_channels", cfg.LatentChannels);
        r.RequirePositive("out_channels", cfg.OutChannels);
        if (cfg.NormEps <= 0) throw r.Invalid("norm_eps", "must be positive");
        if (cfg.ScalingFactor == 0) throw r.Invalid("scaling_factor", "must not be 0");
        return cfg;
    }

    private static IReadOnlyList<double>? DoubleList(ConfigReader r, string field)
    {
        if (r.IsAbsentOrNull(field)) return null;
        if (r.Kind(field) != System.Text.Json.JsonValueKind.Array) throw r.Invalid(field, $"must be a list of numbers, found {r.Raw(field)}");
        using var doc = System.Text.Json.JsonDocument.Parse(r.Raw(field));
        return doc.RootElement.EnumerateArray().Select(e => e.ValueKind == System.Text.Json.JsonValueKind.Number
            ? e.GetDouble()
            : throw r.Invalid(field, $"must be a list of numbers, found the element {e.GetRawText()}")).ToArray();
    }
}
