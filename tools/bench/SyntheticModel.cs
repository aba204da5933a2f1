using System.Text.Json;
using System.Text.Json.Nodes;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.Bench;

/// <summary>
/// Writes a random StableDiffusionPipeline folder with SD-Turbo's layer widths (CLIP hidden 1024, UNet
/// 320/640 channels with 64-wide heads and 1024-wide cross-attention, SD VAE decoder widths) but fewer
/// layers and levels, so that it weighs a few hundred MB: big enough that loading costs show, small
/// enough to write and load in seconds on a shared 2-core machine. The weights are uniform noise with
/// 1/√fan_in scale; only their size matters to a memory benchmark.
/// </summary>
internal static class SyntheticModel
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes the folder; returns the size of each component's weights file, for the log.</summary>
    public static string Write(string directory, DType weightType)
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
        var rng = new Xorshift(1);
        WriteComponent(directory, "text_encoder", "model.safetensors", ClipConfig(),
            json => ClipTextModel.ExpectedTensors(ClipTextConfig.Parse(json, "text_encoder/config.json"), withProjection: false), rng, weightType);
        WriteComponent(directory, "unet", "diffusion_pytorch_model.safetensors", UnetConfig(),
            json => UNet2DConditionModel.ExpectedTensors(UNet2DConditionConfig.Parse(json, "unet/config.json")), rng, weightType);
        WriteComponent(directory, "vae", "diffusion_pytorch_model.safetensors", VaeConfig(),
            json => AutoencoderKLDecoder.ExpectedTensors(AutoencoderKLConfig.Parse(json, "vae/config.json")), rng, weightType);
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
        Func<string, IReadOnlyList<TensorInfo>> expected, Xorshift rng, DType weightType)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        string json = config.ToJsonString(Indented);
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        var tensors = expected(json).ToDictionary(t => t.Name, t => RandomTensor(t, rng));
        SafetensorsWriter.WriteTensors(Path.Combine(dir, fileName), tensors, weightType, new Dictionary<string, string> { ["format"] = "pt" });
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
