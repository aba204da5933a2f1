"""Image-side training helpers shared by the VAE and decoder trainers: pixel scaling, the colour-edge
loss mask, and random recolouring.

Recolouring makes the autoencoder a colour-agnostic codec. Trained on the world's palette alone, it learnt
which shapes each colour comes in (it drew the held-out purple squares as circles: shape accuracy of its
round trip on held-out pairs 0.64 against 0.94 on seen pairs); with each palette colour of an image
replaced by a random RGB colour it cannot lean on colour to draw a shape. The text-conditioned model (text
encoder and UNet) still never sees a held-out pair in a caption.
"""
from __future__ import annotations

import numpy as np
import torch

import world

PALETTE = torch.tensor([world.PALETTE[c] for c in world.COLOURS], dtype=torch.uint8)


def to_unit(images_nhwc_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [N,H,W,3] -> float [N,3,H,W] in [-1, 1] (the VAE's pixel range)."""
    return images_nhwc_u8.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def edge_mask(x: torch.Tensor) -> torch.Tensor:
    """1 where a pixel's 3x3 neighbourhood holds more than one colour (the flat scenes' outlines), else 0."""
    hi = torch.nn.functional.max_pool2d(x, 3, 1, 1)
    lo = -torch.nn.functional.max_pool2d(-x, 3, 1, 1)
    return ((hi - lo).abs().amax(1, keepdim=True) > 1e-3).float()


def reconstruction_loss(y: torch.Tensor, x: torch.Tensor, edge_weight: float) -> torch.Tensor:
    """MSE + 0.1 L1, weighted (1 + edge_weight) on colour edges: the judge classifies shapes by their outline,
    which a plain MSE over mostly flat images leaves soft."""
    w = 1.0 + edge_weight * edge_mask(x)
    return (w * (y - x).pow(2)).mean() + 0.1 * (w * (y - x).abs()).mean()


def palette_index(images_nhwc_u8: torch.Tensor) -> torch.Tensor:
    """Palette slot of every pixel of world renders (uint8 [N,H,W]); renders hold palette colours only."""
    pal = PALETTE.to(images_nhwc_u8.device)
    idx = torch.zeros(images_nhwc_u8.shape[:3], dtype=torch.uint8, device=images_nhwc_u8.device)
    matched = torch.zeros(images_nhwc_u8.shape[:3], dtype=torch.bool, device=images_nhwc_u8.device)
    for k in range(len(pal)):
        hit = (images_nhwc_u8 == pal[k]).all(-1)
        idx[hit] = k
        matched |= hit
    if not bool(matched.all()):
        raise ValueError("palette_index: an image holds a colour outside the palette (not a world render)")
    return idx


def recolour(images_nhwc_u8: torch.Tensor, index: torch.Tensor, probability: float,
             generator: torch.Generator) -> torch.Tensor:
    """With the given probability per image, replace each palette colour by a random RGB colour
    (one random table per image, so an image's shapes and background stay flat and distinct slots)."""
    n = images_nhwc_u8.shape[0]
    dev = images_nhwc_u8.device
    table = torch.randint(0, 256, (n, len(PALETTE), 3), generator=generator, dtype=torch.uint8).to(dev)
    pick = (torch.rand(n, generator=generator) < probability).to(dev)
    recoloured = table[torch.arange(n, device=dev)[:, None, None], index.long()]
    return torch.where(pick[:, None, None, None], recoloured, images_nhwc_u8)
