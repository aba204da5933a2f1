using System.Text.Json;
using System.Text.Json.Nodes;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.Bench;

/// <summary>How big a UNet <see cref="SyntheticModel"/> writes.</summary>
internal enum SyntheticUnet
{
    /// <summary>SD-Turbo's widths with fewer layers and levels (417 MB of FP32).</summary>
    Small,

    /// <summary>SD-Turbo's exact UNet config (865 M parameters, 3.46 GB of FP32).</summary>
    SdTurbo,
}

/// <summary>
/// Writes a random StableDiffusionPipeline folder with SD-Turbo's layer widths (CLIP hidden 1024, UNet
/// 320/640 channels with 64-wide heads and 1024-wide cross-attention, SD VAE decoder widths) but fewer
/// layers and levels, so that it weighs a few hundred MB: big enough that loading costs show, small
/// enough to write and load in seconds on a shared 2-core machine; or with SD-Turbo's exact UNet
/// (<see cref="SyntheticUnet.SdTurbo"/>) and the same small text encoder and VAE. The weights are uniform
/// noise with 1/√fan_in scale; only their size matters to a loading benchmark. Each tensor is generated
/// while its turn to be written comes (from a generator seeded by its name), so writing holds one
/// tensor at a time.
/// </summary>
internal static class SyntheticModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes the folder; returns the size of each component's weights file, for the log.</summary>
    public static string Write(string directory, DType weightType, SyntheticUnet unet = SyntheticUnet.Small)
    {
        Directory.CreateDirectory(directory);
        WriteJson(Path.Combine(directory, "model_index.json"), new JsonObject
        {
            ["_class_name"] = "StableDiffusionPipeline",
            ["_diffusers_version"] = "0.30.0",
            ["scheduler"] = new JsonArray("diffusers", "EulerDiscreteScheduler"),
            ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
            ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKL"),
            ["safety_checker"] = new JsonArray(null, null),
            ["feature_extractor"] = new JsonArray(null, null),
            ["requires_safety_checker"] = false,
        });
        WriteComponent(directory, "text_encoder", "model.safetensors", ClipConfig(),
            json => ClipTextModel.ExpectedTensors(ClipTextConfig.Parse(json, "text_encoder/config.json"), withProjection: false), weightType);
        WriteComponent(directory, "unet", "diffusion_pytorch_model.safetensors", unet == SyntheticUnet.SdTurbo ? SdTurboUnetConfig() : UnetConfig(),
            json => UNet2DConditionModel.ExpectedTensors(UNet2DConditionConfig.Parse(json, "unet/config.json")), weightType);
        WriteComponent(directory, "vae", "diffusion_pytorch_model.safetensors", VaeConfig(),
            json => AutoencoderKLDecoder.ExpectedTensors(AutoencoderKLConfig.Parse(json, "vae/config.json")), weightType);
        WriteTokenizer(Path.Combine(directory, "tokenizer"));
        WriteJson(Path.Combine(directory, "scheduler", "scheduler_config.json"), new JsonObject
        {
            ["_class_name"] = "EulerDiscreteScheduler",
            ["num_train_timesteps"] = 1000,
            ["beta_start"] = 0.00085,
            ["beta_end"] = 0.012,
            ["beta_schedule"] = "scaled_linear",
            ["prediction_type"] = "epsilon",
            ["timestep_spacing"] = "trailing",
            ["steps_offset"] = 1,
        });
        return string.Join(", ", new[] { "text_encoder", "unet", "vae" }.Select(c =>
            $"{c} {Directory.GetFiles(Path.Combine(directory, c), "*.safetensors").Sum(f => new FileInfo(f).Length) / (1024.0 * 1024.0):F0} MB"));
    }

    /// <summary>The tokenizer from the project's CLIP merges, else a copy of the TinyShapes model's tokenizer.</summary>
    private static void WriteTokenizer(string dir)
    {
        if (BenchPaths.ClipMerges is { } merges && File.Exists(merges))
        {
            ClipTokenizerFiles.Write(dir, merges, "!");
            return;
        }
        string tiny = BenchPaths.Resolve(Path.Combine("samples", "models", "tiny-shapes", "tokenizer"));
        if (!Directory.Exists(tiny))
            throw new BenchUsageException($"no CLIP merges at {BenchPaths.ClipMerges} and no tokenizer at {tiny}: pass --model DIR instead");
        Directory.CreateDirectory(dir);
        foreach (string f in Directory.GetFiles(tiny)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
    }

    private static void WriteComponent(string root, string name, string fileName, JsonObject config,
        Func<string, IReadOnlyList<TensorInfo>> expected, DType weightType)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        string json = config.ToJsonString(Indented);
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        var entries = expected(json).Select(t => new SafetensorsStreamEntry(t.Name, weightType, t.Shape,
            stream => stream.Write(SafetensorsEntry.FromTensor(t.Name, RandomTensor(t, new Xorshift(SeedOf(t.Name))), weightType).Data.Span)));
        SafetensorsWriter.WriteStreamed(Path.Combine(dir, fileName), entries, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A seed from the tensor's name (FNV-1a), so its values do not depend on the order tensors are written in.</summary>
    private static uint SeedOf(string name)
    {
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        return h;
    }

    private static Tensor RandomTensor(TensorInfo info, Xorshift rng)
    {
        var t = Tensor.Zeros(info.Shape);
        bool isNormWeight = info.Shape.Length == 1 && info.Name.Contains("norm", StringComparison.Ordinal)
                            && info.Name.EndsWith(".weight", StringComparison.Ordinal);
        int fanIn = info.Shape.Length >= 2 ? (int)(info.ElementCount / info.Shape[0]) : 1;
        // Uniform on ±√3·σ has standard deviation σ.
        float scale = (float)(Math.Sqrt(3.0 / fanIn) * (info.Shape.Length >= 2 ? 1 : 0.05));
        var data = t.Data;
        for (int i = 0; i < data.Length; i++) data[i] = (isNormWeight ? 1f : 0f) + scale * rng.NextSigned();
        return t;
    }

    private static JsonObject ClipConfig() => new()
    {
        ["_class_name"] = "CLIPTextModel",
        ["architectures"] = new JsonArray("CLIPTextModel"),
        ["hidden_size"] = 1024,
        ["intermediate_size"] = 4096,
        ["num_attention_heads"] = 16,
        ["num_hidden_layers"] = 2,
        ["hidden_act"] = "gelu",
        ["layer_norm_eps"] = 1e-5,
        ["max_position_embeddings"] = 77,
        ["vocab_size"] = 49408,
        ["projection_dim"] = 512,
        ["bos_token_id"] = 49406,
        ["eos_token_id"] = 49407,
        ["pad_token_id"] = 1,
        ["torch_dtype"] = "float32",
    };

    private static JsonObject UnetConfig() => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["sample_size"] = 64,
        ["in_channels"] = 4,
        ["out_channels"] = 4,
        ["block_out_channels"] = new JsonArray(320, 640),
        ["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        ["up_block_types"] = new JsonArray("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
        ["layers_per_block"] = 1,
        ["attention_head_dim"] = new JsonArray(5, 10),
        ["transformer_layers_per_block"] = 1,
        ["cross_attention_dim"] = 1024,
        ["norm_num_groups"] = 32,
        ["norm_eps"] = 1e-5,
        ["act_fn"] = "silu",
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["downsample_padding"] = 1,
        ["mid_block_scale_factor"] = 1,
        ["use_linear_projection"] = true,
        ["upcast_attention"] = null,
        ["num_attention_heads"] = null,
        ["center_input_sample"] = false,
        ["addition_embed_type"] = null,
    };

    /// <summary>stabilityai/sd-turbo's unet/config.json (the fields the runtime reads).</summary>
    private static JsonObject SdTurboUnetConfig() => new()
    {
        ["_class_name"] = "UNet2DConditionModel",
        ["_diffusers_version"] = "0.24.0.dev0",
        ["act_fn"] = "silu",
        ["addition_embed_type"] = null,
        ["addition_embed_type_num_heads"] = 64,
        ["addition_time_embed_dim"] = null,
        ["attention_head_dim"] = new JsonArray(5, 10, 20, 20),
        ["attention_type"] = "default",
        ["block_out_channels"] = new JsonArray(320, 640, 1280, 1280),
        ["center_input_sample"] = false,
        ["class_embed_type"] = null,
        ["class_embeddings_concat"] = false,
        ["conv_in_kernel"] = 3,
        ["conv_out_kernel"] = 3,
        ["cross_attention_dim"] = 1024,
        ["cross_attention_norm"] = null,
        ["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        ["downsample_padding"] = 1,
        ["dropout"] = 0.0,
        ["dual_cross_attention"] = false,
        ["encoder_hid_dim"] = null,
        ["encoder_hid_dim_type"] = null,
        ["flip_sin_to_cos"] = true,
        ["freq_shift"] = 0,
        ["in_channels"] = 4,
        ["layers_per_block"] = 2,
        ["mid_block_only_cross_attention"] = null,
        ["mid_block_scale_factor"] = 1,
        ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
        ["norm_eps"] = 1e-05,
        ["norm_num_groups"] = 32,
        ["num_attention_heads"] = null,
        ["num_class_embeds"] = null,
        ["only_cross_attention"] = false,
        ["out_channels"] = 4,
        ["projection_class_embeddings_input_dim"] = null,
        ["resnet_out_scale_factor"] = 1.0,
        ["resnet_skip_time_act"] = false,
        ["resnet_time_scale_shift"] = "default",
        ["reverse_transformer_layers_per_block"] = null,
        ["sample_size"] = 64,
        ["time_cond_proj_dim"] = null,
        ["time_embedding_act_fn"] = null,
        ["time_embedding_dim"] = null,
        ["time_embedding_type"] = "positional",
        ["timestep_post_act"] = null,
        ["transformer_layers_per_block"] = 1,
        ["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        ["upcast_attention"] = null,
        ["use_linear_projection"] = true,
    };

    private static JsonObject VaeConfig() => new()
    {
        ["_class_name"] = "AutoencoderKL",
        ["in_channels"] = 3,
        ["out_channels"] = 3,
        ["latent_channels"] = 4,
        ["block_out_channels"] = new JsonArray(128, 256, 512),
        ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"),
        ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"),
        ["layers_per_block"] = 1,
        ["norm_num_groups"] = 32,
        ["act_fn"] = "silu",
        ["sample_size"] = 512,
        ["scaling_factor"] = 0.18215,
        ["force_upcast"] = true,
    };

    private static void WriteJson(string path, JsonObject obj)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, obj.ToJsonString(Indented));
    }

    /// <summary>A fast deterministic generator (xorshift32): the Gaussian of the test factory is too slow for 10⁸ values.</summary>
    private sealed class Xorshift(uint seed)
    {
        private uint _state = seed == 0 ? 1u : seed;

        /// <summary>Uniform on [−1, 1).</summary>
        public float NextSigned()
        {
            uint x = _state;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            _state = x;
            return (x >> 8) * (2f / (1 << 24)) - 1f;
        }
    }
}
