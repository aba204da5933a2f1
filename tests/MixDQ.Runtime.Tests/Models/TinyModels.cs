using MixDQ.Runtime.Models;
using MixDQ.Runtime.Models.Configs;
using MixDQ.Runtime.Tensors;

namespace MixDQ.Runtime.Tests.Models;

/// <summary>
/// Tiny configs of both model families and seeded random weights for them, generated from the modules'
/// own expected tensor lists: weights N(0, 1/fan_in), norm scales 1 + N(0, 0.1²), biases N(0, 0.05²).
/// Reusable by any test that needs a runnable model without downloading one.
/// </summary>
internal static class TinyModels
{
    /// <summary>SD 2.x-like UNet: 3 levels [16, 32, 32], CrossAttn ×2 + Down, 8 groups, context width 32.</summary>
    public static string SdUnetJson(bool linearProjection = true, int layersPerBlock = 1) => $$"""
    {
      "_class_name": "UNet2DConditionModel",
      "act_fn": "silu",
      "attention_head_dim": [2, 2, 4],
      "block_out_channels": [16, 32, 32],
      "cross_attention_dim": 32,
      "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
      "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
      "flip_sin_to_cos": true,
      "freq_shift": 0,
      "in_channels": 4,
      "out_channels": 4,
      "layers_per_block": {{layersPerBlock}},
      "norm_num_groups": 8,
      "norm_eps": 1e-05,
      "sample_size": 8,
      "transformer_layers_per_block": 1,
      "upcast_attention": null,
      "use_linear_projection": {{(linearProjection ? "true" : "false")}}
    }
    """;

    /// <summary>SDXL-like UNet: 2 levels [16, 32], Down + CrossAttn, depth [1, 2], text_time conditioning.</summary>
    public const string SdxlUnetJson = """
    {
      "_class_name": "UNet2DConditionModel",
      "addition_embed_type": "text_time",
      "addition_time_embed_dim": 8,
      "attention_head_dim": [2, 4],
      "block_out_channels": [16, 32],
      "cross_attention_dim": 48,
      "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
      "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
      "layers_per_block": 1,
      "norm_num_groups": 8,
      "projection_class_embeddings_input_dim": 72,
      "transformer_layers_per_block": [1, 2],
      "use_linear_projection": true
    }
    """;

    /// <summary>Pooled text width of the tiny SDXL UNet (72 − 6·8).</summary>
    public const int SdxlTextEmbedsWidth = 24;

    public static string ClipJson(string act = "quick_gelu", int layers = 2, int hidden = 32, int heads = 2, int projection = 24,
        bool withProjection = false) => $$"""
    {
      "architectures": ["{{(withProjection ? "CLIPTextModelWithProjection" : "CLIPTextModel")}}"],
      "eos_token_id": 2,
      "hidden_act": "{{act}}",
      "hidden_size": {{hidden}},
      "intermediate_size": {{hidden * 2}},
      "layer_norm_eps": 1e-05,
      "max_position_embeddings": 77,
      "model_type": "clip_text_model",
      "num_attention_heads": {{heads}},
      "num_hidden_layers": {{layers}},
      "projection_dim": {{projection}},
      "vocab_size": 49408
    }
    """;

    public const string VaeJson = """
    {
      "_class_name": "AutoencoderKL",
      "act_fn": "silu",
      "block_out_channels": [16, 32],
      "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
      "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
      "in_channels": 3,
      "out_channels": 3,
      "latent_channels": 4,
      "layers_per_block": 1,
      "norm_num_groups": 8,
      "scaling_factor": 0.18215
    }
    """;

    public static string TaesdJson(int channels = 8, string blocks = "[2, 1, 1, 1]") => $$"""
    {
      "_class_name": "AutoencoderTiny",
      "act_fn": "relu",
      "decoder_block_out_channels": [{{channels}}, {{channels}}, {{channels}}, {{channels}}],
      "num_decoder_blocks": {{blocks}},
      "latent_channels": 4,
      "out_channels": 3,
      "scaling_factor": 1.0,
      "upsampling_scaling_factor": 2
    }
    """;

    public static UNet2DConditionConfig SdUnet(bool linearProjection = true, int layersPerBlock = 1) =>
        UNet2DConditionConfig.Parse(SdUnetJson(linearProjection, layersPerBlock), "tiny-sd/unet/config.json");

    public static UNet2DConditionConfig SdxlUnet() => UNet2DConditionConfig.Parse(SdxlUnetJson, "tiny-sdxl/unet/config.json");

    public static ClipTextConfig Clip(string act = "quick_gelu", int layers = 2, bool withProjection = false) =>
        ClipTextConfig.Parse(ClipJson(act, layers, withProjection: withProjection), "tiny/text_encoder/config.json");

    public static AutoencoderKLConfig Vae() => AutoencoderKLConfig.Parse(VaeJson, "tiny/vae/config.json");

    public static AutoencoderTinyConfig Taesd(int channels = 8, string blocks = "[2, 1, 1, 1]") =>
        AutoencoderTinyConfig.Parse(TaesdJson(channels, blocks), "tiny/taesd/config.json");

    /// <summary>Seeded random weights for every tensor of <paramref name="expected"/>.</summary>
    public static Dictionary<string, Tensor> Weights(IEnumerable<TensorInfo> expected, int seed)
    {
        var rng = new Gaussian(seed);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in expected)
        {
            var t = Tensor.Zeros(info.Shape);
            bool isBias = info.Name.EndsWith(".bias", StringComparison.Ordinal);
            if (info.Shape.Length >= 2)
            {
                double std = 1 / Math.Sqrt(Tensor.ElementCount(info.Shape.AsSpan(1)));
                for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.Next() * std);
            }
            else
            {
                for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(isBias ? 0.05 * rng.Next() : 1 + 0.1 * rng.Next());
            }
            result.Add(info.Name, t);
        }
        return result;
    }

    public static DictionaryTensorSource Source(IEnumerable<TensorInfo> expected, int seed, string origin = "tiny.safetensors") =>
        new(Weights(expected, seed), origin);

    /// <summary>A standard-normal tensor.</summary>
    public static Tensor Randn(int seed, params int[] shape)
    {
        var rng = new Gaussian(seed);
        var t = Tensor.Zeros(shape);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)rng.Next();
        return t;
    }

    /// <summary>Token ids like a tokenizer's: BOS, a few words, EOS, then padding.</summary>
    public static int[] Ids(int batch, int seed, int pad = 49407, int length = 77)
    {
        var rng = new Random(seed);
        var ids = new int[batch * length];
        for (int b = 0; b < batch; b++)
        {
            int words = 3 + b * 2;
            var row = ids.AsSpan(b * length, length);
            row.Fill(pad);
            row[0] = 49406;
            for (int i = 1; i <= words; i++) row[i] = rng.Next(300, 49000);
            row[words + 1] = 49407;
        }
        return ids;
    }

    /// <summary>Box–Muller normal samples from a seeded <see cref="Random"/>.</summary>
    private sealed class Gaussian(int seed)
    {
        private readonly Random _random = new(seed);

        public double Next()
        {
            double u1 = 1 - _random.NextDouble(), u2 = _random.NextDouble();
            return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
    }
}
