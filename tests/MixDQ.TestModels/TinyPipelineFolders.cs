using System.Text.Json.Nodes;
using MixDQ.Runtime.IO;
using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Pipelines;
using MixDQ.Runtime.Tensors;
using MixDQ.Runtime.Text;

namespace MixDQ.TestModels;

/// <summary>
/// Writes tiny random diffusers folders with the real layout (model_index.json, per-component configs,
/// safetensors weights, CLIP tokenizer files, scheduler config) for both families, so the whole
/// pipeline runs end to end in tests in well under a second.
/// </summary>
public static class TinyPipelineFolders
{
    /// <summary>Latent 8×8 with a VAE factor of 2: 16×16 pixel images.</summary>
    public const int ImageSize = 16;

    public static string Create(string directory, ModelFamily family, string bpeMergesGz, int seed = 1, DType weightType = DType.F32,
        string scheduler = "EulerDiscreteScheduler")
    {
        Directory.CreateDirectory(directory);
        bool xl = family == ModelFamily.StableDiffusionXL;
        var components = new JsonObject
        {
            ["_class_name"] = xl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline",
            ["_diffusers_version"] = "0.30.0",
            ["scheduler"] = new JsonArray("diffusers", scheduler),
            ["text_encoder"] = new JsonArray("transformers", "CLIPTextModel"),
            ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["unet"] = new JsonArray("diffusers", "UNet2DConditionModel"),
            ["vae"] = new JsonArray("diffusers", "AutoencoderKL"),
        };
        if (xl)
        {
            components["text_encoder_2"] = new JsonArray("transformers", "CLIPTextModelWithProjection");
            components["tokenizer_2"] = new JsonArray("transformers", "CLIPTokenizer");
            components["force_zeros_for_empty_prompt"] = true;
        }
        else
        {
            components["safety_checker"] = new JsonArray(null, null);
            components["feature_extractor"] = new JsonArray(null, null);
            components["requires_safety_checker"] = false;
        }
        WriteJson(Path.Combine(directory, "model_index.json"), components);

        var rng = new Random(seed);
        WriteComponent(directory, "text_encoder", "model", ClipConfig(hidden: 32, withProjection: false, act: xl ? "quick_gelu" : "gelu"),
            json => ClipTextModel.ExpectedTensors(ClipTextConfig.Parse(json, "text_encoder/config.json"), withProjection: false), rng, weightType);
        ClipTokenizerFiles.Write(Path.Combine(directory, "tokenizer"), bpeMergesGz, xl ? "<|endoftext|>" : "!");
        if (xl)
        {
            WriteComponent(directory, "text_encoder_2", "model", ClipConfig(hidden: 32, withProjection: true, act: "gelu"),
                json => ClipTextModel.ExpectedTensors(ClipTextConfig.Parse(json, "text_encoder_2/config.json"), withProjection: true), rng, weightType);
            ClipTokenizerFiles.Write(Path.Combine(directory, "tokenizer_2"), bpeMergesGz, "!");
        }
        WriteComponent(directory, "unet", "diffusion_pytorch_model", UnetConfig(xl),
            json => UNet2DConditionModel.ExpectedTensors(UNet2DConditionConfig.Parse(json, "unet/config.json")), rng, weightType);
        WriteComponent(directory, "vae", "diffusion_pytorch_model", VaeConfig(),
            json => AutoencoderKLDecoder.ExpectedTensors(AutoencoderKLConfig.Parse(json, "vae/config.json")), rng, weightType);
        WriteJson(Path.Combine(directory, "scheduler", "scheduler_config.json"), SchedulerConfig(scheduler));
        return directory;
    }

    private static void WriteComponent(string root, string name, string baseName, JsonObject config,
        Func<string, IReadOnlyList<TensorInfo>> expected, Random rng, DType weightType)
    {
        string dir = Path.Combine(root, name);
        string json = config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        var tensors = expected(json).ToDictionary(t => t.Name, t => RandomTensor(t, rng));
        SafetensorsWriter.WriteTensors(Path.Combine(dir, baseName + ".safetensors"), tensors, weightType,
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Weights with sensible scales: norms near 1, biases small, matrices N(0, 1/fan_in).</summary>
    public static Tensor RandomTensor(TensorInfo info, Random rng)
    {
        var t = Tensor.Zeros(info.Shape);
        bool isNorm = info.Name.Contains("norm", StringComparison.Ordinal) && info.Shape.Length == 1;
        bool isBias = info.Name.EndsWith(".bias", StringComparison.Ordinal);
        bool isEmbedding = info.Name.Contains("embedding.weight", StringComparison.Ordinal) && info.Name.Contains("embeddings", StringComparison.Ordinal);
        int fanIn = info.Shape.Length >= 2 ? (int)(info.ElementCount / info.Shape[0]) : 1;
        double std = isEmbedding ? 0.5 : isBias ? 0.02 : isNorm ? 0.05 : 1.0 / Math.Sqrt(fanIn);
        for (int i = 0; i < t.Length; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            t.Data[i] = (float)((isNorm && info.Name.EndsWith(".weight", StringComparison.Ordinal) ? 1 : 0) + std * g);
        }
        return t;
    }

    private static JsonObject ClipConfig(int hidden, bool withProjection, string act) => new()
    {
        ["_class_name"] = withProjection ? "CLIPTextModelWithProjection" : "CLIPTextModel",
        ["architectures"] = new JsonArray(withProjection ? "CLIPTextModelWithProjection" : "CLIPTextModel"),
        ["hidden_size"] = hidden,
        ["intermediate_size"] = hidden * 2,
        ["num_attention_heads"] = 2,
        ["num_hidden_layers"] = 2,
        ["hidden_act"] = act,
        ["layer_norm_eps"] = 1e-5,
        ["max_position_embeddings"] = 77,
        ["vocab_size"] = 49408,
        ["projection_dim"] = hidden,
        ["bos_token_id"] = 0,
        ["eos_token_id"] = 2,
        ["pad_token_id"] = 1,
        ["torch_dtype"] = "float32",
    };

    private static JsonObject UnetConfig(bool xl)
    {
        var cfg = new JsonObject
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["sample_size"] = 8,
            ["in_channels"] = 4,
            ["out_channels"] = 4,
            ["block_out_channels"] = new JsonArray(32, 64),
            ["layers_per_block"] = 1,
            ["norm_num_groups"] = 8,
            ["norm_eps"] = 1e-5,
            ["act_fn"] = "silu",
            ["flip_sin_to_cos"] = true,
            ["freq_shift"] = 0,
            ["downsample_padding"] = 1,
            ["mid_block_scale_factor"] = 1,
            ["mid_block_type"] = "UNetMidBlock2DCrossAttn",
            ["use_linear_projection"] = true,
            ["upcast_attention"] = null,
            ["num_attention_heads"] = null,
            ["center_input_sample"] = false,
        };
        if (xl)
        {
            cfg["down_block_types"] = new JsonArray("DownBlock2D", "CrossAttnDownBlock2D");
            cfg["up_block_types"] = new JsonArray("CrossAttnUpBlock2D", "UpBlock2D");
            cfg["attention_head_dim"] = new JsonArray(2, 4);
            cfg["transformer_layers_per_block"] = new JsonArray(1, 2);
            cfg["cross_attention_dim"] = 64;
            cfg["addition_embed_type"] = "text_time";
            cfg["addition_time_embed_dim"] = 8;
            cfg["projection_class_embeddings_input_dim"] = 32 + 6 * 8;
        }
        else
        {
            cfg["down_block_types"] = new JsonArray("CrossAttnDownBlock2D", "DownBlock2D");
            cfg["up_block_types"] = new JsonArray("UpBlock2D", "CrossAttnUpBlock2D");
            cfg["attention_head_dim"] = new JsonArray(2, 4);
            cfg["transformer_layers_per_block"] = 1;
            cfg["cross_attention_dim"] = 32;
            cfg["addition_embed_type"] = null;
        }
        return cfg;
    }

    private static JsonObject VaeConfig() => new()
    {
        ["_class_name"] = "AutoencoderKL",
        ["in_channels"] = 3,
        ["out_channels"] = 3,
        ["latent_channels"] = 4,
        ["block_out_channels"] = new JsonArray(16, 32),
        ["down_block_types"] = new JsonArray("DownEncoderBlock2D", "DownEncoderBlock2D"),
        ["up_block_types"] = new JsonArray("UpDecoderBlock2D", "UpDecoderBlock2D"),
        ["layers_per_block"] = 1,
        ["norm_num_groups"] = 8,
        ["act_fn"] = "silu",
        ["sample_size"] = 16,
        ["scaling_factor"] = 0.18215,
        ["force_upcast"] = true,
    };

    private static JsonObject SchedulerConfig(string cls) => new()
    {
        ["_class_name"] = cls,
        ["num_train_timesteps"] = 1000,
        ["beta_start"] = 0.00085,
        ["beta_end"] = 0.012,
        ["beta_schedule"] = "scaled_linear",
        ["prediction_type"] = "epsilon",
        ["timestep_spacing"] = "trailing",
        ["steps_offset"] = 1,
        ["interpolation_type"] = "linear",
        ["use_karras_sigmas"] = false,
        ["trained_betas"] = null,
        ["clip_sample"] = false,
        ["set_alpha_to_one"] = false,
    };

    private static void WriteJson(string path, JsonObject obj)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, obj.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}
