#!/usr/bin/env python3
"""Writes a tiny, randomly initialised diffusers StableDiffusionPipeline folder (standard library only).

Same folder layout, config keys and tensor names as a real SD 2.x pipeline (diffusers' module paths), with
tiny widths, so the compiler, the MSBuild SDK and the runtime can be exercised end to end in seconds.
The images it makes are noise: it is a plumbing fixture, not a model.

usage: tools/make-tiny-random.py [OUT_DIR]   (default samples/models/tiny-random)
"""
import array, json, os, random, struct, sys

rng = random.Random(1234)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "samples", "models", "tiny-random")


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        shape, data = tensors[name]
        raw = array.array("f", data).tobytes()  # little-endian on every machine this runs on
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Params(dict):
    def w(self, name, *shape, std=0.05):
        n = 1
        for d in shape:
            n *= d
        self[name] = (list(shape), [rng.gauss(0.0, std) for _ in range(n)])

    def ones(self, name, c):
        self[name] = ([c], [1.0] * c)

    def zeros(self, name, c):
        self[name] = ([c], [0.0] * c)

    def linear(self, name, out_f, in_f, bias=True):
        self.w(name + ".weight", out_f, in_f, std=1.0 / in_f ** 0.5)
        if bias:
            self.zeros(name + ".bias", out_f)

    def conv(self, name, out_c, in_c, k):
        self.w(name + ".weight", out_c, in_c, k, k, std=1.0 / (in_c * k * k) ** 0.5)
        self.zeros(name + ".bias", out_c)

    def norm(self, name, c):
        self.ones(name + ".weight", c)
        self.zeros(name + ".bias", c)

    def resnet(self, name, cin, cout, temb):
        self.norm(name + ".norm1", cin)
        self.conv(name + ".conv1", cout, cin, 3)
        if temb:
            self.linear(name + ".time_emb_proj", cout, temb)
        self.norm(name + ".norm2", cout)
        self.conv(name + ".conv2", cout, cout, 3)
        if cin != cout:
            self.conv(name + ".conv_shortcut", cout, cin, 1)

    def transformer(self, name, c, ctx):
        self.norm(name + ".norm", c)
        self.linear(name + ".proj_in", c, c)
        b = name + ".transformer_blocks.0"
        for attn, kv in (("attn1", c), ("attn2", ctx)):
            self.linear(f"{b}.{attn}.to_q", c, c, bias=False)
            self.linear(f"{b}.{attn}.to_k", c, kv, bias=False)
            self.linear(f"{b}.{attn}.to_v", c, kv, bias=False)
            self.linear(f"{b}.{attn}.to_out.0", c, c)
        for n in ("norm1", "norm2", "norm3"):
            self.norm(f"{b}.{n}", c)
        self.linear(f"{b}.ff.net.0.proj", 8 * c, c)
        self.linear(f"{b}.ff.net.2", c, 4 * c)
        self.linear(name + ".proj_out", c, c)

    def vae_attention(self, name, c):
        self.norm(name + ".group_norm", c)
        for p in ("to_q", "to_k", "to_v", "to_out.0"):
            self.linear(f"{name}.{p}", c, c)


def unet(ch=(16, 32), ctx=32, groups=8):
    temb = 4 * ch[0]
    p = Params()
    p.conv("conv_in", ch[0], 4, 3)
    p.linear("time_embedding.linear_1", temb, ch[0])
    p.linear("time_embedding.linear_2", temb, temb)
    # down: CrossAttnDownBlock2D(32) with downsampler, DownBlock2D(64) last
    p.resnet("down_blocks.0.resnets.0", ch[0], ch[0], temb)
    p.transformer("down_blocks.0.attentions.0", ch[0], ctx)
    p.conv("down_blocks.0.downsamplers.0.conv", ch[0], ch[0], 3)
    p.resnet("down_blocks.1.resnets.0", ch[0], ch[1], temb)
    # mid
    p.resnet("mid_block.resnets.0", ch[1], ch[1], temb)
    p.transformer("mid_block.attentions.0", ch[1], ctx)
    p.resnet("mid_block.resnets.1", ch[1], ch[1], temb)
    # up: UpBlock2D(64) with upsampler, CrossAttnUpBlock2D(32) last; skips [32, 32, 32, 64] popped from the end
    p.resnet("up_blocks.0.resnets.0", ch[1] + ch[1], ch[1], temb)
    p.resnet("up_blocks.0.resnets.1", ch[1] + ch[0], ch[1], temb)
    p.conv("up_blocks.0.upsamplers.0.conv", ch[1], ch[1], 3)
    p.resnet("up_blocks.1.resnets.0", ch[1] + ch[0], ch[0], temb)
    p.transformer("up_blocks.1.attentions.0", ch[0], ctx)
    p.resnet("up_blocks.1.resnets.1", ch[0] + ch[0], ch[0], temb)
    p.transformer("up_blocks.1.attentions.1", ch[0], ctx)
    p.norm("conv_norm_out", ch[0])
    p.conv("conv_out", 4, ch[0], 3)
    config = {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0",
        "sample_size": 8, "in_channels": 4, "out_channels": 4, "center_input_sample": False,
        "flip_sin_to_cos": True, "freq_shift": 0,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "only_cross_attention": False, "block_out_channels": list(ch), "layers_per_block": 1,
        "downsample_padding": 1, "mid_block_scale_factor": 1, "dropout": 0.0, "act_fn": "silu",
        "norm_num_groups": groups, "norm_eps": 1e-05, "cross_attention_dim": ctx,
        "transformer_layers_per_block": 1, "encoder_hid_dim": None, "encoder_hid_dim_type": None,
        "attention_head_dim": [2, 4], "num_attention_heads": None, "dual_cross_attention": False,
        "use_linear_projection": True, "class_embed_type": None, "addition_embed_type": None,
        "addition_time_embed_dim": None, "num_class_embeds": None, "upcast_attention": False,
        "resnet_time_scale_shift": "default", "resnet_skip_time_act": False, "resnet_out_scale_factor": 1.0,
        "time_embedding_type": "positional", "time_embedding_dim": None, "time_embedding_act_fn": None,
        "timestep_post_act": None, "time_cond_proj_dim": None, "conv_in_kernel": 3, "conv_out_kernel": 3,
        "projection_class_embeddings_input_dim": None, "class_embeddings_concat": False,
        "mid_block_only_cross_attention": None, "cross_attention_norm": None, "addition_embed_type_num_heads": 64,
    }
    return config, p


def vae(ch=(8, 16), groups=8, latent=4):
    p = Params()
    # encoder (kept so the folder is a complete AutoencoderKL; text-to-image uses only the decoder)
    p.conv("encoder.conv_in", ch[0], 3, 3)
    p.resnet("encoder.down_blocks.0.resnets.0", ch[0], ch[0], 0)
    p.conv("encoder.down_blocks.0.downsamplers.0.conv", ch[0], ch[0], 3)
    p.resnet("encoder.down_blocks.1.resnets.0", ch[0], ch[1], 0)
    p.resnet("encoder.mid_block.resnets.0", ch[1], ch[1], 0)
    p.vae_attention("encoder.mid_block.attentions.0", ch[1])
    p.resnet("encoder.mid_block.resnets.1", ch[1], ch[1], 0)
    p.norm("encoder.conv_norm_out", ch[1])
    p.conv("encoder.conv_out", 2 * latent, ch[1], 3)
    p.conv("quant_conv", 2 * latent, 2 * latent, 1)
    # decoder
    p.conv("post_quant_conv", latent, latent, 1)
    p.conv("decoder.conv_in", ch[1], latent, 3)
    p.resnet("decoder.mid_block.resnets.0", ch[1], ch[1], 0)
    p.vae_attention("decoder.mid_block.attentions.0", ch[1])
    p.resnet("decoder.mid_block.resnets.1", ch[1], ch[1], 0)
    p.resnet("decoder.up_blocks.0.resnets.0", ch[1], ch[1], 0)
    p.resnet("decoder.up_blocks.0.resnets.1", ch[1], ch[1], 0)
    p.conv("decoder.up_blocks.0.upsamplers.0.conv", ch[1], ch[1], 3)
    p.resnet("decoder.up_blocks.1.resnets.0", ch[1], ch[0], 0)
    p.resnet("decoder.up_blocks.1.resnets.1", ch[0], ch[0], 0)
    p.norm("decoder.conv_norm_out", ch[0])
    p.conv("decoder.conv_out", 3, ch[0], 3)
    config = {
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0",
        "in_channels": 3, "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
        "block_out_channels": list(ch), "layers_per_block": 1, "act_fn": "silu",
        "latent_channels": latent, "norm_num_groups": groups, "sample_size": 16,
        "scaling_factor": 0.18215, "force_upcast": True,
    }
    return config, p


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tokenizer(corpus, n_merges=40):
    chars = bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars]
    words = [list(w[:-1]) + [w[-1] + "</w>"] for w in corpus.split()]
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = max(sorted(counts), key=lambda k: counts[k])
        merges.append(best)
        vocab.append(best[0] + best[1])
        new_words = []
        for w in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append(out)
        words = new_words
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(vocab)}, merges


def text_encoder(vocab_size, hidden=32, layers=2, heads=4, inter=64, positions=77):
    p = Params()
    p.w("text_model.embeddings.token_embedding.weight", vocab_size, hidden, std=0.02)
    p.w("text_model.embeddings.position_embedding.weight", positions, hidden, std=0.01)
    for i in range(layers):
        b = f"text_model.encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            p.linear(f"{b}.self_attn.{proj}", hidden, hidden)
        p.norm(f"{b}.layer_norm1", hidden)
        p.norm(f"{b}.layer_norm2", hidden)
        p.linear(f"{b}.mlp.fc1", inter, hidden)
        p.linear(f"{b}.mlp.fc2", hidden, inter)
    p.norm("text_model.final_layer_norm", hidden)
    config = {
        "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": hidden,
        "intermediate_size": inter, "num_attention_heads": heads, "num_hidden_layers": layers,
        "max_position_embeddings": positions, "vocab_size": vocab_size, "hidden_act": "gelu",
        "layer_norm_eps": 1e-05, "projection_dim": hidden, "bos_token_id": vocab_size - 2,
        "eos_token_id": vocab_size - 1, "pad_token_id": vocab_size - 1, "torch_dtype": "float32",
    }
    return config, p


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        os.makedirs(os.path.join(OUT, sub), exist_ok=True)
    dump(os.path.join(OUT, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
        "safety_checker": [None, None], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
    })
    dump(os.path.join(OUT, "scheduler", "scheduler_config.json"), {
        "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.30.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "interpolation_type": "linear",
        "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1,
        "timestep_spacing": "trailing", "timestep_type": "discrete", "trained_betas": None,
        "use_karras_sigmas": False, "sigma_min": None, "sigma_max": None,
    })
    corpus = "a red blue green yellow circle square triangle at the top bottom left right center on white black background " * 3
    vocab, merges = tokenizer(corpus)
    dump(os.path.join(OUT, "tokenizer", "vocab.json"), vocab)
    with open(os.path.join(OUT, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    dump(os.path.join(OUT, "tokenizer", "special_tokens_map.json"), {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})
    dump(os.path.join(OUT, "tokenizer", "tokenizer_config.json"), {
        "tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})
    total = 0
    for sub, (config, params), fname in (
        ("unet", unet(), "diffusion_pytorch_model.safetensors"),
        ("vae", vae(), "diffusion_pytorch_model.safetensors"),
        ("text_encoder", text_encoder(len(vocab)), "model.safetensors"),
    ):
        dump(os.path.join(OUT, sub, "config.json"), config)
        path = os.path.join(OUT, sub, fname)
        write_safetensors(path, params)
        n = sum(len(d) for _, d in params.values())
        total += os.path.getsize(path)
        print(f"{sub}: {len(params)} tensors, {n} parameters, {os.path.getsize(path)} bytes")
    print(f"total weights: {total} bytes in {os.path.abspath(OUT)}")


if __name__ == "__main__":
    main()
