namespace MixDQ.Runtime.Models.Configs;

/// <summary>A diffusers AutoencoderTiny (TAESD / TAESDXL) <c>config.json</c>, defaults as in diffusers.</summary>
public sealed class AutoencoderTinyConfig
{
    private AutoencoderTinyConfig() { }

    public string Path { get; private init; } = "";

    public int OutChannels { get; private init; }

    public int LatentChannels { get; private init; }

    public IReadOnlyList<int> DecoderBlockOutChannels { get; private init; } = [];

    public IReadOnlyList<int> NumDecoderBlocks { get; private init; } = [];

    /// <summary><c>relu</c> (the TAESD value), <c>silu</c>/<c>swish</c> or <c>gelu</c>.</summary>
    public string ActFn { get; private init; } = "relu";

    public string UpsampleFn { get; private init; } = "nearest";

    public int UpsamplingScalingFactor { get; private init; }

    /// <summary>1.0 for TAESD: the decoder takes the UNet-space latents as they are.</summary>
    public double ScalingFactor { get; private init; }

    public double ShiftFactor { get; private init; }

    public double LatentMagnitude { get; private init; }

    public double LatentShift { get; private init; }

    public static AutoencoderTinyConfig Load(string path) => Parse(ConfigReader.ReadFile(path), path);

    public static AutoencoderTinyConfig Parse(string json, string path)
    {
        var r = ConfigReader.Parse(json, path);
        var channels = r.IntListOrNull("decoder_block_out_channels") ?? [64, 64, 64, 64];
        var blocks = r.IntListOrNull("num_decoder_blocks") ?? [3, 3, 3, 1];
        if (channels.Count == 0) throw r.Invalid("decoder_block_out_channels", "must not be empty");
        if (blocks.Count != channels.Count)
            throw r.Invalid("num_decoder_blocks", $"has {blocks.Count} entries but decoder_block_out_channels has {channels.Count}");
        r.RequirePositive("decoder_block_out_channels", channels);
        foreach (int b in blocks)
            if (b < 0) throw r.Invalid("num_decoder_blocks", $"must hold non-negative integers, found {b}");
        // diffusers' DecoderTiny keeps each stage's width through its upsampling conv, so only one width works.
        if (channels.Distinct().Count() != 1)
            throw r.Unsupported("decoder_block_out_channels", r.Raw("decoder_block_out_channels"), "one width for every stage");
        string act = r.String("act_fn", "relu");
        if (act is not ("relu" or "silu" or "swish" or "gelu"))
            throw r.Unsupported("act_fn", $"\"{act}\"", "\"relu\", \"silu\", \"gelu\"");
        string up = r.String("upsample_fn", "nearest");
        if (up != "nearest") throw r.Unsupported("upsample_fn", $"\"{up}\"", "\"nearest\"");
        var cfg = new AutoencoderTinyConfig
        {
            Path = path,
            OutChannels = r.Int("out_channels", 3),
            LatentChannels = r.Int("latent_channels", 4),
            DecoderBlockOutChannels = channels,
            NumDecoderBlocks = blocks,
            ActFn = act,
            UpsampleFn = up,
            UpsamplingScalingFactor = r.Int("upsampling_scaling_factor", 2),
            ScalingFactor = r.Double("scaling_factor", 1.0),
            ShiftFactor = r.Double("shift_factor", 0.0),
            LatentMagnitude = r.Double("latent_magnitude", 3),
            LatentShift = r.Double("latent_shift", 0.5),
        };
        r.RequirePositive("out_channels", cfg.OutChannels);
        r.RequirePositive("latent_channels", cfg.LatentChannels);
        r.RequirePositive("upsampling_scaling_factor", cfg.UpsamplingScalingFactor);
        return cfg;
    }
}
