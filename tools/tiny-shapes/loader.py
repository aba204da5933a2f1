"""Loads the exported diffusers folder back into the PyTorch modules (weights re-read from safetensors)."""
from __future__ import annotations

import json
import os

import torch

import model as M
import st_io
from clip_tokenizer import ClipTokenizer


def _load(module, path):
    tensors, _ = st_io.load(path)
    sd = {k: torch.from_numpy(v.astype("float32")) for k, v in tensors.items()}
    module.load_state_dict(sd, strict=True)
    return module.eval()


def load_folder(folder: str):
    cfg = lambda sub: json.load(open(os.path.join(folder, sub, "config.json")))
    te = _load(M.CLIPTextModel(cfg("text_encoder")), os.path.join(folder, "text_encoder", "model.safetensors"))
    unet = _load(M.UNet2DConditionModel(cfg("unet")), os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
    vcfg = cfg("vae")
    vae = _load(M.AutoencoderKL(vcfg), os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    special = json.load(open(os.path.join(folder, "tokenizer", "special_tokens_map.json")))
    tok = ClipTokenizer(pad_token=special["pad_token"])
    return te, unet, vae, tok, float(vcfg["scaling_factor"])
