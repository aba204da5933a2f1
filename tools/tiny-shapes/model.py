"""PyTorch modules with exactly the module/parameter names of diffusers and transformers, so that a
state_dict of these modules is a genuine diffusers folder weight file:

  AutoencoderKL          (diffusers.models.autoencoders.autoencoder_kl)
  UNet2DConditionModel   (diffusers.models.unets.unet_2d_condition), SD-style (no added conditioning)
  CLIPTextModel          (transformers.models.clip.modeling_clip), last_hidden_state only

The numerics follow diffusers (GroupNorm, attention and timestep conventions): GroupNorm eps
1e-6 in the VAE and in Transformer2DModel.norm, norm_eps (1e-5) in UNet ResNets and conv_norm_out,
LayerNorm eps 1e-5, GEGLU value/gate halves, contiguous head split, skip concat [h, skip],
flip_sin_to_cos sinusoid, CLIP causal mask + final_layer_norm.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- shared blocks

class ResnetBlock2D(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, temb_channels: Optional[int], groups: int, eps: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels) if temb_channels else None
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor, temb: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None and temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        sc = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return sc + h


class Downsample2D(nn.Module):
    def __init__(self, channels: int, padding: int):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:  # diffusers VAE encoder: asymmetric pad (0,1,0,1)
            x = F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0)
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, size=None):
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x)


class Attention(nn.Module):
    """diffusers Attention. bias=False for the UNet transformer q/k/v; True in the VAE mid block."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, cross_attention_dim: Optional[int] = None,
                 bias: bool = False, norm_num_groups: Optional[int] = None, residual: bool = False, eps: float = 1e-6):
        super().__init__()
        inner = heads * dim_head
        kv = cross_attention_dim or query_dim
        self.heads = heads
        self.dim_head = dim_head
        self.residual = residual
        self.group_norm = nn.GroupNorm(norm_num_groups, query_dim, eps=eps, affine=True) if norm_num_groups else None
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(kv, inner, bias=bias)
        self.to_v = nn.Linear(kv, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim, bias=True), nn.Dropout(0.0)])

    def attend(self, h: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        b, n, _ = h.shape
        m = ctx.shape[1]
        q = self.to_q(h).view(b, n, self.heads, self.dim_head).transpose(1, 2)
        k = self.to_k(ctx).view(b, m, self.heads, self.dim_head).transpose(1, 2)
        v = self.to_v(ctx).view(b, m, self.heads, self.dim_head).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) * (self.dim_head ** -0.5), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.to_out[0](o)

    def forward(self, x: torch.Tensor, ctx: Optional[torch.Tensor] = None) -> torch.Tensor:
        if x.dim() == 4:  # VAE spatial attention with residual
            b, c, hh, ww = x.shape
            res = x
            h = self.group_norm(x) if self.group_norm is not None else x
            h = h.view(b, c, hh * ww).transpose(1, 2)
            h = self.attend(h, h)
            h = h.transpose(1, 2).reshape(b, c, hh, ww)
            return h + res if self.residual else h
        return self.attend(x, x if ctx is None else ctx)


# ----------------------------------------------------------------------------- VAE

class UNetMidBlock2D(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.attentions = nn.ModuleList([Attention(c, 1, c, bias=True, norm_num_groups=groups, residual=True, eps=1e-6)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, None, groups, 1e-6), ResnetBlock2D(c, c, None, groups, 1e-6)])

    def forward(self, x):
        x = self.resnets[0](x)
        x = self.attentions[0](x)
        return self.resnets[1](x)


class DownEncoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, None, groups, 1e-6) for i in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout, padding=0)]) if add_downsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
        return x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, None, groups, 1e-6) for i in range(layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        boc, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        out = boc[0]
        for i, c in enumerate(boc):
            inp, out = out, c
            self.down_blocks.append(DownEncoderBlock2D(inp, out, L, g, i != len(boc) - 1))
        self.mid_block = UNetMidBlock2D(boc[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, boc[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[-1], 2 * cfg["latent_channels"], 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        boc, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        rev = list(reversed(boc))
        self.conv_in = nn.Conv2d(cfg["latent_channels"], rev[0], 3, padding=1)
        self.mid_block = UNetMidBlock2D(rev[0], g)
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, c in enumerate(rev):
            prev, out = out, c
            self.up_blocks.append(UpDecoderBlock2D(prev, out, L + 1, g, i != len(rev) - 1))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, z):
        x = self.conv_in(z)
        x = self.mid_block(x)
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg: Dict):
        super().__init__()
        self.config = cfg
        lc = cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * lc, 2 * lc, 1)
        self.post_quant_conv = nn.Conv2d(lc, lc, 1)

    def encode_moments(self, x):
        m = self.quant_conv(self.encoder(x))
        mean, logvar = torch.chunk(m, 2, dim=1)
        return mean, torch.clamp(logvar, -30.0, 20.0)

    def decode(self, z):
        """z = latents already divided by scaling_factor (diffusers' vae.decode input)."""
        return self.decoder(self.post_quant_conv(z))


def vae_config(scaling_factor: float = 1.0) -> Dict:
    return {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.31.0",
        "act_fn": "silu",
        "block_out_channels": [16, 32, 64],
        "down_block_types": ["DownEncoderBlock2D"] * 3,
        "force_upcast": False,
        "in_channels": 3,
        "latent_channels": 4,
        "latents_mean": None,
        "latents_std": None,
        "layers_per_block": 1,
        "mid_block_add_attention": True,
        "norm_num_groups": 8,
        "out_channels": 3,
        "sample_size": 64,
        "scaling_factor": scaling_factor,
        "shift_factor": None,
        "up_block_types": ["UpDecoderBlock2D"] * 3,
        "use_post_quant_conv": True,
        "use_quant_conv": True,
    }


# ----------------------------------------------------------------------------- CLIP text encoder

class CLIPAttention(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads, self.dh = heads, h // heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(h, h) for _ in range(4))

    def forward(self, x, mask):
        b, n, h = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.heads, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.heads, self.dh).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) * self.dh ** -0.5 + mask, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(b, n, h))


class CLIPMLP(nn.Module):
    def __init__(self, h, inter):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(h, inter), nn.Linear(inter, h)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # hidden_act "gelu" = exact erf GELU


class CLIPEncoderLayer(nn.Module):
    def __init__(self, h, heads, inter, eps):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(h, eps=eps)
        self.self_attn = CLIPAttention(h, heads)
        self.layer_norm2 = nn.LayerNorm(h, eps=eps)
        self.mlp = CLIPMLP(h, inter)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEmbeddings(nn.Module):
    def __init__(self, vocab, h, npos):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, h)
        self.position_embedding = nn.Embedding(npos, h)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.token_embedding(ids) + self.position_embedding(pos)[None]


class CLIPEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"],
                                                      cfg["layer_norm_eps"]) for _ in range(cfg["num_hidden_layers"])])


class CLIPTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = CLIPEmbeddings(cfg["vocab_size"], cfg["hidden_size"], cfg["max_position_embeddings"])
        self.encoder = CLIPEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])


class CLIPTextModel(nn.Module):
    def __init__(self, cfg: Dict):
        super().__init__()
        self.config = cfg
        self.text_model = CLIPTextTransformer(cfg)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Returns last_hidden_state (final LayerNorm applied)."""
        tm = self.text_model
        x = tm.embeddings(ids)
        n = ids.shape[1]
        mask = torch.full((n, n), torch.finfo(x.dtype).min, dtype=x.dtype, device=x.device).triu(1)[None, None]
        for layer in tm.encoder.layers:
            x = layer(x, mask)
        return tm.final_layer_norm(x)


def clip_config() -> Dict:
    return {
        "architectures": ["CLIPTextModel"],
        "attention_dropout": 0.0,
        "bos_token_id": 49406,
        "dropout": 0.0,
        "eos_token_id": 49407,
        "hidden_act": "gelu",
        "hidden_size": 64,
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "intermediate_size": 256,
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": 2,
        "num_hidden_layers": 3,
        "pad_token_id": 49407,
        "projection_dim": 64,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
        "vocab_size": 49408,
    }


# ----------------------------------------------------------------------------- UNet

def timestep_embedding(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True, shift: float = 0.0) -> torch.Tensor:
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - shift)
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(cin, dim), nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class GEGLU(nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.proj = nn.Linear(din, dout * 2)

    def forward(self, x):
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dh, cross):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, heads, dh)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, heads, dh, cross_attention_dim=cross)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, x, ctx):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), ctx)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    def __init__(self, heads, channels, cross, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, heads, channels // heads, cross)])
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        res = x
        t = self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        t = self.proj_in(t)
        for blk in self.transformer_blocks:
            t = blk(t, ctx)
        t = self.proj_out(t)
        return t.reshape(b, h, w, c).permute(0, 3, 1, 2) + res


class CrossAttnDownBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, layers, heads, cross, groups, eps, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(layers)])
        self.attentions = nn.ModuleList([Transformer2DModel(heads, cout, cross, groups) for _ in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout, padding=1)]) if add_downsample else None

    def forward(self, x, temb, ctx):
        outs = []
        for r, a in zip(self.resnets, self.attentions):
            x = a(r(x, temb), ctx)
            outs.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            outs.append(x)
        return x, outs


class DownBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, layers, groups, eps, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout, padding=1)]) if add_downsample else None

    def forward(self, x, temb, ctx):
        outs = []
        for r in self.resnets:
            x = r(x, temb)
            outs.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            outs.append(x)
        return x, outs


class CrossAttnUpBlock2D(nn.Module):
    def __init__(self, cin, prev, cout, temb, layers, heads, cross, groups, eps, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList()
        for i in range(layers):
            skip = cin if i == layers - 1 else cout
            rin = prev if i == 0 else cout
            self.resnets.append(ResnetBlock2D(rin + skip, cout, temb, groups, eps))
        self.attentions = nn.ModuleList([Transformer2DModel(heads, cout, cross, groups) for _ in range(layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, x, skips, temb, ctx, size=None):
        for r, a in zip(self.resnets, self.attentions):
            x = torch.cat([x, skips.pop()], dim=1)
            x = a(r(x, temb), ctx)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, size)
        return x


class UpBlock2D(nn.Module):
    def __init__(self, cin, prev, cout, temb, layers, groups, eps, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList()
        for i in range(layers):
            skip = cin if i == layers - 1 else cout
            rin = prev if i == 0 else cout
            self.resnets.append(ResnetBlock2D(rin + skip, cout, temb, groups, eps))
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, x, skips, temb, ctx, size=None):
        for r in self.resnets:
            x = torch.cat([x, skips.pop()], dim=1)
            x = r(x, temb)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, size)
        return x


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, c, temb, heads, cross, groups, eps):
        super().__init__()
        self.attentions = nn.ModuleList([Transformer2DModel(heads, c, cross, groups)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb, groups, eps), ResnetBlock2D(c, c, temb, groups, eps)])

    def forward(self, x, temb, ctx):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, ctx)
        return self.resnets[1](x, temb)


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg: Dict):
        super().__init__()
        self.config = cfg
        boc, L, g, eps = cfg["block_out_channels"], cfg["layers_per_block"], cfg["norm_num_groups"], cfg["norm_eps"]
        heads = cfg["attention_head_dim"]  # diffusers: num_attention_heads = attention_head_dim (head counts)
        cross = cfg["cross_attention_dim"]
        temb = boc[0] * 4
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        self.down_blocks = nn.ModuleList()
        out = boc[0]
        for i, kind in enumerate(cfg["down_block_types"]):
            inp, out = out, boc[i]
            last = i == len(boc) - 1
            if kind == "CrossAttnDownBlock2D":
                self.down_blocks.append(CrossAttnDownBlock2D(inp, out, temb, L, heads[i], cross, g, eps, not last))
            else:
                self.down_blocks.append(DownBlock2D(inp, out, temb, L, g, eps, not last))
        self.mid_block = UNetMidBlock2DCrossAttn(boc[-1], temb, heads[-1], cross, g, eps)
        rev, rheads = list(reversed(boc)), list(reversed(heads))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, kind in enumerate(cfg["up_block_types"]):
            prev, out = out, rev[i]
            inp = rev[min(i + 1, len(boc) - 1)]
            last = i == len(boc) - 1
            if kind == "CrossAttnUpBlock2D":
                self.up_blocks.append(CrossAttnUpBlock2D(inp, prev, out, temb, L + 1, rheads[i], cross, g, eps, not last))
            else:
                self.up_blocks.append(UpBlock2D(inp, prev, out, temb, L + 1, g, eps, not last))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        t = timestep.reshape(-1).expand(sample.shape[0]) if timestep.numel() == 1 else timestep
        temb = self.time_embedding(timestep_embedding(t, self.config["block_out_channels"][0],
                                                      self.config["flip_sin_to_cos"], self.config["freq_shift"]))
        x = self.conv_in(sample)
        skips: List[torch.Tensor] = [x]
        for b in self.down_blocks:
            x, outs = b(x, temb, ctx)
            skips += outs
        x = self.mid_block(x, temb, ctx)
        for i, b in enumerate(self.up_blocks):
            n = len(b.resnets)
            mine, skips = skips[-n:], skips[:-n]
            size = skips[-1].shape[2:] if skips else None
            x = b(x, mine, temb, ctx, size)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


def unet_config(cross_attention_dim: int = 64) -> Dict:
    return {
        "_class_name": "UNet2DConditionModel",
        "_diffusers_version": "0.31.0",
        "act_fn": "silu",
        "addition_embed_type": None,
        "addition_embed_type_num_heads": 64,
        "addition_time_embed_dim": None,
        "attention_head_dim": [1, 2, 2],
        "attention_type": "default",
        "block_out_channels": [32, 64, 64],
        "center_input_sample": False,
        "class_embed_type": None,
        "class_embeddings_concat": False,
        "conv_in_kernel": 3,
        "conv_out_kernel": 3,
        "cross_attention_dim": cross_attention_dim,
        "cross_attention_norm": None,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "downsample_padding": 1,
        "dropout": 0.0,
        "dual_cross_attention": False,
        "encoder_hid_dim": None,
        "encoder_hid_dim_type": None,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": 4,
        "layers_per_block": 1,
        "mid_block_only_cross_attention": None,
        "mid_block_scale_factor": 1,
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "norm_eps": 1e-05,
        "norm_num_groups": 8,
        "num_attention_heads": None,
        "num_class_embeds": None,
        "only_cross_attention": False,
        "out_channels": 4,
        "projection_class_embeddings_input_dim": None,
        "resnet_out_scale_factor": 1.0,
        "resnet_skip_time_act": False,
        "resnet_time_scale_shift": "default",
        "reverse_transformer_layers_per_block": None,
        "sample_size": 16,
        "time_cond_proj_dim": None,
        "time_embedding_act_fn": None,
        "time_embedding_dim": None,
        "time_embedding_type": "positional",
        "timestep_post_act": None,
        "transformer_layers_per_block": 1,
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "upcast_attention": False,
        "use_linear_projection": True,
    }


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
