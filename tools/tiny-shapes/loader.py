"""Loads the PyTorch modules from the exported diffusers folder (weights re-read from safetensors) or from
the training checkpoints in runs/."""
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


def load_checkpoints(runs: str):
    """(text encoder, unet, vae, scaling factor, unet step) from runs/unet_ema.pt and runs/vae_final.pt (the frozen
    encoder with the fine-tuned decoder; runs/vae.pt before a decoder was tuned), on the CPU, in eval mode."""
    ck = torch.load(os.path.join(runs, "unet_ema.pt"), map_location="cpu")
    sf = float(ck["scaling_factor"])
    te = M.CLIPTextModel(M.clip_config())
    te.load_state_dict(ck["text_encoder"])
    unet = M.UNet2DConditionModel(M.unet_config(M.clip_config()["hidden_size"]))
    unet.load_state_dict(ck["unet"])
    vae = M.AutoencoderKL(M.vae_config(sf))
    final = os.path.join(runs, "vae_final.pt")
    vae.load_state_dict(torch.load(final if os.path.exists(final) else os.path.join(runs, "vae.pt"), map_location="cpu"))
    return te.eval(), unet.eval(), vae.eval(), sf, ck["step"]
