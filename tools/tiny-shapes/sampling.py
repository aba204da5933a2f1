"""Scheduler math (diffusers EulerDiscreteScheduler, scaled_linear 0.00085->0.012, trailing spacing,
prediction_type "sample") and the text-to-image pipeline in PyTorch."""
from __future__ import annotations

from typing import List

import numpy as np
import torch

NUM_TRAIN_TIMESTEPS = 1000


def train_sigmas() -> np.ndarray:
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, NUM_TRAIN_TIMESTEPS, dtype=torch.float32) ** 2
    ac = torch.cumprod(1.0 - betas, dim=0)
    return np.array(((1 - ac) / ac) ** 0.5)  # float32, index = timestep


def trailing_timesteps(n: int) -> np.ndarray:
    return (np.round(np.arange(NUM_TRAIN_TIMESTEPS, 0, -NUM_TRAIN_TIMESTEPS / n)).astype(np.float32) - 1)


def schedule(n: int):
    """(timesteps float32 [n], sigmas float32 [n+1] ending in 0) exactly as diffusers computes them."""
    ts = trailing_timesteps(n)
    s = train_sigmas()
    sig = np.interp(ts, np.arange(0, len(s)), s)
    sig = np.concatenate([sig, [0.0]]).astype(np.float32)
    return ts, sig


# Every timestep a 1-, 2-, 3- or 4-step trailing schedule visits: the UNet is trained on exactly these.
TRAIN_TIMESTEPS: List[int] = sorted({int(t) for n in (1, 2, 3, 4) for t in trailing_timesteps(n)}, reverse=True)


@torch.no_grad()
def generate(text_encoder, unet, vae, tokenizer, prompt: str, steps: int, noise: torch.Tensor, scaling_factor: float):
    """Returns (final latents [1,4,16,16] in UNet space, decoder output [1,3,64,64] in [-1,1] before clamping)."""
    ids = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long)
    ctx = text_encoder(ids)
    ts, sig = schedule(steps)
    x = noise * float(sig.max())  # init_noise_sigma = max sigma for trailing spacing
    for i, t in enumerate(ts):
        s = torch.tensor(sig[i])
        model_in = x / ((s ** 2 + 1) ** 0.5)
        x0 = unet(model_in, torch.tensor([t], dtype=torch.float32), ctx)
        d = (x - x0) / s
        x = x + d * (torch.tensor(sig[i + 1]) - s)
    image = vae.decode(x / scaling_factor)
    return x, image


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """[1,3,H,W] in [-1,1] -> uint8 [H,W,3] = round(clamp(x/2+0.5,0,1)*255)."""
    img = (image[0] / 2 + 0.5).clamp(0, 1)
    return torch.round(img * 255).to(torch.uint8).permute(1, 2, 0).numpy()


def to_uint8_batch(images: torch.Tensor) -> list:
    """[N,3,H,W] in [-1,1] -> N uint8 [H,W,3] arrays, as to_uint8 does for one."""
    return [torch.round((im / 2 + 0.5).clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy() for im in images]


@torch.no_grad()
def generate_batch(text_encoder, unet, vae, tokenizer, scaling_factor: float, prompts, seeds, steps: int, device: str = "cpu"):
    """The pipeline for a batch of prompts, noise of prompt k from torch.Generator().manual_seed(seeds[k]) (drawn on
    the CPU, so every device starts from the same latents); returns uint8 [H,W,3] images."""
    ids = torch.tensor([tokenizer.encode(p) for p in prompts], dtype=torch.long, device=device)
    ctx = text_encoder(ids)
    noise = torch.cat([torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(s)) for s in seeds]).to(device)
    ts, sig = schedule(steps)
    x = noise * float(sig.max())
    for i, t in enumerate(ts):
        s = torch.tensor(sig[i])
        x0 = unet(x / ((s ** 2 + 1) ** 0.5), torch.full((len(prompts),), float(t), device=device), ctx)
        x = x + (x - x0) / s * (torch.tensor(sig[i + 1]) - s)
    return to_uint8_batch(vae.decode(x / scaling_factor))
