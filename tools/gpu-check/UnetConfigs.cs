using System.Text.Json.Nodes;

namespace MixDQ.GpuCheck;

/// <summary>The UNet configs the check times: SD-Turbo's (SD 2.1's UNet, 64×64 latents) and a tiny one for the CPU rehearsal.</summary>
internal static class UnetConfigs
{
    public static (JsonObject Config, int Latent, int ContextLength) Get(string name) => name switch
    {
        "sd-turbo" => (Config([320, 640, 1280, 1280], layers: 2, heads: [5, 10, 20, 20], cross: 1024, groups: 32,
            down: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
            up: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], sample: 64), 64, 77),
        "tiny" => (Config([32, 64], layers: 1, heads: [2, 2], cross: 32, groups: 8,
            down: ["CrossAttnDownBlock2D", "DownBlock2D"], up: ["UpBlock2D", "CrossAttnUpBlock2D"], sample: 8), 8, 7),
        _ => throw new ArgumentException($"unknown UNet '{name}' (sd-turbo or tiny)"),
    };

    private static JsonObject Config(int[] channels, int layers, int[] heads, int cross, int groups, string[] down, string[] up, int sample) => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["_diffusers_version"] = "0.31.0",
        ["act_fn"] = "silu",
        ["attention_head_dim"] = new JsonArray(heads.Select(h => (JsonNode)h).ToArray()),
        ["block_out_channels"] = new JsonArray(channels.Select(c => (JsonNode)c).ToArray()),
        ["center_input_sample"] = false,
        ["conv_in_kernel"] = 3,
        ["conv_out_kernel"] = 3,
        ["cross_attention_dim"] = cross,
        ["down_block_types"] = new JsonArray(down.Select(d => (JsonNode)d).ToArray()),
        ["downsample_padding"] = 1,
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["in_channels"] = 4,
        ["layers_per_block"] = layers,
        ["mid_block_scale_factor"] = 1,
        ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
        ["norm_eps"] = 1e-05,
        ["norm_num_groups"] = groups,
        ["only_cross_attention"] = false,
        ["out_channels"] = 4,
        ["sample_size"] = sample,
        ["transformer_layers_per_block"] = 1,
        ["up_block_types"] = new JsonArray(up.Select(u => (JsonNode)u).ToArray()),
        ["upcast_attention"] = false,
        ["use_linear_projection"] = true,
    };
}
