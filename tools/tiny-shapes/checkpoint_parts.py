"""Moves a run's checkpoints in pieces under 16 MiB (the text encoder alone is 13 MB in F32) and back:
    split RUNS_DIR PREFIX   runs/unet_ema.pt + vae_final.pt -> PREFIX_te.pt, PREFIX_unet.pt, PREFIX_vae.pt
    join PREFIX RUNS_DIR    the reverse (what export.py reads)
A GPU machine that returns files of at most 16 MiB each is why (train_gpu.sh splits its results)."""
from __future__ import annotations

import os
import sys

import torch


def split(runs: str, prefix: str) -> None:
    ck = torch.load(os.path.join(runs, "unet_ema.pt"), map_location="cpu")
    torch.save(ck.pop("unet"), prefix + "_unet.pt")
    torch.save(ck, prefix + "_te.pt")  # text encoder, scaling factor, step, seconds
    torch.save(torch.load(os.path.join(runs, "vae_final.pt"), map_location="cpu"), prefix + "_vae.pt")


def join(prefix: str, runs: str) -> None:
    ck = torch.load(prefix + "_te.pt", map_location="cpu")
    ck["unet"] = torch.load(prefix + "_unet.pt", map_location="cpu")
    os.makedirs(runs, exist_ok=True)
    torch.save(ck, os.path.join(runs, "unet_ema.pt"))
    torch.save(torch.load(prefix + "_vae.pt", map_location="cpu"), os.path.join(runs, "vae_final.pt"))
    print(f"{runs}: unet_ema.pt (step {ck['step']}, scaling_factor {ck['scaling_factor']:.5f}), vae_final.pt")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("split", "join"):
        raise SystemExit(__doc__)
    (split if sys.argv[1] == "split" else join)(sys.argv[2], sys.argv[3])
